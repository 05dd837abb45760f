// SQLite through SOCI's sqlite3 backend. SOCI's header wraps <sqlite3.h> in the namespace
// sqlite_api, so this file must not include <sqlite3.h> itself (PLATFORM.md).
#include <algorithm>
#include <atomic>
#include <limits>

#include <soci/sqlite3/soci-sqlite3.h>

#include "collectors/sql/connection.hpp"

namespace kpid::collectors::sql {
namespace {

// The progress handler runs every this many virtual machine instructions.
constexpr int kProgressSteps = 1000;

// SOCI exports no type info for its backend classes, which UBSan's vptr check needs for
// these downcasts.
sqlite_api::sqlite3* NativeHandle(soci::session& session) {
  return static_cast<soci::sqlite3_session_backend*>(session.get_backend())->conn_;
}
sqlite_api::sqlite3_stmt* NativeHandle(soci::statement& statement) {
  return static_cast<soci::sqlite3_statement_backend*>(statement.get_backend())->stmt_;
}

class Sqlite3Connection final : public Connection {
 public:
  explicit Sqlite3Connection(const std::string& connect_string) {
    session_.open(soci::sqlite3, connect_string);
    db_ = NativeHandle(session_);
    // Opened read-only already; query_only also refuses writes through ATTACHed files.
    session_ << "PRAGMA query_only = 1";
    sqlite_api::sqlite3_progress_handler(db_, kProgressSteps, &Sqlite3Connection::Progress, this);
  }

  ~Sqlite3Connection() override { sqlite_api::sqlite3_progress_handler(db_, 0, nullptr, nullptr); }

  void LimitTime(std::chrono::milliseconds timeout) override {
    deadline_ = std::chrono::steady_clock::now() + timeout;
    // Waiting for a writer's lock counts against the same time.
    auto busy =
        std::min<std::chrono::milliseconds::rep>(timeout.count(), std::numeric_limits<int>::max());
    sqlite_api::sqlite3_busy_timeout(db_, static_cast<int>(busy));
  }

  Cell Read(soci::statement& statement, const soci::row& row, std::size_t column) override {
    // SOCI leaves the statement on the row it fetched last.
    sqlite_api::sqlite3_stmt* stmt = NativeHandle(statement);
    int c = static_cast<int>(column);
    if (stmt == nullptr || c >= sqlite_api::sqlite3_data_count(stmt)) return CellAt(row, column);
    switch (sqlite_api::sqlite3_column_type(stmt, c)) {
      case SQLITE_NULL:
        return NullCell{};
      case SQLITE_INTEGER:
        return static_cast<long long>(sqlite_api::sqlite3_column_int64(stmt, c));
      case SQLITE_FLOAT:
        return sqlite_api::sqlite3_column_double(stmt, c);
      case SQLITE_TEXT: {
        const auto* text = sqlite_api::sqlite3_column_text(stmt, c);
        int size = sqlite_api::sqlite3_column_bytes(stmt, c);
        return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
      }
      default:
        return OtherCell{"blob"};
    }
  }

  void Interrupt() override {
    interrupted_ = true;
    sqlite_api::sqlite3_interrupt(db_);
  }

  Failure Classify(const std::exception& error) override {
    std::string text = ErrorText(error);
    int code = -1;
    if (const auto* e = dynamic_cast<const soci::sqlite3_soci_error*>(&error)) {
      code = e->result() & 0xFF;
    }
    switch (code) {
      case SQLITE_INTERRUPT:  // the progress handler's deadline
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        return {ErrorKind::kTimeout, text};
      case SQLITE_CANTOPEN:
      case SQLITE_NOTADB:
      case SQLITE_CORRUPT:
      case SQLITE_IOERR:
        return {ErrorKind::kConnect, text};
      case SQLITE_AUTH:
        return {ErrorKind::kAuth, text};
      default:
        break;
    }
    if (text.find("interrupted") != std::string::npos) return {ErrorKind::kTimeout, text};
    return {ErrorKind::kQuery, text};
  }

 private:
  // Nonzero aborts the running statement with SQLITE_INTERRUPT.
  static int Progress(void* self) {
    auto* c = static_cast<Sqlite3Connection*>(self);
    return c->interrupted_ || std::chrono::steady_clock::now() > c->deadline_ ? 1 : 0;
  }

  sqlite_api::sqlite3* db_ = nullptr;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::atomic<bool> interrupted_{false};
};

}  // namespace

Opened OpenSqlite3(const std::string& connect_string) {
  try {
    return std::make_unique<Sqlite3Connection>(connect_string);
  } catch (const std::exception& e) {
    return Failure{ErrorKind::kConnect, ErrorText(e)};
  }
}

}  // namespace kpid::collectors::sql
