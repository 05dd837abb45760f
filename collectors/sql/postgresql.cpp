// PostgreSQL through SOCI's postgresql backend (libpq).
#include <array>
#include <string_view>

#include <soci/postgresql/soci-postgresql.h>
#include <sys/socket.h>

#include "collectors/sql/connection.hpp"

namespace kpid::collectors::sql {
namespace {

// SOCI exports no type info for its backend classes, which UBSan's vptr check needs for
// this downcast.
PGconn* NativeHandle(soci::session& session) {
  return static_cast<soci::postgresql_session_backend*>(session.get_backend())->conn_;
}

// libpq reports connection failures as text only; these are the server's and libpq's
// English messages for rejected credentials.
constexpr std::array<std::string_view, 5> kAuthMessages = {
    "authentication failed",  // password, peer, ident, SCRAM
    "no password supplied",  "no pg_hba.conf entry", "pg_hba.conf rejects", "SCRAM",
};

class PostgresqlConnection final : public Connection {
 public:
  explicit PostgresqlConnection(const std::string& connect_string) {
    session_.open(soci::postgresql, connect_string);
    conn_ = NativeHandle(session_);
    // Timestamps with a time zone arrive in UTC (history reads date/time columns as UTC);
    // a KPI query only reads, so the session refuses writes.
    session_ << "SET TimeZone = 'UTC'";
    session_ << "SET default_transaction_read_only = on";
    // From PostgreSQL 14 the server notices a vanished client (Stop() shuts the socket)
    // while a statement runs instead of only at its end.
    if (PQserverVersion(conn_) >= 140000) session_ << "SET client_connection_check_interval = 1000";
  }

  void LimitTime(std::chrono::milliseconds timeout) override {
    if (timeout == timeout_) return;
    session_ << "SET statement_timeout = " + std::to_string(timeout.count());
    timeout_ = timeout;
  }

  void Interrupt() override {
    // PQcancel would open a connection to the server and may block; shutting the socket
    // makes the waiting worker return at once.
    int fd = PQsocket(conn_);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
  }

  Failure Classify(const std::exception& error) override {
    std::string text = ErrorText(error);
    if (const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&error)) {
      std::string state = pg->sqlstate();
      if (state == "57014") return {ErrorKind::kTimeout, text};  // query_canceled
      if (state.starts_with("08") || state.starts_with("57P")) return {ErrorKind::kConnect, text};
      if (state.starts_with("28")) return {ErrorKind::kAuth, text};
    }
    if (PQstatus(conn_) != CONNECTION_OK) return {ErrorKind::kConnect, text};
    return {ErrorKind::kQuery, text};
  }

 private:
  PGconn* conn_ = nullptr;
  std::chrono::milliseconds timeout_{-1};
};

}  // namespace

Opened OpenPostgresql(const std::string& connect_string) {
  try {
    return std::make_unique<PostgresqlConnection>(connect_string);
  } catch (const std::exception& e) {
    std::string text = ErrorText(e);
    for (std::string_view needle : kAuthMessages) {
      if (text.find(needle) != std::string::npos) return Failure{ErrorKind::kAuth, text};
    }
    if (text.find("role \"") != std::string::npos &&
        text.find("does not exist") != std::string::npos) {
      return Failure{ErrorKind::kAuth, text};
    }
    return Failure{ErrorKind::kConnect, text};
  }
}

}  // namespace kpid::collectors::sql
