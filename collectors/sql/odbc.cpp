// Any ODBC driver through SOCI's odbc backend (unixODBC).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include <soci/odbc/soci-odbc.h>

#include "collectors/sql/connection.hpp"

namespace kpid::collectors::sql {
namespace {

// SOCI exports no type info for its backend classes, which UBSan's vptr check needs for
// this downcast.
SQLHSTMT NativeHandle(soci::statement& statement) {
  return static_cast<soci::odbc_statement_backend*>(statement.get_backend())->hstmt_;
}

class OdbcConnection final : public Connection {
 public:
  explicit OdbcConnection(const std::string& connect_string) {
    session_.open(soci::odbc, connect_string);
  }

  void LimitTime(std::chrono::milliseconds timeout) override {
    // ODBC's query timeout is in whole seconds; 0 would mean "none".
    seconds_ = std::max<std::int64_t>(1, (timeout.count() + 999) / 1000);
  }

  void BeforeExecute(soci::statement& statement) override {
    // Drivers that do not support it answer SQL_SUCCESS_WITH_INFO or an error (01S02,
    // HYC00); either way the core's own timeout still applies.
    SQLSetStmtAttr(
        NativeHandle(statement), SQL_ATTR_QUERY_TIMEOUT,
        // NOLINTNEXTLINE(performance-no-int-to-ptr): ODBC passes integer attributes as SQLPOINTER
        reinterpret_cast<SQLPOINTER>(static_cast<std::uintptr_t>(seconds_)), 0);
  }

  // SQLCancel may block on the driver's own network round trip, so a running ODBC
  // statement is left to its query timeout.
  void Interrupt() override {}

  Failure Classify(const std::exception& error) override {
    std::string text = ErrorText(error);
    if (const auto* e = dynamic_cast<const soci::odbc_soci_error*>(&error)) {
      const char* state = reinterpret_cast<const char*>(e->odbc_error_code());
      if (std::strcmp(state, "HYT00") == 0 || std::strcmp(state, "57014") == 0) {
        return {ErrorKind::kTimeout, text};
      }
      if (std::strncmp(state, "08", 2) == 0 || std::strcmp(state, "HYT01") == 0) {
        return {ErrorKind::kConnect, text};
      }
      if (std::strncmp(state, "28", 2) == 0) return {ErrorKind::kAuth, text};
    }
    return {ErrorKind::kQuery, text};
  }

 private:
  std::int64_t seconds_ = 0;
};

}  // namespace

Opened OpenOdbc(const std::string& connect_string) {
  try {
    return std::make_unique<OdbcConnection>(connect_string);
  } catch (const soci::odbc_soci_error& e) {
    const char* state = reinterpret_cast<const char*>(e.odbc_error_code());
    bool auth = std::strncmp(state, "28", 2) == 0 ||
                ErrorText(e).find("authentication failed") != std::string::npos;
    return Failure{auth ? ErrorKind::kAuth : ErrorKind::kConnect, ErrorText(e)};
  } catch (const std::exception& e) {
    return Failure{ErrorKind::kConnect, ErrorText(e)};
  }
}

}  // namespace kpid::collectors::sql
