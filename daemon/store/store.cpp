#include "daemon/store/store.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <system_error>
#include <unordered_set>
#include <utility>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

namespace kpid::store {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr int kBusyTimeoutMs = 5000;

struct Migration {
  int version;
  const char* sql;
};

// Forward migrations, applied in order in one transaction. A released one is never edited:
// a schema change is a new version at the end (and kSchemaVersion follows it).
constexpr std::array<Migration, 7> kMigrations = {{
    {1,
     "CREATE TABLE samples("
     "  kpi TEXT NOT NULL,"
     "  ts_ms INTEGER NOT NULL,"
     "  value REAL NOT NULL,"
     "  PRIMARY KEY (kpi, ts_ms)"
     ") WITHOUT ROWID;"},
    // Nothing looks alerts up by kpi (LoadAlerts reads them all, RetainAlerts goes by id),
    // so there is no index on it.
    {2,
     "CREATE TABLE alerts("
     "  id TEXT PRIMARY KEY,"
     "  kpi TEXT NOT NULL,"
     "  phase TEXT NOT NULL,"
     "  active_since_ms INTEGER,"
     "  fired_at_ms INTEGER,"
     "  resolved_at_ms INTEGER,"
     "  status TEXT,"
     "  severity TEXT NOT NULL"
     ") WITHOUT ROWID;"},
    // The notification outbox (AUTOINCREMENT: an id is never reused, so a late answer for
    // a deleted row cannot touch a new one) and what each receiver was told per alert.
    {3,
     "CREATE TABLE outbox("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  receiver TEXT NOT NULL,"
     "  payload TEXT NOT NULL,"
     "  created_ms INTEGER NOT NULL,"
     "  expires_ms INTEGER NOT NULL,"
     "  next_attempt_ms INTEGER NOT NULL,"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  last_error TEXT NOT NULL DEFAULT ''"
     ");"
     "CREATE TABLE notices("
     "  receiver TEXT NOT NULL,"
     "  alert TEXT NOT NULL,"
     "  firing INTEGER NOT NULL,"
     "  status TEXT NOT NULL,"
     "  severity TEXT NOT NULL,"
     "  at_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (receiver, alert)"
     ") WITHOUT ROWID;"},
    // Silences created through the API (as JSON, so a field can be added without a
    // migration) and when each digest last ran.
    {4,
     "CREATE TABLE silences("
     "  id TEXT PRIMARY KEY,"
     "  body TEXT NOT NULL,"
     "  ends_ms INTEGER NOT NULL"
     ") WITHOUT ROWID;"
     "CREATE TABLE digest_runs("
     "  name TEXT PRIMARY KEY,"
     "  at_ms INTEGER NOT NULL"
     ") WITHOUT ROWID;"},
    // The periods of recurring goals: result NULL while open, else achieved or missed.
    {5,
     "CREATE TABLE goal_periods("
     "  kpi TEXT NOT NULL,"
     "  start_ms INTEGER NOT NULL,"
     "  end_ms INTEGER NOT NULL,"
     "  baseline REAL,"
     "  target REAL NOT NULL,"
     "  result TEXT,"
     "  final_value REAL,"
     "  progress REAL,"
     "  PRIMARY KEY (kpi, start_ms)"
     ") WITHOUT ROWID;"},
    // Goal events told (or, at a goal's first judgement, found already past): each once per
    // goal and period ("" for a goal without periods).
    {6,
     "CREATE TABLE goal_events("
     "  kpi TEXT NOT NULL,"
     "  period TEXT NOT NULL,"
     "  event TEXT NOT NULL,"
     "  at_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (kpi, period, event)"
     ") WITHOUT ROWID;"},
    // Restatements: a history read again changed stored values. The values it changed and
    // the statuses the replay found different go with it.
    {7,
     "CREATE TABLE restatements("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  kpi TEXT NOT NULL,"
     "  detected_ms INTEGER NOT NULL,"
     "  vals INTEGER NOT NULL,"
     "  first_ms INTEGER NOT NULL,"
     "  last_ms INTEGER NOT NULL"
     ");"
     "CREATE INDEX restatements_by_kpi ON restatements(kpi, detected_ms);"
     "CREATE INDEX restatements_by_time ON restatements(detected_ms);"
     "CREATE TABLE restated_values("
     "  restatement INTEGER NOT NULL REFERENCES restatements(id) ON DELETE CASCADE,"
     "  ts_ms INTEGER NOT NULL,"
     "  before REAL NOT NULL,"
     "  after REAL NOT NULL,"
     "  PRIMARY KEY (restatement, ts_ms)"
     ") WITHOUT ROWID;"
     "CREATE TABLE restated_statuses("
     "  restatement INTEGER NOT NULL REFERENCES restatements(id) ON DELETE CASCADE,"
     "  seq INTEGER NOT NULL,"
     "  kpi TEXT NOT NULL,"
     "  from_ms INTEGER NOT NULL,"
     "  until_ms INTEGER NOT NULL,"
     "  before TEXT NOT NULL,"
     "  after TEXT NOT NULL,"
     "  PRIMARY KEY (restatement, seq)"
     ") WITHOUT ROWID;"
     "CREATE TABLE restated_periods("
     "  restatement INTEGER NOT NULL REFERENCES restatements(id) ON DELETE CASCADE,"
     "  start_ms INTEGER NOT NULL,"
     "  end_ms INTEGER NOT NULL,"
     "  before_result TEXT NOT NULL,"
     "  after_result TEXT NOT NULL,"
     "  before_final REAL,"
     "  after_final REAL,"
     "  before_baseline REAL,"
     "  after_baseline REAL,"
     "  PRIMARY KEY (restatement, start_ms)"
     ") WITHOUT ROWID;"},
}};
static_assert(kMigrations.back().version == Store::kSchemaVersion);

struct Finalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, Finalize>;

struct Close {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, Close>;

// Returns a cached statement to its initial state when a call is done with it, also on an
// error path: a statement left mid-step would hold a read transaction open, and its
// bindings point into the caller's strings (they are bound without a copy).
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Steps a statement that returns no rows, then resets it; SQLITE_OK when it ran.
int Run(sqlite3_stmt* stmt) {
  const int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

struct TransactionStatements {
  StmtPtr begin;
  StmtPtr commit;
  StmtPtr rollback;
};

// BEGIN IMMEDIATE takes the write lock up front, so a busy database fails at Begin() after
// the busy timeout instead of at a later statement. Rolls back on destruction unless
// committed.
class Transaction {
 public:
  Transaction(sqlite3* db, const TransactionStatements& statements)
      : db_(db), statements_(statements) {}
  ~Transaction() {
    // Some failures (SQLITE_FULL, IOERR, BUSY, NOMEM) have rolled back already.
    if (open_ && sqlite3_get_autocommit(db_) == 0) Run(statements_.rollback.get());
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  [[nodiscard]] bool Begin() {
    open_ = Run(statements_.begin.get()) == SQLITE_OK;
    return open_;
  }
  [[nodiscard]] bool Commit() {
    if (Run(statements_.commit.get()) != SQLITE_OK) return false;
    open_ = false;
    return true;
  }

 private:
  sqlite3* db_;
  const TransactionStatements& statements_;
  bool open_ = false;
};

int Prepare(sqlite3* db, std::string_view sql, StmtPtr& out) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  out.reset(raw);
  return rc;
}

// Binds without a copy: the text must outlive the step (ResetOnExit clears it after).
int BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  // A null pointer would bind NULL rather than the empty string.
  const char* data = text.data() != nullptr ? text.data() : "";
  return sqlite3_bind_text64(stmt, index, data, static_cast<sqlite3_uint64>(text.size()), nullptr,
                             SQLITE_UTF8);
}

std::string_view ColumnText(sqlite3_stmt* stmt, int column) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt, column))};
}

// The first column of the first row of a one-off query.
int QueryInt(sqlite3* db, std::string_view sql, std::int64_t& out) {
  StmtPtr stmt;
  if (const int rc = Prepare(db, sql, stmt); rc != SQLITE_OK) return rc;
  const int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? SQLITE_MISUSE : rc;
  out = sqlite3_column_int64(stmt.get(), 0);
  return SQLITE_OK;
}

int QueryText(sqlite3* db, std::string_view sql, std::string& out) {
  StmtPtr stmt;
  if (const int rc = Prepare(db, sql, stmt); rc != SQLITE_OK) return rc;
  const int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? SQLITE_MISUSE : rc;
  out = std::string(ColumnText(stmt.get(), 0));
  return SQLITE_OK;
}

// Timestamps are whole milliseconds since the epoch. A stored sample's time is the floor of
// what was appended; bounds (since, before) round up, so that "at >= since" and
// "at < before" hold for the restored time points exactly as the queries select them.
std::int64_t FloorMs(TimePoint t) {
  return std::chrono::floor<milliseconds>(t.time_since_epoch()).count();
}
std::int64_t CeilMs(TimePoint t) {
  return std::chrono::ceil<milliseconds>(t.time_since_epoch()).count();
}

// The exclusive upper bound of a range in stored milliseconds; max() means none.
std::int64_t UntilMs(TimePoint t) {
  if (t == TimePoint::max()) return std::numeric_limits<std::int64_t>::max();
  return CeilMs(t);
}

// What a time_point of the system clock can hold; a row outside is damaged.
constexpr std::int64_t kMinMs =
    std::chrono::duration_cast<milliseconds>(TimePoint::duration::min()).count();
constexpr std::int64_t kMaxMs =
    std::chrono::duration_cast<milliseconds>(TimePoint::duration::max()).count();

std::optional<TimePoint> FromMs(std::int64_t ms) {
  if (ms < kMinMs || ms > kMaxMs) return std::nullopt;
  return TimePoint(milliseconds(ms));
}

std::string Prefix(const std::string& path) { return "store " + path + ": "; }

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Public methods return errors instead of throwing; what can throw here is the standard
// library running out of memory.
template <typename F>
auto CatchAll(const std::string& path, std::string_view operation, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Error{Prefix(path) + std::string(operation) + ": " + e.what()};
  } catch (...) {
    return Error{Prefix(path) + std::string(operation) + ": unknown exception"};
  }
}

bool Accessible(const fs::path& path, int how) {
  return faccessat(AT_FDCWD, path.c_str(), how, AT_EACCESS) == 0;
}

// Why opening a database file will fail, where SQLite's own "unable to open database file"
// would not say. A read-write open also needs the directory to be writable: SQLite creates
// the -wal and -shm files next to the database.
std::optional<std::string> Diagnose(const std::string& path, Mode mode) {
  const fs::path file(path);
  fs::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  const fs::file_status file_status = fs::status(file, ec);
  if (file_status.type() == fs::file_type::none) return "cannot access it: " + ec.message();
  if (fs::exists(file_status)) {
    if (fs::is_directory(file_status)) return "it is a directory";
    if (mode == Mode::kReadOnly) {
      if (!Accessible(file, R_OK)) return "the file is not readable";
      return std::nullopt;
    }
    if (!Accessible(file, R_OK | W_OK)) return "the file is not writable";
    if (!Accessible(dir, W_OK | X_OK)) {
      return "directory " + dir.string() +
             " is not writable (SQLite keeps the -wal and -shm files next to the database)";
    }
    return std::nullopt;
  }
  const fs::file_status dir_status = fs::status(dir, ec);
  if (dir_status.type() == fs::file_type::none) {
    return "cannot access directory " + dir.string() + ": " + ec.message();
  }
  if (!fs::exists(dir_status)) return "directory " + dir.string() + " does not exist";
  if (!fs::is_directory(dir_status)) return dir.string() + " is not a directory";
  if (mode == Mode::kReadOnly) return "the file does not exist (the daemon creates it)";
  if (!Accessible(dir, W_OK | X_OK)) return "directory " + dir.string() + " is not writable";
  return std::nullopt;
}

}  // namespace

struct Store::Statements {
  TransactionStatements transaction;
  StmtPtr insert_sample;
  StmtPtr select_samples;
  StmtPtr latest_sample;
  StmtPtr sample_at;
  StmtPtr first_kpi;
  StmtPtr next_kpi;
  StmtPtr prune_kpi;
  // Null when a read-only open found schema version 1, which has no alerts table.
  StmtPtr upsert_alert;
  StmtPtr select_alerts;
  StmtPtr select_alert_ids;
  StmtPtr delete_alert;
  // Null below schema version 3 (read-only opens of older databases).
  StmtPtr delete_alert_notices;
  StmtPtr insert_outbox;
  StmtPtr update_outbox;
  StmtPtr delete_outbox;
  StmtPtr select_outbox;
  StmtPtr upsert_notice;
  StmtPtr select_notices;
  // Null below schema version 4.
  StmtPtr upsert_silence;
  StmtPtr select_silences;
  StmtPtr prune_silences;
  StmtPtr upsert_digest_run;
  StmtPtr select_digest_runs;
  // Null below schema version 5.
  StmtPtr delete_other_open_periods;
  StmtPtr upsert_period;
  StmtPtr select_open_period;
  StmtPtr select_closed_periods;
  StmtPtr count_periods;
  StmtPtr first_sample;
  // Null below schema version 6.
  StmtPtr insert_event;
  StmtPtr select_events;
  // Null below schema version 7.
  StmtPtr insert_restatement;
  StmtPtr insert_restated_value;
  StmtPtr insert_restated_status;
  StmtPtr select_restatements;
  StmtPtr select_restated_values;
  StmtPtr select_restated_statuses;
  StmtPtr insert_restated_period;
  StmtPtr select_restated_periods;
  StmtPtr rejudge_period;
  StmtPtr prune_restatements;
};

Store::Store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

Store::~Store() {
  if (db_ == nullptr) return;
  if (optimize_on_close_) {
    // Bounded, and usually a no-op: refreshes the planner's statistics where they are stale.
    sqlite3_exec(db_, "PRAGMA analysis_limit=400; PRAGMA optimize;", nullptr, nullptr, nullptr);
  }
  statements_.reset();
  // The last connection to close checkpoints the WAL into the database and removes it.
  sqlite3_close_v2(db_);
}

Error Store::Fail(std::string_view operation) const {
  return Error{Prefix(path_) + std::string(operation) + ": " + sqlite3_errmsg(db_)};
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, Mode mode) {
  return CatchAll(path, "cannot open", [&]() -> Result<std::unique_ptr<Store>> {
    if (path.empty()) return Error{"store: cannot open: no database path given"};
    const bool in_memory = path == ":memory:";
    if (!in_memory) {
      if (auto why = Diagnose(path, mode)) return Error{Prefix(path) + "cannot open: " + *why};
    }
    // An in-memory database has nothing to protect and starts empty: it is created with
    // the schema in either mode, then made query-only in kReadOnly.
    const int flags =
        (mode == Mode::kReadOnly && !in_memory ? SQLITE_OPEN_READONLY
                                               : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
        SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    DbPtr db(raw);
    if (rc != SQLITE_OK) {
      return Error{Prefix(path) +
                   "cannot open: " + (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc))};
    }
    auto store = std::unique_ptr<Store>(new Store(db.release(), path));
    if (auto error = store->Initialize(mode, in_memory)) return *std::move(error);
    return store;
  });
}

std::optional<Error> Store::Initialize(Mode mode, bool in_memory) {
  const bool writable = mode == Mode::kReadWrite || in_memory;
  constexpr std::string_view kOpen = "cannot open";
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  if (sqlite3_exec(db_, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    return Fail(kOpen);
  }
  if (writable) {
    // The first statement that reads the file: a file that is not a database fails here.
    std::string journal_mode;
    if (QueryText(db_, "PRAGMA journal_mode=WAL", journal_mode) != SQLITE_OK) return Fail(kOpen);
    const std::string_view expected = in_memory ? "memory" : "wal";
    if (journal_mode != expected) {
      return Error{Prefix(path_) + "cannot open: journal_mode is " + journal_mode + ", not " +
                   std::string(expected)};
    }
  }

  auto statements = std::make_unique<Statements>();
  TransactionStatements& tx = statements->transaction;
  if (Prepare(db_, "BEGIN IMMEDIATE", tx.begin) != SQLITE_OK ||
      Prepare(db_, "COMMIT", tx.commit) != SQLITE_OK ||
      Prepare(db_, "ROLLBACK", tx.rollback) != SQLITE_OK) {
    return Fail(kOpen);
  }

  std::int64_t version = 0;
  if (writable) {
    // Under the write lock, so that two processes opening an old database do not both
    // migrate it.
    Transaction transaction(db_, tx);
    if (!transaction.Begin()) return Fail(kOpen);
    if (QueryInt(db_, "PRAGMA user_version", version) != SQLITE_OK) return Fail(kOpen);
    if (version > kSchemaVersion) {
      return Error{Prefix(path_) + "schema version " + std::to_string(version) +
                   " is newer than this kpid supports (" + std::to_string(kSchemaVersion) + ")"};
    }
    if (version < 0) {
      return Error{Prefix(path_) + "invalid schema version " + std::to_string(version)};
    }
    if (version == 0) {
      // A database made by something else: do not write our tables into it.
      std::int64_t objects = 0;
      if (QueryInt(db_, "SELECT count(*) FROM sqlite_master", objects) != SQLITE_OK) {
        return Fail(kOpen);
      }
      if (objects > 0) {
        return Error{Prefix(path_) +
                     "not a kpid database: it has tables but no kpid schema version"};
      }
    }
    if (version < kSchemaVersion) {
      const std::string operation = "cannot migrate the schema from version " +
                                    std::to_string(version) + " to " +
                                    std::to_string(kSchemaVersion);
      for (const Migration& migration : kMigrations) {
        if (migration.version <= version) continue;
        if (sqlite3_exec(db_, migration.sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
          return Fail(operation);
        }
      }
      const std::string set_version = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
      if (sqlite3_exec(db_, set_version.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
        return Fail(operation);
      }
      version = kSchemaVersion;
    }
    if (!transaction.Commit()) return Fail(kOpen);
  } else {
    // Read-only: never migrates. An older schema is read as it is (version 1 has no alerts:
    // LoadAlerts() finds none), so `kpid eval` works before the daemon has migrated it.
    if (QueryInt(db_, "PRAGMA user_version", version) != SQLITE_OK) return Fail(kOpen);
    if (version > kSchemaVersion) {
      return Error{Prefix(path_) + "schema version " + std::to_string(version) +
                   " is newer than this kpid supports (" + std::to_string(kSchemaVersion) + ")"};
    }
    if (version <= 0) {
      return Error{Prefix(path_) +
                   "cannot open: not a kpid database (no schema version); the daemon creates "
                   "it on its first start"};
    }
  }
  if (in_memory && mode == Mode::kReadOnly &&
      sqlite3_exec(db_, "PRAGMA query_only=ON", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail(kOpen);
  }

  using Slot = std::pair<StmtPtr*, std::string_view>;
  for (const Slot& slot : std::initializer_list<Slot>{
           {&statements->insert_sample,
            "INSERT OR REPLACE INTO samples(kpi, ts_ms, value) VALUES (?1, ?2, ?3)"},
           {&statements->select_samples,
            "SELECT ts_ms, value FROM samples WHERE kpi = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 "
            "ORDER BY ts_ms DESC LIMIT ?4"},
           {&statements->sample_at, "SELECT value FROM samples WHERE kpi = ?1 AND ts_ms = ?2"},
           {&statements->latest_sample,
            "SELECT ts_ms, value FROM samples WHERE kpi = ?1 ORDER BY ts_ms DESC LIMIT 1"},
           {&statements->first_sample,
            "SELECT ts_ms, value FROM samples WHERE kpi = ?1 AND ts_ms >= ?2 "
            "ORDER BY ts_ms LIMIT 1"},
           // Walks the distinct KPIs by seeking the primary key, one lookup each.
           {&statements->first_kpi, "SELECT kpi FROM samples ORDER BY kpi LIMIT 1"},
           {&statements->next_kpi, "SELECT kpi FROM samples WHERE kpi > ?1 ORDER BY kpi LIMIT 1"},
           {&statements->prune_kpi, "DELETE FROM samples WHERE kpi = ?1 AND ts_ms < ?2"},
       }) {
    if (Prepare(db_, slot.second, *slot.first) != SQLITE_OK) return Fail(kOpen);
  }
  if (version >= 2) {
    for (const Slot& slot : std::initializer_list<Slot>{
             {&statements->upsert_alert,
              "INSERT INTO alerts(id, kpi, phase, active_since_ms, fired_at_ms, resolved_at_ms, "
              "status, severity) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
              "ON CONFLICT(id) DO UPDATE SET kpi = excluded.kpi, phase = excluded.phase, "
              "active_since_ms = excluded.active_since_ms, fired_at_ms = excluded.fired_at_ms, "
              "resolved_at_ms = excluded.resolved_at_ms, status = excluded.status, "
              "severity = excluded.severity"},
             {&statements->select_alerts,
              "SELECT id, kpi, phase, active_since_ms, fired_at_ms, resolved_at_ms, status, "
              "severity FROM alerts ORDER BY id"},
             {&statements->select_alert_ids, "SELECT id FROM alerts"},
             {&statements->delete_alert, "DELETE FROM alerts WHERE id = ?1"},
         }) {
      if (Prepare(db_, slot.second, *slot.first) != SQLITE_OK) return Fail(kOpen);
    }
  }
  if (version >= 3) {
    for (const Slot& slot : std::initializer_list<Slot>{
             {&statements->delete_alert_notices, "DELETE FROM notices WHERE alert = ?1"},
             {&statements->insert_outbox,
              "INSERT INTO outbox(receiver, payload, created_ms, expires_ms, next_attempt_ms, "
              "attempts, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
             {&statements->update_outbox,
              "UPDATE outbox SET attempts = ?2, next_attempt_ms = ?3, last_error = ?4 "
              "WHERE id = ?1"},
             {&statements->delete_outbox, "DELETE FROM outbox WHERE id = ?1"},
             {&statements->select_outbox,
              "SELECT id, receiver, payload, created_ms, expires_ms, next_attempt_ms, attempts, "
              "last_error FROM outbox ORDER BY id"},
             {&statements->upsert_notice,
              "INSERT INTO notices(receiver, alert, firing, status, severity, at_ms) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(receiver, alert) DO UPDATE SET "
              "firing = excluded.firing, status = excluded.status, "
              "severity = excluded.severity, at_ms = excluded.at_ms"},
             {&statements->select_notices,
              "SELECT receiver, alert, firing, status, severity, at_ms FROM notices"},
         }) {
      if (Prepare(db_, slot.second, *slot.first) != SQLITE_OK) return Fail(kOpen);
    }
  }
  if (version >= 4) {
    for (const Slot& slot : std::initializer_list<Slot>{
             {&statements->upsert_silence,
              "INSERT INTO silences(id, body, ends_ms) VALUES (?1, ?2, ?3) "
              "ON CONFLICT(id) DO UPDATE SET body = excluded.body, ends_ms = excluded.ends_ms"},
             {&statements->select_silences, "SELECT id, body, ends_ms FROM silences ORDER BY id"},
             {&statements->prune_silences, "DELETE FROM silences WHERE ends_ms < ?1"},
             {&statements->upsert_digest_run,
              "INSERT INTO digest_runs(name, at_ms) VALUES (?1, ?2) "
              "ON CONFLICT(name) DO UPDATE SET at_ms = excluded.at_ms"},
             {&statements->select_digest_runs, "SELECT name, at_ms FROM digest_runs"},
         }) {
      if (Prepare(db_, slot.second, *slot.first) != SQLITE_OK) return Fail(kOpen);
    }
  }
  if (version >= 5) {
    constexpr std::string_view kColumns =
        "kpi, start_ms, end_ms, baseline, target, result, final_value, progress";
    const std::string select = "SELECT " + std::string(kColumns) + " FROM goal_periods ";
    for (const auto& [stmt, sql] : std::initializer_list<std::pair<StmtPtr*, std::string>>{
             {&statements->delete_other_open_periods,
              "DELETE FROM goal_periods WHERE kpi = ?1 AND result IS NULL AND start_ms <> ?2"},
             // A closed row stays as it is; an open one takes the new values.
             {&statements->upsert_period,
              "INSERT INTO goal_periods(" + std::string(kColumns) +
                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                  "ON CONFLICT(kpi, start_ms) DO UPDATE SET end_ms = excluded.end_ms, "
                  "baseline = excluded.baseline, target = excluded.target, "
                  "result = excluded.result, final_value = excluded.final_value, "
                  "progress = excluded.progress WHERE goal_periods.result IS NULL"},
             {&statements->select_open_period,
              select + "WHERE kpi = ?1 AND result IS NULL ORDER BY start_ms DESC LIMIT 1"},
             {&statements->select_closed_periods,
              select + "WHERE kpi = ?1 AND result IS NOT NULL ORDER BY start_ms DESC LIMIT ?2"},
             {&statements->count_periods,
              "SELECT result, count(*) FROM goal_periods WHERE kpi = ?1 AND result IS NOT NULL "
              "GROUP BY result"},
         }) {
      if (Prepare(db_, sql, *stmt) != SQLITE_OK) return Fail(kOpen);
    }
  }
  if (version >= 6) {
    for (const Slot& slot : std::initializer_list<Slot>{
             // A recorded event stays as it was first recorded.
             {&statements->insert_event,
              "INSERT INTO goal_events(kpi, period, event, at_ms) VALUES (?1, ?2, ?3, ?4) "
              "ON CONFLICT(kpi, period, event) DO NOTHING"},
             {&statements->select_events,
              "SELECT kpi, period, event, at_ms FROM goal_events ORDER BY kpi, period, at_ms"},
         }) {
      if (Prepare(db_, slot.second, *slot.first) != SQLITE_OK) return Fail(kOpen);
    }
  }
  if (version >= 7) {
    for (const Slot& slot : std::initializer_list<Slot>{
             {&statements->insert_restatement,
              "INSERT INTO restatements(kpi, detected_ms, vals, first_ms, last_ms) "
              "VALUES (?1, ?2, ?3, ?4, ?5)"},
             {&statements->insert_restated_value,
              "INSERT INTO restated_values(restatement, ts_ms, before, after) "
              "VALUES (?1, ?2, ?3, ?4)"},
             {&statements->insert_restated_status,
              "INSERT INTO restated_statuses(restatement, seq, kpi, from_ms, until_ms, before, "
              "after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
             {&statements->select_restatements,
              "SELECT id, detected_ms, vals, first_ms, last_ms FROM restatements "
              "WHERE kpi = ?1 ORDER BY detected_ms DESC, id DESC LIMIT ?2"},
             {&statements->select_restated_values,
              "SELECT ts_ms, before, after FROM restated_values WHERE restatement = ?1 "
              "ORDER BY ts_ms LIMIT ?2"},
             {&statements->select_restated_statuses,
              "SELECT kpi, from_ms, until_ms, before, after FROM restated_statuses "
              "WHERE restatement = ?1 ORDER BY seq"},
             {&statements->insert_restated_period,
              "INSERT INTO restated_periods(restatement, start_ms, end_ms, before_result, "
              "after_result, before_final, after_final, before_baseline, after_baseline) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
             {&statements->select_restated_periods,
              "SELECT start_ms, end_ms, before_result, after_result, before_final, after_final, "
              "before_baseline, after_baseline FROM restated_periods WHERE restatement = ?1 "
              "ORDER BY start_ms"},
             // A closed row is final except here; an open one keeps result NULL.
             {&statements->rejudge_period,
              "UPDATE goal_periods SET baseline = ?3, final_value = ?4, progress = ?5, "
              "result = CASE WHEN ?6 = '' THEN NULL ELSE ?6 END WHERE kpi = ?1 AND start_ms = ?2"},
             {&statements->prune_restatements, "DELETE FROM restatements WHERE detected_ms < ?1"},
         }) {
      if (Prepare(db_, slot.second, *slot.first) != SQLITE_OK) return Fail(kOpen);
    }
  }
  schema_version_ = static_cast<int>(version);
  statements_ = std::move(statements);
  optimize_on_close_ = mode == Mode::kReadWrite && !in_memory;
  return std::nullopt;
}

std::optional<Error> Store::AppendSamples(std::span<const SampleRow> rows) {
  constexpr std::string_view kOperation = "append samples";
  return CatchAll(path_, kOperation, [&]() -> std::optional<Error> {
    if (rows.empty()) return std::nullopt;
    Transaction transaction(db_, statements_->transaction);
    if (!transaction.Begin()) return Fail(kOperation);
    if (auto error = InsertSamples(rows, kOperation)) return error;
    if (!transaction.Commit()) return Fail(kOperation);
    return std::nullopt;
  });
}

std::optional<Error> Store::InsertSamples(std::span<const SampleRow> rows,
                                          std::string_view operation) {
  sqlite3_stmt* insert = statements_->insert_sample.get();
  ResetOnExit reset(insert);
  for (const SampleRow& row : rows) {
    const std::int64_t ts_ms = FloorMs(row.sample.at);
    if (std::isnan(row.sample.value)) {
      // SQLite would store NaN as NULL. The whole batch is refused, like any failed write.
      return Error{Prefix(path_) + std::string(operation) + ": kpi " + Quoted(row.kpi) + " at " +
                   std::to_string(ts_ms) + " ms: the value is NaN"};
    }
    if (BindText(insert, 1, row.kpi) != SQLITE_OK ||
        sqlite3_bind_int64(insert, 2, ts_ms) != SQLITE_OK ||
        sqlite3_bind_double(insert, 3, row.sample.value) != SQLITE_OK || Run(insert) != SQLITE_OK) {
      return Fail(std::string(operation) + ": kpi " + Quoted(row.kpi) + " at " +
                  std::to_string(ts_ms) + " ms");
    }
  }
  return std::nullopt;
}

Result<std::vector<rules::Sample>> Store::Samples(std::string_view kpi, TimePoint since,
                                                  std::size_t limit) const {
  return Samples(kpi, since, TimePoint::max(), limit);
}

Result<std::vector<rules::Sample>> Store::Samples(std::string_view kpi, TimePoint since,
                                                  TimePoint until, std::size_t limit) const {
  const std::string operation = "read samples of kpi " + Quoted(kpi);
  return CatchAll(path_, operation, [&]() -> Result<std::vector<rules::Sample>> {
    sqlite3_stmt* select = statements_->select_samples.get();
    ResetOnExit reset(select);
    const auto max_limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    if (BindText(select, 1, kpi) != SQLITE_OK ||
        sqlite3_bind_int64(select, 2, CeilMs(since)) != SQLITE_OK ||
        sqlite3_bind_int64(select, 3, UntilMs(until)) != SQLITE_OK ||
        sqlite3_bind_int64(select, 4, static_cast<std::int64_t>(std::min(limit, max_limit))) !=
            SQLITE_OK) {
      return Fail(operation);
    }
    std::vector<rules::Sample> samples;
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
      const std::int64_t ts_ms = sqlite3_column_int64(select, 0);
      const std::optional<TimePoint> at = FromMs(ts_ms);
      if (!at) {
        return Error{Prefix(path_) + operation + ": timestamp " + std::to_string(ts_ms) +
                     " ms is out of range"};
      }
      samples.push_back({*at, sqlite3_column_double(select, 1)});
    }
    if (rc != SQLITE_DONE) return Fail(operation);
    std::reverse(samples.begin(), samples.end());
    return samples;
  });
}

Result<std::vector<rules::Sample>> Store::SamplesAt(std::string_view kpi,
                                                    std::span<const TimePoint> times) const {
  const std::string operation = "read samples of kpi " + Quoted(kpi);
  return CatchAll(path_, operation, [&]() -> Result<std::vector<rules::Sample>> {
    sqlite3_stmt* select = statements_->sample_at.get();
    ResetOnExit reset(select);
    if (BindText(select, 1, kpi) != SQLITE_OK) return Fail(operation);
    std::vector<std::int64_t> ms;
    ms.reserve(times.size());
    for (TimePoint t : times) ms.push_back(FloorMs(t));
    std::sort(ms.begin(), ms.end());
    ms.erase(std::unique(ms.begin(), ms.end()), ms.end());
    std::vector<rules::Sample> samples;
    // One read transaction for all the lookups: each would otherwise take and drop its own
    // snapshot of the WAL, which costs more than the lookup.
    const bool own = sqlite3_get_autocommit(db_) != 0 && ms.size() > 1;
    if (own && sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Fail(operation);
    }
    struct End {
      sqlite3* db;
      bool own;
      ~End() {
        if (own) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      }
    } end{db_, own};
    for (const std::int64_t at : ms) {
      if (sqlite3_bind_int64(select, 2, at) != SQLITE_OK) return Fail(operation);
      const int rc = sqlite3_step(select);
      if (rc == SQLITE_ROW) {
        const std::optional<TimePoint> t = FromMs(at);
        if (!t) {
          return Error{Prefix(path_) + operation + ": timestamp " + std::to_string(at) +
                       " ms is out of range"};
        }
        samples.push_back({*t, sqlite3_column_double(select, 0)});
      } else if (rc != SQLITE_DONE) {
        return Fail(operation);
      }
      sqlite3_reset(select);  // keeps the bound kpi
    }
    return samples;
  });
}

Result<std::optional<rules::Sample>> Store::StepSample(sqlite3_stmt* select,
                                                       const std::string& operation) const {
  const int rc = sqlite3_step(select);
  if (rc == SQLITE_DONE) return std::optional<rules::Sample>();
  if (rc != SQLITE_ROW) return Fail(operation);
  const std::int64_t ts_ms = sqlite3_column_int64(select, 0);
  const std::optional<TimePoint> at = FromMs(ts_ms);
  if (!at) {
    return Error{Prefix(path_) + operation + ": timestamp " + std::to_string(ts_ms) +
                 " ms is out of range"};
  }
  return std::optional<rules::Sample>(rules::Sample{*at, sqlite3_column_double(select, 1)});
}

Result<std::optional<rules::Sample>> Store::LatestSample(std::string_view kpi) const {
  const std::string operation = "read the latest sample of kpi " + Quoted(kpi);
  return CatchAll(path_, operation, [&]() -> Result<std::optional<rules::Sample>> {
    sqlite3_stmt* select = statements_->latest_sample.get();
    ResetOnExit reset(select);
    if (BindText(select, 1, kpi) != SQLITE_OK) return Fail(operation);
    return StepSample(select, operation);
  });
}

Result<std::optional<rules::Sample>> Store::FirstSample(std::string_view kpi,
                                                        TimePoint since) const {
  const std::string operation = "read the first sample of kpi " + Quoted(kpi);
  return CatchAll(path_, operation, [&]() -> Result<std::optional<rules::Sample>> {
    sqlite3_stmt* select = statements_->first_sample.get();
    ResetOnExit reset(select);
    if (BindText(select, 1, kpi) != SQLITE_OK ||
        sqlite3_bind_int64(select, 2, CeilMs(since)) != SQLITE_OK) {
      return Fail(operation);
    }
    return StepSample(select, operation);
  });
}

Result<std::size_t> Store::Prune(TimePoint before) {
  constexpr std::string_view kOperation = "prune samples";
  return CatchAll(path_, kOperation, [&]() -> Result<std::size_t> {
    Transaction transaction(db_, statements_->transaction);
    if (!transaction.Begin()) return Fail(kOperation);
    // The KPI after `after` (the first one for nullptr), by one seek of the primary key.
    std::optional<std::string> kpi;
    auto next = [&](const std::string* after) -> bool {
      sqlite3_stmt* select = after ? statements_->next_kpi.get() : statements_->first_kpi.get();
      ResetOnExit reset(select);
      if (after && BindText(select, 1, *after) != SQLITE_OK) return false;
      const int rc = sqlite3_step(select);
      if (rc == SQLITE_ROW) {
        std::string found(ColumnText(select, 0));
        kpi = std::move(found);
        return true;
      }
      kpi.reset();
      return rc == SQLITE_DONE;
    };
    if (!next(nullptr)) return Fail(kOperation);
    const std::int64_t cutoff = CeilMs(before);
    sqlite3_stmt* remove = statements_->prune_kpi.get();
    std::size_t deleted = 0;
    while (kpi) {
      {
        ResetOnExit reset(remove);
        if (BindText(remove, 1, *kpi) != SQLITE_OK ||
            sqlite3_bind_int64(remove, 2, cutoff) != SQLITE_OK || Run(remove) != SQLITE_OK) {
          return Fail(std::string(kOperation) + " of kpi " + Quoted(*kpi));
        }
        deleted += static_cast<std::size_t>(sqlite3_changes64(db_));
      }
      const std::string current = *kpi;
      if (!next(&current)) return Fail(kOperation);
    }
    if (sqlite3_stmt* restatements = statements_->prune_restatements.get()) {
      ResetOnExit reset(restatements);
      if (sqlite3_bind_int64(restatements, 1, cutoff) != SQLITE_OK ||
          Run(restatements) != SQLITE_OK) {
        return Fail(std::string(kOperation) + ": restatements");
      }
    }
    if (!transaction.Commit()) return Fail(kOperation);
    return deleted;
  });
}

std::optional<Error> Store::SaveAlerts(std::span<const AlertRow> rows) {
  constexpr std::string_view kOperation = "save alerts";
  return CatchAll(path_, kOperation, [&]() -> std::optional<Error> {
    if (rows.empty()) return std::nullopt;
    sqlite3_stmt* upsert = statements_->upsert_alert.get();
    if (upsert == nullptr) {
      return Error{Prefix(path_) + std::string(kOperation) + ": the database is open read-only"};
    }
    Transaction transaction(db_, statements_->transaction);
    if (!transaction.Begin()) return Fail(kOperation);
    ResetOnExit reset(upsert);
    auto bind_time = [&](int index, const std::optional<TimePoint>& t) {
      return t ? sqlite3_bind_int64(upsert, index, FloorMs(*t)) : sqlite3_bind_null(upsert, index);
    };
    for (const AlertRow& row : rows) {
      const rules::AlertState& state = row.state;
      if (BindText(upsert, 1, row.id) != SQLITE_OK || BindText(upsert, 2, row.kpi) != SQLITE_OK ||
          BindText(upsert, 3, rules::AlertPhaseName(state.phase)) != SQLITE_OK ||
          bind_time(4, state.active_since) != SQLITE_OK ||
          bind_time(5, state.fired_at) != SQLITE_OK ||
          bind_time(6, state.resolved_at) != SQLITE_OK ||
          (state.status ? BindText(upsert, 7, rules::StatusName(*state.status))
                        : sqlite3_bind_null(upsert, 7)) != SQLITE_OK ||
          BindText(upsert, 8, rules::SeverityName(state.severity)) != SQLITE_OK ||
          Run(upsert) != SQLITE_OK) {
        return Fail(std::string(kOperation) + ": alert " + Quoted(row.id));
      }
    }
    if (!transaction.Commit()) return Fail(kOperation);
    return std::nullopt;
  });
}

Result<std::vector<AlertRow>> Store::LoadAlerts() const {
  constexpr std::string_view kOperation = "load alerts";
  return CatchAll(path_, kOperation, [&]() -> Result<std::vector<AlertRow>> {
    std::vector<AlertRow> alerts;
    sqlite3_stmt* select = statements_->select_alerts.get();
    if (select == nullptr) return alerts;  // schema version 1, opened read-only
    ResetOnExit reset(select);
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
      AlertRow row;
      row.id = std::string(ColumnText(select, 0));
      row.kpi = std::string(ColumnText(select, 1));
      auto bad = [&](const std::string& what) {
        return Error{Prefix(path_) + std::string(kOperation) + ": alert " + Quoted(row.id) + ": " +
                     what};
      };
      const std::string_view phase = ColumnText(select, 2);
      if (auto parsed = rules::ParseAlertPhase(phase)) {
        row.state.phase = *parsed;
      } else {
        return bad("unknown phase " + Quoted(phase));
      }
      static constexpr std::array<const char*, 3> kTimeColumns = {"active_since_ms", "fired_at_ms",
                                                                  "resolved_at_ms"};
      std::array<std::optional<TimePoint>*, 3> times = {
          &row.state.active_since, &row.state.fired_at, &row.state.resolved_at};
      for (int i = 0; i < 3; ++i) {
        const int column = 3 + i;
        const auto index = static_cast<std::size_t>(i);
        const int type = sqlite3_column_type(select, column);
        if (type == SQLITE_NULL) continue;
        std::optional<TimePoint> t;
        if (type == SQLITE_INTEGER) t = FromMs(sqlite3_column_int64(select, column));
        if (!t) {
          return bad(std::string(kTimeColumns[index]) +
                     " is not a timestamp in milliseconds: " + Quoted(ColumnText(select, column)));
        }
        *times[index] = t;
      }
      if (sqlite3_column_type(select, 6) != SQLITE_NULL) {
        const std::string_view status = ColumnText(select, 6);
        if (auto parsed = rules::ParseStatus(status)) {
          row.state.status = *parsed;
        } else {
          return bad("unknown status " + Quoted(status));
        }
      }
      const std::string_view severity = ColumnText(select, 7);
      if (auto parsed = rules::ParseSeverity(severity)) {
        row.state.severity = *parsed;
      } else {
        return bad("unknown severity " + Quoted(severity));
      }
      alerts.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return Fail(kOperation);
    return alerts;
  });
}

Result<std::size_t> Store::RetainAlerts(std::span<const std::string> keep) {
  constexpr std::string_view kOperation = "retain alerts";
  return CatchAll(path_, kOperation, [&]() -> Result<std::size_t> {
    sqlite3_stmt* select = statements_->select_alert_ids.get();
    sqlite3_stmt* remove = statements_->delete_alert.get();
    if (select == nullptr || remove == nullptr) {
      return Error{Prefix(path_) + std::string(kOperation) + ": the database is open read-only"};
    }
    Transaction transaction(db_, statements_->transaction);
    if (!transaction.Begin()) return Fail(kOperation);
    // The difference is taken here rather than in SQL: `keep` may hold 100,000 ids, which
    // would otherwise have to be bound one by one into a temporary table on every call.
    std::unordered_set<std::string_view> kept;
    kept.reserve(keep.size());
    for (const std::string& id : keep) kept.insert(id);
    std::vector<std::string> doomed;
    {
      ResetOnExit reset(select);
      int rc = SQLITE_OK;
      while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
        const std::string_view id = ColumnText(select, 0);
        if (!kept.contains(id)) doomed.emplace_back(id);
      }
      if (rc != SQLITE_DONE) return Fail(kOperation);
    }
    std::size_t deleted = 0;
    sqlite3_stmt* remove_notices = statements_->delete_alert_notices.get();
    for (const std::string& id : doomed) {
      ResetOnExit reset(remove);
      if (BindText(remove, 1, id) != SQLITE_OK || Run(remove) != SQLITE_OK) {
        return Fail(std::string(kOperation) + ": alert " + Quoted(id));
      }
      deleted += static_cast<std::size_t>(sqlite3_changes64(db_));
      if (remove_notices == nullptr) continue;
      ResetOnExit reset_notices(remove_notices);
      if (BindText(remove_notices, 1, id) != SQLITE_OK || Run(remove_notices) != SQLITE_OK) {
        return Fail(std::string(kOperation) + ": notices of alert " + Quoted(id));
      }
    }
    if (!transaction.Commit()) return Fail(kOperation);
    return deleted;
  });
}

Error Store::ReadOnly(std::string_view operation) const {
  return Error{Prefix(path_) + std::string(operation) +
               ": not available (the database is open read-only or has an older schema)"};
}

// Binds and runs the notice upsert for each row; the caller holds the transaction.
std::optional<Error> Store::UpsertNotices(std::span<const NoticeRow> notices,
                                          std::string_view operation) {
  sqlite3_stmt* upsert = statements_->upsert_notice.get();
  ResetOnExit reset(upsert);
  for (const NoticeRow& n : notices) {
    if (BindText(upsert, 1, n.receiver) != SQLITE_OK || BindText(upsert, 2, n.alert) != SQLITE_OK ||
        sqlite3_bind_int(upsert, 3, n.firing ? 1 : 0) != SQLITE_OK ||
        BindText(upsert, 4, n.status) != SQLITE_OK ||
        BindText(upsert, 5, n.severity) != SQLITE_OK ||
        sqlite3_bind_int64(upsert, 6, FloorMs(n.at)) != SQLITE_OK || Run(upsert) != SQLITE_OK) {
      return Fail(std::string(operation) + ": notice of alert " + Quoted(n.alert) +
                  " for receiver " + Quoted(n.receiver));
    }
  }
  return std::nullopt;
}

Result<std::int64_t> Store::InsertOutbox(const OutboxRow& row, std::string_view operation) {
  sqlite3_stmt* insert = statements_->insert_outbox.get();
  ResetOnExit reset(insert);
  if (BindText(insert, 1, row.receiver) != SQLITE_OK ||
      BindText(insert, 2, row.payload) != SQLITE_OK ||
      sqlite3_bind_int64(insert, 3, FloorMs(row.created)) != SQLITE_OK ||
      sqlite3_bind_int64(insert, 4, FloorMs(row.expires)) != SQLITE_OK ||
      sqlite3_bind_int64(insert, 5, FloorMs(row.next_attempt)) != SQLITE_OK ||
      sqlite3_bind_int(insert, 6, row.attempts) != SQLITE_OK ||
      BindText(insert, 7, row.last_error) != SQLITE_OK || Run(insert) != SQLITE_OK) {
    return Fail(std::string(operation) + ": notification for receiver " + Quoted(row.receiver));
  }
  return sqlite3_last_insert_rowid(db_);
}

Result<std::int64_t> Store::Enqueue(const OutboxRow& row, std::span<const NoticeRow> notices) {
  constexpr std::string_view kOperation = "enqueue notification";
  return CatchAll(path_, kOperation, [&]() -> Result<std::int64_t> {
    sqlite3_stmt* insert = statements_->insert_outbox.get();
    if (insert == nullptr) return ReadOnly(kOperation);
    Transaction transaction(db_, statements_->transaction);
    if (!transaction.Begin()) return Fail(kOperation);
    auto inserted = InsertOutbox(row, kOperation);
    if (auto* error = std::get_if<Error>(&inserted)) return std::move(*error);
    const std::int64_t id = std::get<std::int64_t>(inserted);
    if (auto error = UpsertNotices(notices, kOperation)) return *std::move(error);
    if (!transaction.Commit()) return Fail(kOperation);
    return id;
  });
}

Result<std::vector<std::int64_t>> Store::RecordEvents(std::span<const EventRow> events,
                                                      std::span<const OutboxRow> outbox,
                                                      std::span<const NoticeRow> notices) {
  constexpr std::string_view kOperation = "record goal events";
  return CatchAll(path_, kOperation, [&]() -> Result<std::vector<std::int64_t>> {
    sqlite3_stmt* record = statements_->insert_event.get();
    sqlite3_stmt* insert = statements_->insert_outbox.get();
    if (record == nullptr || insert == nullptr) return ReadOnly(kOperation);
    std::vector<std::int64_t> ids;
    if (events.empty() && outbox.empty() && notices.empty()) return ids;
    Transaction transaction(db_, statements_->transaction);
    if (!transaction.Begin()) return Fail(kOperation);
    for (const EventRow& e : events) {
      ResetOnExit reset(record);
      if (BindText(record, 1, e.kpi) != SQLITE_OK || BindText(record, 2, e.period) != SQLITE_OK ||
          BindText(record, 3, e.event) != SQLITE_OK ||
          sqlite3_bind_int64(record, 4, FloorMs(e.at)) != SQLITE_OK || Run(record) != SQLITE_OK) {
        return Fail(std::string(kOperation) + ": " + Quoted(e.event) + " of KPI " + Quoted(e.kpi));
      }
    }
    for (const OutboxRow& row : outbox) {
      auto inserted = InsertOutbox(row, kOperation);
      if (auto* error = std::get_if<Error>(&inserted)) return std::move(*error);
      ids.push_back(std::get<std::int64_t>(inserted));
    }
    if (auto error = UpsertNotices(notices, kOperation)) return *std::move(error);
    if (!transaction.Commit()) return Fail(kOperation);
    return ids;
  });
}

Result<std::vector<EventRow>> Store::LoadEvents() const {
  constexpr std::string_view kOperation = "load goal events";
  return CatchAll(path_, kOperation, [&]() -> Result<std::vector<EventRow>> {
    std::vector<EventRow> rows;
    sqlite3_stmt* select = statements_->select_events.get();
    if (select == nullptr) return rows;  // an older schema, read-only: none recorded
    ResetOnExit reset(select);
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
      EventRow row;
      row.kpi = std::string(ColumnText(select, 0));
      row.period = std::string(ColumnText(select, 1));
      row.event = std::string(ColumnText(select, 2));
      auto at = FromMs(sqlite3_column_int64(select, 3));
      if (!at) {
        return Error{Prefix(path_) + std::string(kOperation) + ": event " + Quoted(row.event) +
                     " of KPI " + Quoted(row.kpi) + " has a time out of range"};
      }
      row.at = *at;
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return Fail(kOperation);
    return rows;
  });
}

Result<std::vector<std::int64_t>> Store::RecordRestatement(const RestatementRow& restatement,
                                                           std::span<const SampleRow> samples,
                                                           std::span<const OutboxRow> outbox,
                                                           std::span<const NoticeRow> notices) {
  const std::string operation = "record the restatement of kpi " + Quoted(restatement.kpi);
  return CatchAll(path_, operation, [&]() -> Result<std::vector<std::int64_t>> {
    sqlite3_stmt* insert = statements_->insert_restatement.get();
    sqlite3_stmt* value = statements_->insert_restated_value.get();
    sqlite3_stmt* status = statements_->insert_restated_status.get();
    if (insert == nullptr) return ReadOnly(operation);
    Transaction transaction(db_, statements_->transaction);
    if (!transaction.Begin()) return Fail(operation);
    {
      ResetOnExit reset(insert);
      if (BindText(insert, 1, restatement.kpi) != SQLITE_OK ||
          sqlite3_bind_int64(insert, 2, FloorMs(restatement.detected)) != SQLITE_OK ||
          sqlite3_bind_int64(insert, 3, static_cast<std::int64_t>(restatement.values)) !=
              SQLITE_OK ||
          sqlite3_bind_int64(insert, 4, FloorMs(restatement.first)) != SQLITE_OK ||
          sqlite3_bind_int64(insert, 5, FloorMs(restatement.last)) != SQLITE_OK ||
          Run(insert) != SQLITE_OK) {
        return Fail(operation);
      }
    }
    const std::int64_t id = sqlite3_last_insert_rowid(db_);
    const std::size_t kept = std::min(restatement.changes.size(), kMaxRestatedValues);
    for (const RestatedValue& v : std::span(restatement.changes).first(kept)) {
      ResetOnExit reset(value);
      if (sqlite3_bind_int64(value, 1, id) != SQLITE_OK ||
          sqlite3_bind_int64(value, 2, FloorMs(v.at)) != SQLITE_OK ||
          sqlite3_bind_double(value, 3, v.before) != SQLITE_OK ||
          sqlite3_bind_double(value, 4, v.after) != SQLITE_OK || Run(value) != SQLITE_OK) {
        return Fail(operation + ": value at " + std::to_string(FloorMs(v.at)) + " ms");
      }
    }
    std::int64_t seq = 0;
    for (const StatusChange& c : restatement.statuses) {
      ResetOnExit reset(status);
      if (sqlite3_bind_int64(status, 1, id) != SQLITE_OK ||
          sqlite3_bind_int64(status, 2, seq++) != SQLITE_OK ||
          BindText(status, 3, c.kpi) != SQLITE_OK ||
          sqlite3_bind_int64(status, 4, FloorMs(c.from)) != SQLITE_OK ||
          sqlite3_bind_int64(status, 5, FloorMs(c.until)) != SQLITE_OK ||
          BindText(status, 6, c.before) != SQLITE_OK || BindText(status, 7, c.after) != SQLITE_OK ||
          Run(status) != SQLITE_OK) {
        return Fail(operation + ": status change of kpi " + Quoted(c.kpi));
      }
    }
    sqlite3_stmt* period = statements_->insert_restated_period.get();
    sqlite3_stmt* rejudge = statements_->rejudge_period.get();
    const auto bind_optional = [](sqlite3_stmt* stmt, int index, std::optional<double> v) {
      return v ? sqlite3_bind_double(stmt, index, *v) : sqlite3_bind_null(stmt, index);
    };
    for (const RestatedPeriod& p : restatement.periods) {
      const std::string what =
          operation + ": period from " + std::to_string(FloorMs(p.after.start)) + " ms";
      {
        ResetOnExit reset(period);
        if (sqlite3_bind_int64(period, 1, id) != SQLITE_OK ||
            sqlite3_bind_int64(period, 2, FloorMs(p.after.start)) != SQLITE_OK ||
            sqlite3_bind_int64(period, 3, FloorMs(p.after.end)) != SQLITE_OK ||
            BindText(period, 4, p.before.result) != SQLITE_OK ||
            BindText(period, 5, p.after.result) != SQLITE_OK ||
            bind_optional(period, 6, p.before.final_value) != SQLITE_OK ||
            bind_optional(period, 7, p.after.final_value) != SQLITE_OK ||
            bind_optional(period, 8, p.before.baseline) != SQLITE_OK ||
            bind_optional(period, 9, p.after.baseline) != SQLITE_OK || Run(period) != SQLITE_OK) {
          return Fail(what);
        }
      }
      ResetOnExit reset(rejudge);
      if (BindText(rejudge, 1, p.after.kpi) != SQLITE_OK ||
          sqlite3_bind_int64(rejudge, 2, FloorMs(p.after.start)) != SQLITE_OK ||
          bind_optional(rejudge, 3, p.after.baseline) != SQLITE_OK ||
          bind_optional(rejudge, 4, p.after.final_value) != SQLITE_OK ||
          bind_optional(rejudge, 5, p.after.progress) != SQLITE_OK ||
          BindText(rejudge, 6, p.after.result) != SQLITE_OK || Run(rejudge) != SQLITE_OK) {
        return Fail(what);
      }
    }
    if (auto error = InsertSamples(samples, operation)) return *std::move(error);
    std::vector<std::int64_t> ids;
    for (const OutboxRow& row : outbox) {
      auto inserted = InsertOutbox(row, operation);
      if (auto* error = std::get_if<Error>(&inserted)) return std::move(*error);
      ids.push_back(std::get<std::int64_t>(inserted));
    }
    if (auto error = UpsertNotices(notices, operation)) return *std::move(error);
    if (!transaction.Commit()) return Fail(operation);
    return ids;
  });
}

Result<std::vector<RestatementRow>> Store::LoadRestatements(std::string_view kpi, std::size_t limit,
                                                            std::size_t values_limit) const {
  const std::string operation = "load the restatements of kpi " + Quoted(kpi);
  return CatchAll(path_, operation, [&]() -> Result<std::vector<RestatementRow>> {
    std::vector<RestatementRow> rows;
    sqlite3_stmt* select = statements_->select_restatements.get();
    if (select == nullptr) return rows;  // an older schema, read-only: none recorded
    const auto max_limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    auto damaged = [&](std::int64_t id) {
      return Error{Prefix(path_) + operation + ": restatement " + std::to_string(id) +
                   " has a time out of range"};
    };
    {
      ResetOnExit reset(select);
      if (BindText(select, 1, kpi) != SQLITE_OK ||
          sqlite3_bind_int64(select, 2, static_cast<std::int64_t>(std::min(limit, max_limit))) !=
              SQLITE_OK) {
        return Fail(operation);
      }
      int rc = SQLITE_OK;
      while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
        RestatementRow& row = rows.emplace_back();
        row.id = sqlite3_column_int64(select, 0);
        row.kpi = std::string(kpi);
        const auto detected = FromMs(sqlite3_column_int64(select, 1));
        row.values =
            static_cast<std::size_t>(std::max<std::int64_t>(0, sqlite3_column_int64(select, 2)));
        const auto first = FromMs(sqlite3_column_int64(select, 3));
        const auto last = FromMs(sqlite3_column_int64(select, 4));
        if (!detected || !first || !last) return damaged(row.id);
        row.detected = *detected;
        row.first = *first;
        row.last = *last;
      }
      if (rc != SQLITE_DONE) return Fail(operation);
    }
    sqlite3_stmt* values = statements_->select_restated_values.get();
    sqlite3_stmt* statuses = statements_->select_restated_statuses.get();
    sqlite3_stmt* periods = statements_->select_restated_periods.get();
    for (RestatementRow& row : rows) {
      {
        ResetOnExit reset(values);
        if (sqlite3_bind_int64(values, 1, row.id) != SQLITE_OK ||
            sqlite3_bind_int64(values, 2,
                               static_cast<std::int64_t>(std::min(values_limit, max_limit))) !=
                SQLITE_OK) {
          return Fail(operation);
        }
        int rc = SQLITE_OK;
        while ((rc = sqlite3_step(values)) == SQLITE_ROW) {
          const auto at = FromMs(sqlite3_column_int64(values, 0));
          if (!at) return damaged(row.id);
          row.changes.push_back(
              {*at, sqlite3_column_double(values, 1), sqlite3_column_double(values, 2)});
        }
        if (rc != SQLITE_DONE) return Fail(operation);
      }
      {
        ResetOnExit reset(periods);
        if (sqlite3_bind_int64(periods, 1, row.id) != SQLITE_OK) return Fail(operation);
        const auto optional = [&](int column) -> std::optional<double> {
          if (sqlite3_column_type(periods, column) == SQLITE_NULL) return std::nullopt;
          return sqlite3_column_double(periods, column);
        };
        int rc = SQLITE_OK;
        while ((rc = sqlite3_step(periods)) == SQLITE_ROW) {
          RestatedPeriod& p = row.periods.emplace_back();
          const auto start = FromMs(sqlite3_column_int64(periods, 0));
          const auto end = FromMs(sqlite3_column_int64(periods, 1));
          if (!start || !end) return damaged(row.id);
          for (PeriodRow* side : {&p.before, &p.after}) {
            side->kpi = row.kpi;
            side->start = *start;
            side->end = *end;
          }
          p.before.result = std::string(ColumnText(periods, 2));
          p.after.result = std::string(ColumnText(periods, 3));
          p.before.final_value = optional(4);
          p.after.final_value = optional(5);
          p.before.baseline = optional(6);
          p.after.baseline = optional(7);
        }
        if (rc != SQLITE_DONE) return Fail(operation);
      }
      ResetOnExit reset(statuses);
      if (sqlite3_bind_int64(statuses, 1, row.id) != SQLITE_OK) return Fail(operation);
      int rc = SQLITE_OK;
      while ((rc = sqlite3_step(statuses)) == SQLITE_ROW) {
        StatusChange& c = row.statuses.emplace_back();
        c.kpi = std::string(ColumnText(statuses, 0));
        const auto from = FromMs(sqlite3_column_int64(statuses, 1));
        const auto until = FromMs(sqlite3_column_int64(statuses, 2));
        if (!from || !until) return damaged(row.id);
        c.from = *from;
        c.until = *until;
        c.before = std::string(ColumnText(statuses, 3));
        c.after = std::string(ColumnText(statuses, 4));
      }
      if (rc != SQLITE_DONE) return Fail(operation);
    }
    return rows;
  });
}

std::optional<Error> Store::SaveNotices(std::span<const NoticeRow> notices) {
  constexpr std::string_view kOperation = "save notices";
  return CatchAll(path_, kOperation, [&]() -> std::optional<Error> {
    if (notices.empty()) return std::nullopt;
    if (statements_->upsert_notice == nullptr) return ReadOnly(kOperation);
    Transaction transaction(db_, statements_->transaction);
    if (!transaction.Begin()) return Fail(kOperation);
    if (auto error = UpsertNotices(notices, kOperation)) return error;
    if (!transaction.Commit()) return Fail(kOperation);
    return std::nullopt;
  });
}

std::optional<Error> Store::UpdateOutbox(const OutboxRow& row) {
  constexpr std::string_view kOperation = "update notification";
  return CatchAll(path_, kOperation, [&]() -> std::optional<Error> {
    sqlite3_stmt* update = statements_->update_outbox.get();
    if (update == nullptr) return ReadOnly(kOperation);
    ResetOnExit reset(update);
    if (sqlite3_bind_int64(update, 1, row.id) != SQLITE_OK ||
        sqlite3_bind_int(update, 2, row.attempts) != SQLITE_OK ||
        sqlite3_bind_int64(update, 3, FloorMs(row.next_attempt)) != SQLITE_OK ||
        BindText(update, 4, row.last_error) != SQLITE_OK || Run(update) != SQLITE_OK) {
      return Fail(std::string(kOperation) + " " + std::to_string(row.id));
    }
    return std::nullopt;
  });
}

std::optional<Error> Store::DeleteOutbox(std::int64_t id) {
  constexpr std::string_view kOperation = "delete notification";
  return CatchAll(path_, kOperation, [&]() -> std::optional<Error> {
    sqlite3_stmt* remove = statements_->delete_outbox.get();
    if (remove == nullptr) return ReadOnly(kOperation);
    ResetOnExit reset(remove);
    if (sqlite3_bind_int64(remove, 1, id) != SQLITE_OK || Run(remove) != SQLITE_OK) {
      return Fail(std::string(kOperation) + " " + std::to_string(id));
    }
    return std::nullopt;
  });
}

Result<std::vector<OutboxRow>> Store::LoadOutbox() const {
  constexpr std::string_view kOperation = "load outbox";
  return CatchAll(path_, kOperation, [&]() -> Result<std::vector<OutboxRow>> {
    std::vector<OutboxRow> rows;
    sqlite3_stmt* select = statements_->select_outbox.get();
    if (select == nullptr) return rows;  // an older schema, read-only: nothing queued
    ResetOnExit reset(select);
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
      OutboxRow row;
      row.id = sqlite3_column_int64(select, 0);
      row.receiver = std::string(ColumnText(select, 1));
      row.payload = std::string(ColumnText(select, 2));
      auto created = FromMs(sqlite3_column_int64(select, 3));
      auto expires = FromMs(sqlite3_column_int64(select, 4));
      auto next = FromMs(sqlite3_column_int64(select, 5));
      if (!created || !expires || !next) {
        return Error{Prefix(path_) + std::string(kOperation) + ": notification " +
                     std::to_string(row.id) + " has a time out of range"};
      }
      row.created = *created;
      row.expires = *expires;
      row.next_attempt = *next;
      row.attempts = sqlite3_column_int(select, 6);
      row.last_error = std::string(ColumnText(select, 7));
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return Fail(kOperation);
    return rows;
  });
}

Result<std::vector<NoticeRow>> Store::LoadNotices() const {
  constexpr std::string_view kOperation = "load notices";
  return CatchAll(path_, kOperation, [&]() -> Result<std::vector<NoticeRow>> {
    std::vector<NoticeRow> rows;
    sqlite3_stmt* select = statements_->select_notices.get();
    if (select == nullptr) return rows;
    ResetOnExit reset(select);
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
      NoticeRow row;
      row.receiver = std::string(ColumnText(select, 0));
      row.alert = std::string(ColumnText(select, 1));
      row.firing = sqlite3_column_int(select, 2) != 0;
      row.status = std::string(ColumnText(select, 3));
      row.severity = std::string(ColumnText(select, 4));
      auto at = FromMs(sqlite3_column_int64(select, 5));
      if (!at) {
        return Error{Prefix(path_) + std::string(kOperation) + ": notice of alert " +
                     Quoted(row.alert) + " has a time out of range"};
      }
      row.at = *at;
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return Fail(kOperation);
    return rows;
  });
}

std::optional<Error> Store::SaveSilence(const SilenceRow& row) {
  constexpr std::string_view kOperation = "save silence";
  return CatchAll(path_, kOperation, [&]() -> std::optional<Error> {
    sqlite3_stmt* upsert = statements_->upsert_silence.get();
    if (upsert == nullptr) return ReadOnly(kOperation);
    ResetOnExit reset(upsert);
    if (BindText(upsert, 1, row.id) != SQLITE_OK || BindText(upsert, 2, row.body) != SQLITE_OK ||
        sqlite3_bind_int64(upsert, 3, FloorMs(row.ends)) != SQLITE_OK || Run(upsert) != SQLITE_OK) {
      return Fail(std::string(kOperation) + " " + Quoted(row.id));
    }
    return std::nullopt;
  });
}

Result<std::vector<SilenceRow>> Store::LoadSilences() const {
  constexpr std::string_view kOperation = "load silences";
  return CatchAll(path_, kOperation, [&]() -> Result<std::vector<SilenceRow>> {
    std::vector<SilenceRow> rows;
    sqlite3_stmt* select = statements_->select_silences.get();
    if (select == nullptr) return rows;  // an older schema, read-only: none yet
    ResetOnExit reset(select);
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
      SilenceRow row;
      row.id = std::string(ColumnText(select, 0));
      row.body = std::string(ColumnText(select, 1));
      auto ends = FromMs(sqlite3_column_int64(select, 2));
      if (!ends) {
        return Error{Prefix(path_) + std::string(kOperation) + ": silence " + Quoted(row.id) +
                     " has a time out of range"};
      }
      row.ends = *ends;
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return Fail(kOperation);
    return rows;
  });
}

Result<std::size_t> Store::PruneSilences(TimePoint ended_before) {
  constexpr std::string_view kOperation = "prune silences";
  return CatchAll(path_, kOperation, [&]() -> Result<std::size_t> {
    sqlite3_stmt* prune = statements_->prune_silences.get();
    if (prune == nullptr) return ReadOnly(kOperation);
    ResetOnExit reset(prune);
    if (sqlite3_bind_int64(prune, 1, FloorMs(ended_before)) != SQLITE_OK ||
        Run(prune) != SQLITE_OK) {
      return Fail(kOperation);
    }
    return static_cast<std::size_t>(sqlite3_changes(db_));
  });
}

std::optional<Error> Store::SaveDigestRun(std::string_view name, TimePoint at) {
  constexpr std::string_view kOperation = "save digest run";
  return CatchAll(path_, kOperation, [&]() -> std::optional<Error> {
    sqlite3_stmt* upsert = statements_->upsert_digest_run.get();
    if (upsert == nullptr) return ReadOnly(kOperation);
    ResetOnExit reset(upsert);
    if (BindText(upsert, 1, name) != SQLITE_OK ||
        sqlite3_bind_int64(upsert, 2, FloorMs(at)) != SQLITE_OK || Run(upsert) != SQLITE_OK) {
      return Fail(std::string(kOperation) + " " + Quoted(name));
    }
    return std::nullopt;
  });
}

Result<std::map<std::string, TimePoint, std::less<>>> Store::LoadDigestRuns() const {
  constexpr std::string_view kOperation = "load digest runs";
  using Runs = std::map<std::string, TimePoint, std::less<>>;
  return CatchAll(path_, kOperation, [&]() -> Result<Runs> {
    Runs runs;
    sqlite3_stmt* select = statements_->select_digest_runs.get();
    if (select == nullptr) return runs;
    ResetOnExit reset(select);
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
      std::string name(ColumnText(select, 0));
      auto at = FromMs(sqlite3_column_int64(select, 1));
      if (!at) {
        return Error{Prefix(path_) + std::string(kOperation) + ": digest " + Quoted(name) +
                     " has a time out of range"};
      }
      runs.emplace(std::move(name), *at);
    }
    if (rc != SQLITE_DONE) return Fail(kOperation);
    return runs;
  });
}

std::optional<Error> Store::SavePeriods(std::span<const PeriodRow> rows) {
  constexpr std::string_view kOperation = "save goal periods";
  return CatchAll(path_, kOperation, [&]() -> std::optional<Error> {
    if (rows.empty()) return std::nullopt;
    sqlite3_stmt* upsert = statements_->upsert_period.get();
    sqlite3_stmt* remove = statements_->delete_other_open_periods.get();
    if (upsert == nullptr || remove == nullptr) return ReadOnly(kOperation);
    Transaction transaction(db_, statements_->transaction);
    if (!transaction.Begin()) return Fail(kOperation);
    auto bind_number = [&](int index, const std::optional<double>& v) {
      return v && std::isfinite(*v) ? sqlite3_bind_double(upsert, index, *v)
                                    : sqlite3_bind_null(upsert, index);
    };
    for (const PeriodRow& row : rows) {
      const std::string what = std::string(kOperation) + ": kpi " + Quoted(row.kpi) + " from " +
                               std::to_string(FloorMs(row.start)) + " ms";
      if (row.result.empty()) {
        ResetOnExit reset(remove);
        if (BindText(remove, 1, row.kpi) != SQLITE_OK ||
            sqlite3_bind_int64(remove, 2, FloorMs(row.start)) != SQLITE_OK ||
            Run(remove) != SQLITE_OK) {
          return Fail(what);
        }
      }
      ResetOnExit reset(upsert);
      if (BindText(upsert, 1, row.kpi) != SQLITE_OK ||
          sqlite3_bind_int64(upsert, 2, FloorMs(row.start)) != SQLITE_OK ||
          sqlite3_bind_int64(upsert, 3, FloorMs(row.end)) != SQLITE_OK ||
          bind_number(4, row.baseline) != SQLITE_OK ||
          sqlite3_bind_double(upsert, 5, row.target) != SQLITE_OK ||
          (row.result.empty() ? sqlite3_bind_null(upsert, 6) : BindText(upsert, 6, row.result)) !=
              SQLITE_OK ||
          bind_number(7, row.final_value) != SQLITE_OK ||
          bind_number(8, row.progress) != SQLITE_OK || Run(upsert) != SQLITE_OK) {
        return Fail(what);
      }
    }
    if (!transaction.Commit()) return Fail(kOperation);
    return std::nullopt;
  });
}

Result<StoredPeriods> Store::LoadPeriods(std::string_view kpi, std::size_t closed_limit) const {
  const std::string operation = "load goal periods of kpi " + Quoted(kpi);
  return CatchAll(path_, operation, [&]() -> Result<StoredPeriods> {
    StoredPeriods out;
    if (statements_->select_open_period == nullptr) return out;  // older schema, read-only
    auto number = [](sqlite3_stmt* stmt, int column) -> std::optional<double> {
      if (sqlite3_column_type(stmt, column) == SQLITE_NULL) return std::nullopt;
      return sqlite3_column_double(stmt, column);
    };
    // Reads the rows of a bound statement; an error for a bad row or a failed step.
    auto read = [&](sqlite3_stmt* stmt, std::vector<PeriodRow>& rows) -> std::optional<Error> {
      int rc = SQLITE_OK;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        PeriodRow row;
        row.kpi = std::string(ColumnText(stmt, 0));
        const auto start = FromMs(sqlite3_column_int64(stmt, 1));
        const auto end = FromMs(sqlite3_column_int64(stmt, 2));
        if (!start || !end) {
          return Error{Prefix(path_) + operation + ": a period has a time out of range"};
        }
        row.start = *start;
        row.end = *end;
        row.baseline = number(stmt, 3);
        row.target = sqlite3_column_double(stmt, 4);
        row.result = std::string(ColumnText(stmt, 5));
        row.final_value = number(stmt, 6);
        row.progress = number(stmt, 7);
        rows.push_back(std::move(row));
      }
      if (rc != SQLITE_DONE) return Fail(operation);
      return std::nullopt;
    };
    {
      sqlite3_stmt* select = statements_->select_open_period.get();
      ResetOnExit reset(select);
      if (BindText(select, 1, kpi) != SQLITE_OK) return Fail(operation);
      std::vector<PeriodRow> open;
      if (auto error = read(select, open)) return *std::move(error);
      if (!open.empty()) out.open = std::move(open.front());
    }
    {
      sqlite3_stmt* select = statements_->select_closed_periods.get();
      ResetOnExit reset(select);
      const auto max_limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
      if (BindText(select, 1, kpi) != SQLITE_OK ||
          sqlite3_bind_int64(select, 2,
                             static_cast<std::int64_t>(std::min(closed_limit, max_limit))) !=
              SQLITE_OK) {
        return Fail(operation);
      }
      if (auto error = read(select, out.closed)) return *std::move(error);
    }
    sqlite3_stmt* count = statements_->count_periods.get();
    ResetOnExit reset(count);
    if (BindText(count, 1, kpi) != SQLITE_OK) return Fail(operation);
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(count)) == SQLITE_ROW) {
      const auto n = static_cast<std::uint64_t>(sqlite3_column_int64(count, 1));
      if (ColumnText(count, 0) == "achieved") {
        out.achieved += n;
      } else {
        out.missed += n;
      }
    }
    if (rc != SQLITE_DONE) return Fail(operation);
    return out;
  });
}

int Store::SchemaVersion() const { return schema_version_; }

}  // namespace kpid::store
