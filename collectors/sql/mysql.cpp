// MariaDB and MySQL through SOCI's mysql backend (MariaDB Connector/C).
#include <cmath>

#include <soci/mysql/soci-mysql.h>
#include <sys/socket.h>

#include "collectors/sql/connection.hpp"

namespace kpid::collectors::sql {
namespace {

// Server error numbers (mysqld_error.h) and client ones (errmsg.h).
constexpr unsigned kAccessDenied = 1045;           // ER_ACCESS_DENIED_ERROR
constexpr unsigned kDbAccessDenied = 1044;         // ER_DBACCESS_DENIED_ERROR
constexpr unsigned kAuthPluginFailed = 1698;       // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
constexpr unsigned kNotSupportedAuth = 1251;       // ER_NOT_SUPPORTED_AUTH_MODE
constexpr unsigned kUnknownVariable = 1193;        // ER_UNKNOWN_SYSTEM_VARIABLE
constexpr unsigned kInterrupted = 1317;            // ER_QUERY_INTERRUPTED
constexpr unsigned kStatementTimeout = 1969;       // MariaDB ER_STATEMENT_TIMEOUT
constexpr unsigned kMysqlExecutionTimeout = 3024;  // MySQL ER_QUERY_TIMEOUT
constexpr unsigned kLockWaitTimeout = 1205;        // ER_LOCK_WAIT_TIMEOUT

// SOCI exports no type info for its backend classes, which UBSan's vptr check needs for
// this downcast.
MYSQL* NativeHandle(soci::session& session) {
  return static_cast<soci::mysql_session_backend*>(session.get_backend())->conn_;
}

bool IsAuth(unsigned code) {
  return code == kAccessDenied || code == kDbAccessDenied || code == kAuthPluginFailed ||
         code == kNotSupportedAuth;
}

bool IsConnection(unsigned code) {
  return code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR ||
         code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST || code == CR_UNKNOWN_HOST ||
         code == CR_SERVER_LOST_EXTENDED || code == 1927;  // ER_CONNECTION_KILLED
}

class MysqlConnection final : public Connection {
 public:
  explicit MysqlConnection(const std::string& connect_string) {
    session_.open(soci::mysql, connect_string);
    conn_ = NativeHandle(session_);
    // TIMESTAMP columns arrive in UTC (history reads date/time columns as UTC); a KPI
    // query only reads, so the session refuses writes.
    session_ << "SET time_zone = '+00:00'";
    session_ << "SET SESSION TRANSACTION READ ONLY";
  }

  void LimitTime(std::chrono::milliseconds timeout) override {
    if (timeout == timeout_) return;
    if (!mysql_variant_) {
      // MariaDB: max_statement_time in seconds (any statement).
      try {
        session_ << "SET SESSION max_statement_time = " +
                        std::to_string(static_cast<double>(timeout.count()) / 1000.0);
      } catch (const soci::mysql_soci_error& e) {
        if (e.err_num_ != kUnknownVariable) throw;
        mysql_variant_ = true;
      }
    }
    if (mysql_variant_) {
      // MySQL 5.7+: max_execution_time in milliseconds (SELECT only).
      session_ << "SET SESSION max_execution_time = " + std::to_string(timeout.count());
    }
    timeout_ = timeout;
  }

  void Interrupt() override {
    // KILL QUERY needs a second connection and may block; shutting the socket makes the
    // waiting worker return at once. The server stops at max_statement_time.
    my_socket fd = mysql_get_socket(conn_);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
  }

  Failure Classify(const std::exception& error) override {
    std::string text = ErrorText(error);
    if (const auto* my = dynamic_cast<const soci::mysql_soci_error*>(&error)) {
      unsigned code = my->err_num_;
      if (code == kStatementTimeout || code == kMysqlExecutionTimeout || code == kInterrupted ||
          code == kLockWaitTimeout) {
        return {ErrorKind::kTimeout, text};
      }
      if (IsConnection(code)) return {ErrorKind::kConnect, text};
      if (IsAuth(code)) return {ErrorKind::kAuth, text};
    } else if (text.find("Unknown data type") != std::string::npos) {
      // SOCI cannot describe the column (MYSQL_TYPE_NULL of a bare NULL literal).
      return {ErrorKind::kParse, text};
    }
    return {ErrorKind::kQuery, text};
  }

 private:
  MYSQL* conn_ = nullptr;
  bool mysql_variant_ = false;
  std::chrono::milliseconds timeout_{-1};
};

}  // namespace

Opened OpenMysql(const std::string& connect_string) {
  try {
    return std::make_unique<MysqlConnection>(connect_string);
  } catch (const soci::mysql_soci_error& e) {
    return Failure{IsAuth(e.err_num_) ? ErrorKind::kAuth : ErrorKind::kConnect, ErrorText(e)};
  } catch (const std::exception& e) {
    return Failure{ErrorKind::kConnect, ErrorText(e)};
  }
}

}  // namespace kpid::collectors::sql
