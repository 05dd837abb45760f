#include "daemon/store/store.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include "tests/rules/rules_printers.hpp"
#include "tests/support/process.hpp"

namespace kpid::store {
namespace {

namespace fs = std::filesystem;
using rules::AlertPhase;
using rules::AlertState;
using rules::Sample;
using rules::Severity;
using rules::Status;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::TempDir;

constexpr std::int64_t kBase = 1'790'000'000'000;  // 2026-09-21, in ms since the epoch

TimePoint Ms(std::int64_t ms) { return TimePoint(milliseconds(ms)); }

// The value of a result, or a recorded failure and a default value.
template <typename T>
T Value(Result<T> result) {
  if (const Error* error = std::get_if<Error>(&result)) {
    ADD_FAILURE() << error->message;
    return T{};
  }
  return std::get<T>(std::move(result));
}

// The error message of a result, or "" (and a recorded failure) when it succeeded.
template <typename T>
std::string ErrorOf(const Result<T>& result) {
  if (const Error* error = std::get_if<Error>(&result)) return error->message;
  ADD_FAILURE() << "expected an error";
  return "";
}
std::string ErrorOf(const std::optional<Error>& error) {
  if (error) return error->message;
  ADD_FAILURE() << "expected an error";
  return "";
}

std::unique_ptr<Store> MustOpen(const std::string& path, Mode mode = Mode::kReadWrite) {
  return Value(Store::Open(path, mode));
}

void ExpectOk(const std::optional<Error>& error) {
  EXPECT_FALSE(error.has_value()) << error->message;
}

// A second, plain connection to a database, to set up and inspect files behind the store.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      ADD_FAILURE() << "sqlite3_open_v2 " << path << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void Exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (message ? message : "?");
    }
    sqlite3_free(message);
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text) out = reinterpret_cast<const char*>(text);
    } else {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(stmt);
    return out;
  }
  std::int64_t Int(const std::string& sql) { return std::stoll(Text(sql)); }

 private:
  sqlite3* db_ = nullptr;
};

// A database as a kpid with schema version 1 left it: samples only, rollback journal.
void CreateVersion1(const fs::path& path) {
  RawDb raw(path);
  raw.Exec(
      "CREATE TABLE samples(kpi TEXT NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL, "
      "PRIMARY KEY (kpi, ts_ms)) WITHOUT ROWID;"
      "INSERT INTO samples VALUES ('revenue', " +
      std::to_string(kBase) + ", 1.5), ('revenue', " + std::to_string(kBase + 1000) +
      ", 2.5), ('churn', " + std::to_string(kBase) +
      ", 0.25);"
      "PRAGMA user_version=1;");
}

std::vector<SampleRow> Ramp(const std::string& kpi, std::int64_t from_ms, int count,
                            std::int64_t step_ms = 1000) {
  std::vector<SampleRow> rows;
  rows.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    rows.push_back({kpi, {Ms(from_ms + i * step_ms), static_cast<double>(i)}});
  }
  return rows;
}

AlertState Pending(TimePoint since) {
  AlertState state;
  state.phase = AlertPhase::kPending;
  state.active_since = since;
  return state;
}

AlertState Firing(TimePoint since, TimePoint fired, Status status, Severity severity) {
  AlertState state;
  state.phase = AlertPhase::kFiring;
  state.active_since = since;
  state.fired_at = fired;
  state.status = status;
  state.severity = severity;
  return state;
}

AlertRow Alert(const std::string& kpi, const std::string& name, AlertState state) {
  return {kpi + "/" + name, kpi, state};
}

class StoreTest : public ::testing::Test {
 protected:
  std::string DbPath(const std::string& name = "kpid.db") const { return dir_.path() / name; }
  TempDir dir_;
};

TEST_F(StoreTest, SamplesRoundTripAtMillisecondPrecisionOldestFirst) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  const std::vector<SampleRow> rows = {
      {"revenue", {Ms(kBase + 2000) + microseconds(999), 3.5}},
      {"revenue", {Ms(kBase), 1.0}},
      {"revenue", {Ms(kBase + 1000) + nanoseconds(123'456), 2.25}},
      {"churn", {Ms(kBase + 500), 9.0}},
      // Before the epoch: the floor, not the truncation toward zero.
      {"old", {Ms(-2) + microseconds(500), -1.0}},
  };
  ExpectOk(store->AppendSamples(rows));

  EXPECT_THAT(Value(store->Samples("revenue", TimePoint::min(), 100)),
              ElementsAre(Sample{Ms(kBase), 1.0}, Sample{Ms(kBase + 1000), 2.25},
                          Sample{Ms(kBase + 2000), 3.5}));
  EXPECT_THAT(Value(store->Samples("churn", TimePoint::min(), 100)),
              ElementsAre(Sample{Ms(kBase + 500), 9.0}));
  EXPECT_THAT(Value(store->Samples("old", TimePoint::min(), 100)),
              ElementsAre(Sample{Ms(-2), -1.0}));
  EXPECT_THAT(Value(store->Samples("missing", TimePoint::min(), 100)), IsEmpty());
}

TEST_F(StoreTest, LimitKeepsTheNewestSamples) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  ExpectOk(store->AppendSamples(Ramp("revenue", kBase, 10)));

  EXPECT_THAT(Value(store->Samples("revenue", TimePoint::min(), 3)),
              ElementsAre(Sample{Ms(kBase + 7000), 7}, Sample{Ms(kBase + 8000), 8},
                          Sample{Ms(kBase + 9000), 9}));
  EXPECT_THAT(Value(store->Samples("revenue", TimePoint::min(), 0)), IsEmpty());
  EXPECT_EQ(
      Value(store->Samples("revenue", TimePoint::min(), std::numeric_limits<std::size_t>::max()))
          .size(),
      10u);
}

TEST_F(StoreTest, SinceIsInclusiveAndExact) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  ExpectOk(store->AppendSamples(Ramp("revenue", kBase, 5)));

  EXPECT_THAT(Value(store->Samples("revenue", Ms(kBase + 3000), 100)),
              ElementsAre(Sample{Ms(kBase + 3000), 3}, Sample{Ms(kBase + 4000), 4}));
  // Every sample returned is at or after `since`, also below a millisecond.
  EXPECT_THAT(Value(store->Samples("revenue", Ms(kBase + 3000) + nanoseconds(1), 100)),
              ElementsAre(Sample{Ms(kBase + 4000), 4}));
  // With both: the newest of those since.
  EXPECT_THAT(Value(store->Samples("revenue", Ms(kBase + 1000), 2)),
              ElementsAre(Sample{Ms(kBase + 3000), 3}, Sample{Ms(kBase + 4000), 4}));
  EXPECT_THAT(Value(store->Samples("revenue", Ms(kBase + 5000), 100)), IsEmpty());
}

TEST_F(StoreTest, SampleInTheSameMillisecondReplaces) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  ExpectOk(store->AppendSamples(
      std::vector<SampleRow>{{"revenue", {Ms(kBase) + microseconds(200), 1}}}));
  ExpectOk(store->AppendSamples(
      std::vector<SampleRow>{{"revenue", {Ms(kBase) + microseconds(700), 2}}}));
  EXPECT_THAT(Value(store->Samples("revenue", TimePoint::min(), 100)),
              ElementsAre(Sample{Ms(kBase), 2}));

  // Within one batch the last one wins.
  ExpectOk(store->AppendSamples(std::vector<SampleRow>{{"revenue", {Ms(kBase + 1000), 3}},
                                                       {"revenue", {Ms(kBase + 1000), 4}}}));
  EXPECT_THAT(Value(store->Samples("revenue", TimePoint::min(), 100)),
              ElementsAre(Sample{Ms(kBase), 2}, Sample{Ms(kBase + 1000), 4}));
}

TEST_F(StoreTest, LatestSampleIsTheNewestWhateverTheOrderOfAppends) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Value(store->LatestSample("revenue")), std::nullopt);
  ExpectOk(store->AppendSamples(std::vector<SampleRow>{{"revenue", {Ms(kBase + 5000), 5}},
                                                       {"churn", {Ms(kBase + 9000), 9}}}));
  ExpectOk(store->AppendSamples(std::vector<SampleRow>{{"revenue", {Ms(kBase + 1000), 1}}}));
  EXPECT_EQ(Value(store->LatestSample("revenue")), (Sample{Ms(kBase + 5000), 5}));
  EXPECT_EQ(Value(store->LatestSample("churn")), (Sample{Ms(kBase + 9000), 9}));
  EXPECT_EQ(Value(store->LatestSample("missing")), std::nullopt);
}

TEST_F(StoreTest, NanRefusesTheWholeBatchAndInfinityIsKept) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  const std::string message = ErrorOf(store->AppendSamples(std::vector<SampleRow>{
      {"revenue", {Ms(kBase), 1}}, {"revenue", {Ms(kBase + 1000), std::nan("")}}}));
  EXPECT_THAT(message, HasSubstr("store " + DbPath() + ": append samples"));
  EXPECT_THAT(message, HasSubstr("\"revenue\""));
  EXPECT_THAT(message, HasSubstr("NaN"));
  EXPECT_THAT(Value(store->Samples("revenue", TimePoint::min(), 100)), IsEmpty());

  const double inf = std::numeric_limits<double>::infinity();
  ExpectOk(store->AppendSamples(std::vector<SampleRow>{{"revenue", {Ms(kBase), inf}}}));
  EXPECT_THAT(Value(store->Samples("revenue", TimePoint::min(), 100)),
              ElementsAre(Sample{Ms(kBase), inf}));
}

TEST_F(StoreTest, EmptyWritesAreNoOps) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  ExpectOk(store->AppendSamples({}));
  ExpectOk(store->SaveAlerts({}));
  EXPECT_EQ(Value(store->Prune(Ms(kBase))), 0u);
  EXPECT_EQ(Value(store->RetainAlerts({})), 0u);
}

TEST_F(StoreTest, PruneDeletesOlderSamplesOfEveryKpi) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  ExpectOk(store->AppendSamples(Ramp("a", kBase, 10)));
  ExpectOk(store->AppendSamples(Ramp("b", kBase, 10)));
  ExpectOk(store->AppendSamples(Ramp("c", kBase + 8000, 3)));  // 8000..10000
  ExpectOk(store->AppendSamples(Ramp("", kBase, 2)));          // the empty name too

  EXPECT_EQ(Value(store->Prune(Ms(kBase + 5000))), 5u + 5u + 0u + 2u);
  EXPECT_EQ(Value(store->Samples("a", TimePoint::min(), 100)).front(),
            (Sample{Ms(kBase + 5000), 5}));
  EXPECT_EQ(Value(store->Samples("b", TimePoint::min(), 100)).size(), 5u);
  EXPECT_EQ(Value(store->Samples("c", TimePoint::min(), 100)).size(), 3u);
  EXPECT_THAT(Value(store->Samples("", TimePoint::min(), 100)), IsEmpty());
  EXPECT_EQ(Value(store->Prune(Ms(kBase + 5000))), 0u);

  // "Older than before" holds for the stored time: 5000 ms is older than 5000 ms + 1 ns.
  EXPECT_EQ(Value(store->Prune(Ms(kBase + 5000) + nanoseconds(1))), 2u);
  EXPECT_EQ(Value(store->Samples("a", TimePoint::min(), 100)).front(),
            (Sample{Ms(kBase + 6000), 6}));

  EXPECT_EQ(Value(store->Prune(TimePoint::max())), 4u + 4u + 3u);
  EXPECT_EQ(Value(store->LatestSample("c")), std::nullopt);
}

TEST_F(StoreTest, AlertsRoundTripInEveryPhase) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  std::vector<AlertRow> rows;
  int n = 0;
  for (AlertPhase phase :
       {AlertPhase::kInactive, AlertPhase::kPending, AlertPhase::kFiring, AlertPhase::kResolved}) {
    for (bool with_optionals : {false, true}) {
      AlertState state;
      state.phase = phase;
      state.severity = static_cast<Severity>(n % 3);
      if (with_optionals) {
        state.active_since = Ms(kBase + n);
        state.fired_at = Ms(kBase + 1000 + n);
        state.resolved_at = Ms(kBase + 2000 + n);
        state.status = rules::kAllStatuses[static_cast<std::size_t>(n) % 6];
      }
      rows.push_back(Alert("kpi" + std::to_string(n), "goal", state));
      ++n;
    }
  }
  ExpectOk(store->SaveAlerts(rows));
  const std::vector<AlertRow> loaded = Value(store->LoadAlerts());
  ASSERT_EQ(loaded.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {  // ids sort like the rows were made
    EXPECT_EQ(loaded[i].id, rows[i].id);
    EXPECT_EQ(loaded[i].kpi, rows[i].kpi);
    EXPECT_EQ(loaded[i].state, rows[i].state) << rows[i].id;
  }

  // Every status survives too.
  std::vector<AlertRow> by_status;
  for (Status status : rules::kAllStatuses) {
    AlertState state;
    state.phase = AlertPhase::kFiring;
    state.status = status;
    by_status.push_back(Alert("s", std::string(rules::StatusName(status)), state));
  }
  ExpectOk(store->SaveAlerts(by_status));
  for (const AlertRow& row : Value(store->LoadAlerts())) {
    if (row.kpi == "s") {
      EXPECT_EQ(rules::StatusName(*row.state.status), row.id.substr(2));
    }
  }
}

TEST_F(StoreTest, SaveAlertsUpserts) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  const AlertState pending = Pending(Ms(kBase));
  ExpectOk(store->SaveAlerts(
      std::vector<AlertRow>{Alert("revenue", "goal", pending), Alert("revenue", "drop", pending)}));
  const AlertState firing =
      Firing(Ms(kBase), Ms(kBase + 60'000), Status::kOffTrack, Severity::kCritical);
  ExpectOk(store->SaveAlerts(std::vector<AlertRow>{Alert("revenue", "goal", firing)}));

  const std::vector<AlertRow> loaded = Value(store->LoadAlerts());
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].id, "revenue/drop");
  EXPECT_EQ(loaded[0].state, pending);
  EXPECT_EQ(loaded[1].id, "revenue/goal");
  EXPECT_EQ(loaded[1].state, firing);

  // Back to inactive clears the optional fields.
  ExpectOk(store->SaveAlerts(std::vector<AlertRow>{Alert("revenue", "goal", AlertState{})}));
  EXPECT_EQ(Value(store->LoadAlerts())[1].state, AlertState{});
}

TEST_F(StoreTest, RetainAlertsDeletesTheOthers) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  std::vector<AlertRow> rows;
  for (const char* kpi : {"a", "b", "c"}) {
    rows.push_back(Alert(kpi, "goal", {}));
    rows.push_back(Alert(kpi, "rule", {}));
  }
  ExpectOk(store->SaveAlerts(rows));

  const std::vector<std::string> keep = {"a/goal", "a/rule", "c/rule", "never/saved"};
  EXPECT_EQ(Value(store->RetainAlerts(keep)), 3u);
  std::vector<std::string> ids;
  for (const AlertRow& row : Value(store->LoadAlerts())) ids.push_back(row.id);
  EXPECT_THAT(ids, ElementsAre("a/goal", "a/rule", "c/rule"));

  // A large keep list.
  std::vector<std::string> many = {"a/goal", "c/rule"};
  for (int i = 0; i < 100'000; ++i) many.push_back("kpi" + std::to_string(i) + "/goal");
  EXPECT_EQ(Value(store->RetainAlerts(many)), 1u);
  EXPECT_EQ(Value(store->LoadAlerts()).size(), 2u);

  EXPECT_EQ(Value(store->RetainAlerts({})), 2u);
  EXPECT_THAT(Value(store->LoadAlerts()), IsEmpty());
}

TEST_F(StoreTest, PersistsAcrossReopenInWalMode) {
  const AlertState firing =
      Firing(Ms(kBase), Ms(kBase + 1000), Status::kMissed, Severity::kCritical);
  {
    auto store = MustOpen(DbPath());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->path(), DbPath());
    EXPECT_EQ(store->SchemaVersion(), Store::kSchemaVersion);
    ExpectOk(store->AppendSamples(Ramp("revenue", kBase, 3)));
    ExpectOk(store->SaveAlerts(std::vector<AlertRow>{Alert("revenue", "goal", firing)}));
    RawDb raw(DbPath());
    EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
    EXPECT_TRUE(fs::exists(DbPath() + "-wal"));
  }
  // The last connection to close checkpointed the WAL into the database.
  EXPECT_FALSE(fs::exists(DbPath() + "-wal"));
  {
    RawDb raw(DbPath());
    EXPECT_EQ(raw.Int("SELECT count(*) FROM samples"), 3);
    EXPECT_EQ(raw.Int("PRAGMA user_version"), Store::kSchemaVersion);
  }

  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Value(store->Samples("revenue", TimePoint::min(), 100)).size(), 3u);
  const std::vector<AlertRow> alerts = Value(store->LoadAlerts());
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state, firing);
}

TEST_F(StoreTest, InMemoryDatabasesArePrivate) {
  auto first = MustOpen(":memory:");
  auto second = MustOpen(":memory:");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(first->SchemaVersion(), Store::kSchemaVersion);
  ExpectOk(first->AppendSamples(Ramp("revenue", kBase, 2)));
  ExpectOk(first->SaveAlerts(std::vector<AlertRow>{Alert("revenue", "goal", {})}));
  EXPECT_EQ(Value(first->Samples("revenue", TimePoint::min(), 10)).size(), 2u);
  EXPECT_EQ(Value(first->LoadAlerts()).size(), 1u);
  EXPECT_THAT(Value(second->Samples("revenue", TimePoint::min(), 10)), IsEmpty());
  EXPECT_FALSE(fs::exists(":memory:"));
}

TEST_F(StoreTest, MigratesVersion1Forward) {
  CreateVersion1(DbPath());
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->SchemaVersion(), Store::kSchemaVersion);
  EXPECT_THAT(Value(store->Samples("revenue", TimePoint::min(), 10)),
              ElementsAre(Sample{Ms(kBase), 1.5}, Sample{Ms(kBase + 1000), 2.5}));
  EXPECT_EQ(Value(store->LatestSample("churn")), (Sample{Ms(kBase), 0.25}));
  EXPECT_THAT(Value(store->LoadAlerts()), IsEmpty());
  ExpectOk(store->SaveAlerts(std::vector<AlertRow>{Alert("revenue", "goal", {})}));
  EXPECT_EQ(Value(store->LoadAlerts()).size(), 1u);

  EXPECT_THAT(Value(store->LoadOutbox()), IsEmpty());

  RawDb raw(DbPath());
  EXPECT_EQ(raw.Int("PRAGMA user_version"), Store::kSchemaVersion);
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
}

TEST_F(StoreTest, RefusesANewerSchema) {
  {
    RawDb raw(DbPath());
    raw.Exec("CREATE TABLE future(x); PRAGMA user_version=99;");
  }
  for (Mode mode : {Mode::kReadWrite, Mode::kReadOnly}) {
    const std::string message = ErrorOf(Store::Open(DbPath(), mode));
    EXPECT_THAT(message, HasSubstr("store " + DbPath() + ": "));
    EXPECT_THAT(message, HasSubstr("schema version 99 is newer than this kpid supports (" +
                                   std::to_string(Store::kSchemaVersion) + ")"));
  }
  RawDb raw(DbPath());
  EXPECT_EQ(raw.Int("PRAGMA user_version"), 99);
}

TEST_F(StoreTest, RefusesAFileThatIsNotADatabase) {
  dir_.Write("kpid.db", std::string(4096, 'x'));
  for (Mode mode : {Mode::kReadWrite, Mode::kReadOnly}) {
    const std::string message = ErrorOf(Store::Open(DbPath(), mode));
    EXPECT_THAT(message, HasSubstr("store " + DbPath() + ": cannot open: "));
    EXPECT_THAT(message, HasSubstr("not a database"));
  }
  EXPECT_EQ(fs::file_size(DbPath()), 4096u);
}

TEST_F(StoreTest, RefusesADatabaseOfSomethingElse) {
  {
    RawDb raw(DbPath());
    raw.Exec("CREATE TABLE samples(whatever TEXT)");
  }
  EXPECT_THAT(ErrorOf(Store::Open(DbPath())), HasSubstr("not a kpid database"));
  RawDb raw(DbPath());
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master"), 1);
  EXPECT_EQ(raw.Int("PRAGMA user_version"), 0);
}

TEST_F(StoreTest, MissingDirectory) {
  const std::string path = (dir_.path() / "nope" / "kpid.db").string();
  for (Mode mode : {Mode::kReadWrite, Mode::kReadOnly}) {
    EXPECT_EQ(ErrorOf(Store::Open(path, mode)), "store " + path + ": cannot open: directory " +
                                                    (dir_.path() / "nope").string() +
                                                    " does not exist");
  }
  EXPECT_FALSE(fs::exists(dir_.path() / "nope"));
}

TEST_F(StoreTest, ParentIsAFile) {
  dir_.Write("plain", "text");
  const std::string path = (dir_.path() / "plain" / "kpid.db").string();
  EXPECT_THAT(
      ErrorOf(Store::Open(path)),
      HasSubstr(": cannot open: " + (dir_.path() / "plain").string() + " is not a directory"));
}

TEST_F(StoreTest, PathIsADirectory) {
  fs::create_directory(dir_.path() / "sub");
  EXPECT_THAT(ErrorOf(Store::Open((dir_.path() / "sub").string())),
              HasSubstr(": cannot open: it is a directory"));
}

TEST_F(StoreTest, EmptyPath) {
  EXPECT_THAT(ErrorOf(Store::Open("")), HasSubstr("no database path"));
}

// Restores a directory's permissions, so that TempDir can remove it.
class Chmod {
 public:
  Chmod(fs::path path, fs::perms perms) : path_(std::move(path)) {
    old_ = fs::status(path_).permissions();
    fs::permissions(path_, perms);
  }
  ~Chmod() { fs::permissions(path_, old_); }
  Chmod(const Chmod&) = delete;
  Chmod& operator=(const Chmod&) = delete;

 private:
  fs::path path_;
  fs::perms old_;
};

TEST_F(StoreTest, ReadOnlyDirectory) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores permissions (ParentIsAFile covers the path)";
  fs::create_directory(dir_.path() / "ro");
  const std::string path = (dir_.path() / "ro" / "kpid.db").string();
  Chmod chmod(dir_.path() / "ro", fs::perms(0555));
  EXPECT_EQ(ErrorOf(Store::Open(path)), "store " + path + ": cannot open: directory " +
                                            (dir_.path() / "ro").string() + " is not writable");
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(StoreTest, ExistingDatabaseInAReadOnlyDirectory) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores permissions";
  fs::create_directory(dir_.path() / "ro");
  const std::string path = (dir_.path() / "ro" / "kpid.db").string();
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    ExpectOk(store->AppendSamples(Ramp("revenue", kBase, 1)));
  }
  Chmod chmod(dir_.path() / "ro", fs::perms(0555));
  EXPECT_THAT(ErrorOf(Store::Open(path)),
              HasSubstr(": cannot open: directory " + (dir_.path() / "ro").string() +
                        " is not writable (SQLite keeps the -wal and -shm files"));
}

TEST_F(StoreTest, ReadOnlyFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores permissions";
  {
    auto store = MustOpen(DbPath());
    ASSERT_NE(store, nullptr);
    ExpectOk(store->AppendSamples(Ramp("revenue", kBase, 1)));
  }
  Chmod chmod(DbPath(), fs::perms(0444));
  EXPECT_THAT(ErrorOf(Store::Open(DbPath())), HasSubstr(": cannot open: the file is not writable"));
  auto reader = MustOpen(DbPath(), Mode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(Value(reader->Samples("revenue", TimePoint::min(), 10)).size(), 1u);
}

TEST_F(StoreTest, ReadOnlyModeNeverCreatesTheFile) {
  EXPECT_THAT(ErrorOf(Store::Open(DbPath(), Mode::kReadOnly)),
              HasSubstr("store " + DbPath() + ": cannot open: the file does not exist"));
  EXPECT_FALSE(fs::exists(DbPath()));
  // An empty file is not a kpid database either, and stays empty.
  dir_.Write("kpid.db", "");
  EXPECT_THAT(ErrorOf(Store::Open(DbPath(), Mode::kReadOnly)), HasSubstr("not a kpid database"));
  EXPECT_EQ(fs::file_size(DbPath()), 0u);
}

TEST_F(StoreTest, ReadOnlyModeReadsAndNeverWrites) {
  {
    auto store = MustOpen(DbPath());
    ASSERT_NE(store, nullptr);
    ExpectOk(store->AppendSamples(Ramp("revenue", kBase, 3)));
    ExpectOk(store->SaveAlerts(std::vector<AlertRow>{Alert("revenue", "goal", {})}));
  }
  auto reader = MustOpen(DbPath(), Mode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->SchemaVersion(), Store::kSchemaVersion);
  EXPECT_EQ(Value(reader->Samples("revenue", TimePoint::min(), 10)).size(), 3u);
  EXPECT_EQ(Value(reader->LoadAlerts()).size(), 1u);

  EXPECT_THAT(ErrorOf(reader->AppendSamples(Ramp("revenue", kBase + 10'000, 1))),
              HasSubstr("store " + DbPath() + ": append samples: "));
  EXPECT_THAT(ErrorOf(reader->SaveAlerts(std::vector<AlertRow>{Alert("churn", "goal", {})})),
              HasSubstr(": save alerts: "));
  EXPECT_THAT(ErrorOf(reader->Prune(TimePoint::max())), HasSubstr(": prune samples"));
  EXPECT_THAT(ErrorOf(reader->RetainAlerts({})), HasSubstr(": retain alerts: "));
  // Still readable after the refused writes.
  EXPECT_EQ(Value(reader->Samples("revenue", TimePoint::min(), 10)).size(), 3u);
  reader.reset();

  RawDb raw(DbPath());
  EXPECT_EQ(raw.Int("SELECT count(*) FROM samples"), 3);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM alerts"), 1);
}

TEST_F(StoreTest, ReadOnlyModeSeesWhatTheDaemonCommits) {
  auto writer = MustOpen(DbPath());
  ASSERT_NE(writer, nullptr);
  auto reader = MustOpen(DbPath(), Mode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  ExpectOk(writer->AppendSamples(Ramp("revenue", kBase, 2)));
  EXPECT_EQ(Value(reader->LatestSample("revenue")), (Sample{Ms(kBase + 1000), 1}));
  ExpectOk(writer->AppendSamples(Ramp("revenue", kBase + 5000, 1)));
  EXPECT_EQ(Value(reader->LatestSample("revenue")), (Sample{Ms(kBase + 5000), 0}));
}

TEST_F(StoreTest, ReadOnlyModeReadsVersion1WithoutMigrating) {
  CreateVersion1(DbPath());
  auto reader = MustOpen(DbPath(), Mode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->SchemaVersion(), 1);
  EXPECT_EQ(Value(reader->Samples("revenue", TimePoint::min(), 10)).size(), 2u);
  EXPECT_THAT(Value(reader->LoadAlerts()), IsEmpty());
  EXPECT_THAT(ErrorOf(reader->SaveAlerts(std::vector<AlertRow>{Alert("revenue", "goal", {})})),
              HasSubstr("read-only"));
  reader.reset();
  RawDb raw(DbPath());
  EXPECT_EQ(raw.Int("PRAGMA user_version"), 1);
}

TEST_F(StoreTest, ReadOnlyInMemoryIsEmptyAndRefusesWrites) {
  auto reader = MustOpen(":memory:", Mode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->SchemaVersion(), Store::kSchemaVersion);
  EXPECT_THAT(Value(reader->Samples("revenue", TimePoint::min(), 10)), IsEmpty());
  EXPECT_THAT(Value(reader->LoadAlerts()), IsEmpty());
  EXPECT_THAT(ErrorOf(reader->AppendSamples(Ramp("revenue", kBase, 1))), HasSubstr("readonly"));
}

// A write that fails inside its transaction (injected with a trigger through a second
// connection, which works for root too) leaves nothing behind, names the file, the
// operation and the row, and the store works again once the cause is gone.
TEST_F(StoreTest, FailedWriteRollsBackTheWholeTransaction) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  ExpectOk(store->AppendSamples(Ramp("revenue", kBase, 3)));
  ExpectOk(store->SaveAlerts(std::vector<AlertRow>{Alert("revenue", "goal", {})}));
  RawDb raw(DbPath());
  raw.Exec("CREATE TRIGGER fail_insert BEFORE INSERT ON samples WHEN NEW.ts_ms = " +
           std::to_string(kBase + 11'000) + " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  raw.Exec("CREATE TRIGGER fail_delete BEFORE DELETE ON samples WHEN OLD.ts_ms = " +
           std::to_string(kBase + 1000) + " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  raw.Exec(
      "CREATE TRIGGER fail_alert BEFORE INSERT ON alerts WHEN NEW.id = 'churn/goal' "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
      "CREATE TRIGGER fail_alert_delete BEFORE DELETE ON alerts "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");

  EXPECT_EQ(ErrorOf(store->AppendSamples(Ramp("revenue", kBase + 10'000, 3))),
            "store " + DbPath() + ": append samples: kpi \"revenue\" at " +
                std::to_string(kBase + 11'000) + " ms: injected failure");
  EXPECT_EQ(Value(store->Samples("revenue", TimePoint::min(), 100)).size(), 3u);

  EXPECT_EQ(ErrorOf(store->Prune(Ms(kBase + 3000))),
            "store " + DbPath() + ": prune samples of kpi \"revenue\": injected failure");
  EXPECT_EQ(Value(store->Samples("revenue", TimePoint::min(), 100)).size(), 3u);

  EXPECT_EQ(ErrorOf(store->SaveAlerts(std::vector<AlertRow>{
                Alert("a", "goal", {}), Alert("churn", "goal", {}), Alert("z", "goal", {})})),
            "store " + DbPath() + ": save alerts: alert \"churn/goal\": injected failure");
  EXPECT_EQ(Value(store->LoadAlerts()).size(), 1u);

  EXPECT_THAT(ErrorOf(store->RetainAlerts({})),
              HasSubstr(": retain alerts: alert \"revenue/goal\": injected failure"));
  EXPECT_EQ(Value(store->LoadAlerts()).size(), 1u);

  raw.Exec(
      "DROP TRIGGER fail_insert; DROP TRIGGER fail_delete; DROP TRIGGER fail_alert;"
      "DROP TRIGGER fail_alert_delete;");
  ExpectOk(store->AppendSamples(Ramp("revenue", kBase + 10'000, 3)));
  EXPECT_EQ(Value(store->Prune(Ms(kBase + 3000))), 3u);
  EXPECT_EQ(Value(store->Samples("revenue", TimePoint::min(), 100)).size(), 3u);
  ExpectOk(store->SaveAlerts(std::vector<AlertRow>{Alert("churn", "goal", {})}));
  EXPECT_EQ(Value(store->RetainAlerts({})), 2u);
}

TEST_F(StoreTest, UnreadableAlertRowsNameTheAlert) {
  struct Case {
    std::string values;  // phase, active_since_ms, status, severity
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"'firing', NULL, 'sideways', 'critical'", "unknown status \"sideways\""},
      {"'exploded', NULL, NULL, 'critical'", "unknown phase \"exploded\""},
      {"'firing', NULL, 'missed', 'meh'", "unknown severity \"meh\""},
      {"'pending', 'yesterday', NULL, 'warning'",
       "active_since_ms is not a timestamp in milliseconds: \"yesterday\""},
  };
  for (const Case& c : cases) {
    auto store = MustOpen(DbPath());
    ASSERT_NE(store, nullptr);
    {
      RawDb raw(DbPath());
      raw.Exec(
          "DELETE FROM alerts; INSERT INTO alerts(id, kpi, phase, active_since_ms, status, "
          "severity) VALUES ('revenue/goal', 'revenue', " +
          c.values + ")");
    }
    EXPECT_EQ(ErrorOf(store->LoadAlerts()),
              "store " + DbPath() + ": load alerts: alert \"revenue/goal\": " + c.expected);
  }
}

TEST_F(StoreTest, OutboxRoundTripAndNoticesCommitTogether) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  OutboxRow row;
  row.receiver = "mail";
  row.payload = R"({"alerts":[]})";
  row.created = Ms(kBase);
  row.expires = Ms(kBase + 86'400'000);
  row.next_attempt = Ms(kBase);
  const std::vector<NoticeRow> notices = {
      {"mail", "revenue/goal", true, "off_track", "critical", Ms(kBase)},
      {"mail", "churn/jump", true, "", "warning", Ms(kBase)}};
  const std::int64_t first = Value(store->Enqueue(row, notices));
  row.payload = R"({"second":true})";
  const std::int64_t second = Value(store->Enqueue(row, {}));
  EXPECT_GT(second, first);

  row.id = first;
  row.attempts = 2;
  row.next_attempt = Ms(kBase + 4000);
  row.last_error = "webhook \"mail\": HTTP 500";
  ExpectOk(store->UpdateOutbox(row));
  ExpectOk(store->SaveNotices(std::vector<NoticeRow>{
      {"mail", "revenue/goal", false, "on_track", "critical", Ms(kBase + 5000)}}));

  // Everything survives a reopen; ids are never reused after a delete.
  store.reset();
  store = MustOpen(DbPath());
  std::vector<OutboxRow> rows = Value(store->LoadOutbox());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, first);
  EXPECT_EQ(rows[0].attempts, 2);
  EXPECT_EQ(rows[0].next_attempt, Ms(kBase + 4000));
  EXPECT_EQ(rows[0].expires, Ms(kBase + 86'400'000));
  EXPECT_EQ(rows[0].last_error, "webhook \"mail\": HTTP 500");
  EXPECT_EQ(rows[1].payload, R"({"second":true})");
  ExpectOk(store->DeleteOutbox(second));
  row.id = 0;
  EXPECT_GT(Value(store->Enqueue(row, {})), second);

  std::vector<NoticeRow> loaded = Value(store->LoadNotices());
  std::sort(loaded.begin(), loaded.end(),
            [](const auto& a, const auto& b) { return a.alert < b.alert; });
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].alert, "churn/jump");
  EXPECT_TRUE(loaded[0].firing);
  EXPECT_EQ(loaded[1].alert, "revenue/goal");
  EXPECT_FALSE(loaded[1].firing);
  EXPECT_EQ(loaded[1].status, "on_track");
  EXPECT_EQ(loaded[1].at, Ms(kBase + 5000));

  // Dropping an alert's state drops what receivers were told about it.
  ExpectOk(store->SaveAlerts(
      std::vector<AlertRow>{Alert("revenue", "goal", {}), Alert("churn", "jump", {})}));
  EXPECT_EQ(Value(store->RetainAlerts(std::vector<std::string>{"revenue/goal"})), 1u);
  ASSERT_EQ(Value(store->LoadNotices()).size(), 1u);
  EXPECT_EQ(Value(store->LoadNotices())[0].alert, "revenue/goal");
}

TEST_F(StoreTest, EnqueueIsAllOrNothing) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  RawDb raw(DbPath());
  raw.Exec(
      "CREATE TRIGGER fail_notice BEFORE INSERT ON notices WHEN NEW.alert = 'bad/goal' "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  OutboxRow row;
  row.receiver = "hook";
  row.payload = "{}";
  const std::vector<NoticeRow> notices = {{"hook", "ok/goal", true, "", "warning", Ms(kBase)},
                                          {"hook", "bad/goal", true, "", "warning", Ms(kBase)}};
  EXPECT_EQ(ErrorOf(store->Enqueue(row, notices)),
            "store " + DbPath() +
                ": enqueue notification: notice of alert \"bad/goal\" for receiver \"hook\": "
                "injected failure");
  EXPECT_THAT(Value(store->LoadOutbox()), IsEmpty()) << "the notification is not queued";
  EXPECT_THAT(Value(store->LoadNotices()), IsEmpty());
}

TEST_F(StoreTest, RangeReadsTheNewestSamplesBeforeUntil) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  const std::vector<SampleRow> rows = {{"k", {Ms(kBase), 1}},
                                       {"k", {Ms(kBase + 1000), 2}},
                                       {"k", {Ms(kBase + 2000), 3}},
                                       {"k", {Ms(kBase + 3000), 4}}};
  ASSERT_EQ(store->AppendSamples(rows), std::nullopt);
  auto range = Value(store->Samples("k", Ms(kBase), Ms(kBase + 3000), 10));
  ASSERT_EQ(range.size(), 3U);  // until is exclusive
  EXPECT_EQ(range.back().value, 3);
  auto newest = Value(store->Samples("k", Ms(kBase), Ms(kBase + 3000), 1));
  ASSERT_EQ(newest.size(), 1U);
  EXPECT_EQ(newest[0].value, 3);
  EXPECT_EQ(Value(store->Samples("k", Ms(kBase), Ms(kBase), 10)).size(), 0U);
}

TEST_F(StoreTest, SilencesUpsertByIdAndPruneByEnd) {
  auto store = MustOpen(DbPath());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->SaveSilence({"a", R"({"v":1})", Ms(kBase + 1000)}), std::nullopt);
  EXPECT_EQ(store->SaveSilence({"b", R"({"v":2})", Ms(kBase + 5000)}), std::nullopt);
  EXPECT_EQ(store->SaveSilence({"a", R"({"v":3})", Ms(kBase + 2000)}), std::nullopt);
  std::vector<SilenceRow> rows = Value(store->LoadSilences());
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0].id, "a");
  EXPECT_EQ(rows[0].body, R"({"v":3})");
  EXPECT_EQ(rows[0].ends, Ms(kBase + 2000));
  EXPECT_EQ(Value(store->PruneSilences(Ms(kBase + 3000))), 1U);
  rows = Value(store->LoadSilences());
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].id, "b");
}

TEST_F(StoreTest, DigestRunsSurviveReopening) {
  {
    auto store = MustOpen(DbPath());
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(Value(store->LoadDigestRuns()).empty());
    EXPECT_EQ(store->SaveDigestRun("weekly", Ms(kBase)), std::nullopt);
    EXPECT_EQ(store->SaveDigestRun("weekly", Ms(kBase + 60'000)), std::nullopt);
    EXPECT_EQ(store->SaveDigestRun("daily", Ms(kBase + 5)), std::nullopt);
  }
  auto reader = MustOpen(DbPath(), Mode::kReadOnly);
  ASSERT_NE(reader, nullptr);
  auto runs = Value(reader->LoadDigestRuns());
  ASSERT_EQ(runs.size(), 2U);
  EXPECT_EQ(runs.at("weekly"), Ms(kBase + 60'000));
  EXPECT_EQ(runs.at("daily"), Ms(kBase + 5));
  EXPECT_NE(reader->SaveDigestRun("weekly", Ms(kBase)), std::nullopt);  // read-only
}

}  // namespace
}  // namespace kpid::store
