// One open database connection of the sql collector, with the driver-specific parts SOCI
// leaves to us: server-side query timeouts, interrupting a running statement from another
// thread and mapping driver errors onto ErrorKind. Each driver lives in its own
// translation unit (sqlite3.cpp must stay apart from code that includes <sqlite3.h>).
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <variant>

#include <soci/soci.h>

#include "collectors/collector.hpp"
#include "collectors/sql/cell.hpp"
#include "collectors/sql/values.hpp"

namespace kpid::collectors::sql {

// Used by one worker thread at a time, except Interrupt().
class Connection {
 public:
  virtual ~Connection() = default;

  soci::session& session() { return session_; }

  // Applies `timeout` to the statements that follow (statement_timeout,
  // max_statement_time, the SQLite progress handler). May run statements; throws what
  // SOCI throws.
  virtual void LimitTime(std::chrono::milliseconds timeout) = 0;
  // Between prepare and execute: statement-level settings (ODBC's query timeout).
  virtual void BeforeExecute(soci::statement& /*statement*/) {}
  // Called from another thread while a statement may be running: makes it fail soon.
  // Never blocks. The connection is unusable afterwards.
  virtual void Interrupt() = 0;
  // Column `column` of the row `statement` has just fetched into `row`. SOCI's view by
  // default; SQLite reads its own dynamically typed value instead (SOCI would cut an
  // INTEGER column to 32 bits).
  virtual Cell Read(soci::statement& /*statement*/, const soci::row& row, std::size_t column) {
    return CellAt(row, column);
  }
  // Maps an exception thrown while running a statement.
  virtual Failure Classify(const std::exception& error) = 0;

 protected:
  soci::session session_;
};

using Opened = std::variant<std::unique_ptr<Connection>, Failure>;

// Opens a connection; `connect_string` is complete (password and connect timeout
// included). Failures are classified (kConnect, kAuth, ...). Blocking.
Opened OpenPostgresql(const std::string& connect_string);
Opened OpenMysql(const std::string& connect_string);
Opened OpenSqlite3(const std::string& connect_string);
Opened OpenOdbc(const std::string& connect_string);

// The text of a driver exception without SOCI's context lines (which quote the query).
std::string ErrorText(const std::exception& error);

// Whether SOCI threw while converting a fetched value (a malformed date, say) rather than
// the database failing: the statement itself is still usable.
bool IsConversionError(const std::exception& error);

}  // namespace kpid::collectors::sql
