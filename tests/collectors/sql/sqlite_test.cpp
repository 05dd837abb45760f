// The sql collector against real SQLite files. This file uses <sqlite3.h> to build the
// fixtures, so it must not include SOCI's sqlite3 backend header.
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tests/collectors/sql/harness.hpp"
#include "tests/support/process.hpp"

namespace kpid::collectors::sql::testing {
namespace {

using kpid::testing::TempDir;

void Exec(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(handle);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

class SqliteCollector : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.path() / "kpis.db";
    Exec(db_,
         "CREATE TABLE v (i INTEGER, big INTEGER, r REAL, d DECIMAL(10,2), n NUMERIC, t TEXT,"
         " nul INTEGER, day DATE);"
         "INSERT INTO v VALUES (42, 1099511627776, 2.5, 12.34, 7, '3.25', NULL, '2026-10-01');"
         "CREATE TABLE words (w TEXT); INSERT INTO words VALUES ('abc');"
         "CREATE TABLE hist (ts TEXT, value REAL);"
         "INSERT INTO hist VALUES ('2026-10-03T00:00:00Z', 3), ('2026-10-01', 1),"
         " ('not a date', 9), ('2026-10-02 12:00:00', 2), ('2026-10-04', NULL);"
         "CREATE TABLE hist_epoch (ts INTEGER, value INTEGER);"
         "INSERT INTO hist_epoch VALUES (1790000000, 10), (1790003600, 11);"
         "CREATE TABLE hist_dt (ts DATETIME, value NUMERIC);"
         "INSERT INTO hist_dt VALUES ('2026-10-01 06:00:00', 5), ('garbage', 6);"
         "CREATE TABLE mixed (i INTEGER); INSERT INTO mixed VALUES (2.5);");
  }

  config::Source Source(std::chrono::milliseconds timeout = 10s) {
    return MakeSource("files", Driver::kSqlite3, db_.string(), std::nullopt, timeout);
  }

  TempDir dir_;
  std::filesystem::path db_;
};

TEST_F(SqliteCollector, ReadsEveryNumericType) {
  Harness h(Source());
  EXPECT_EQ(ValueOf(h.Collect("SELECT i FROM v")), 42);
  EXPECT_EQ(ValueOf(h.Collect("SELECT big FROM v")), 1099511627776.0);
  EXPECT_EQ(ValueOf(h.Collect("SELECT r FROM v")), 2.5);
  EXPECT_DOUBLE_EQ(ValueOf(h.Collect("SELECT d FROM v")), 12.34);
  EXPECT_EQ(ValueOf(h.Collect("SELECT n FROM v")), 7);
  EXPECT_EQ(ValueOf(h.Collect("SELECT t FROM v")), 3.25);
  EXPECT_EQ(ValueOf(h.Collect("SELECT 1 + 1")), 2);
  EXPECT_EQ(ValueOf(h.Collect("SELECT 1099511627776 * 2")), 2199023255552.0);
  // SQLite types values, not columns: a REAL in an INTEGER column stays 2.5.
  EXPECT_EQ(ValueOf(h.Collect("SELECT i FROM mixed")), 2.5);
  EXPECT_EQ(ValueOf(h.Collect("SELECT sum(i) / 4.0 FROM v")), 10.5);
  // First column of the first row.
  EXPECT_EQ(ValueOf(h.Collect("SELECT i, r FROM v UNION ALL SELECT 1, 2")), 42);
}

TEST_F(SqliteCollector, NullAndNoRowsAreEmpty) {
  Harness h(Source());
  EXPECT_EQ(ErrorOf(h.Collect("SELECT nul FROM v")).kind, ErrorKind::kEmpty);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT i FROM v WHERE i < 0")).kind, ErrorKind::kEmpty);
}

TEST_F(SqliteCollector, TextAndDatesAreParseErrors) {
  Harness h(Source());
  CollectError e = ErrorOf(h.Collect("SELECT w FROM words"));
  EXPECT_EQ(e.kind, ErrorKind::kParse);
  EXPECT_NE(e.message.find("\"abc\""), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("source \"files\" (sqlite3)"), std::string::npos) << e.message;
  EXPECT_EQ(ErrorOf(h.Collect("SELECT day FROM v")).kind, ErrorKind::kParse);
}

TEST_F(SqliteCollector, SyntaxErrorIsAQueryError) {
  Harness h(Source());
  CollectError e = ErrorOf(h.Collect("SELEC 1"));
  EXPECT_EQ(e.kind, ErrorKind::kQuery);
  EXPECT_NE(e.message.find("syntax error"), std::string::npos) << e.message;
  // The collector keeps working after a failed query.
  EXPECT_EQ(ValueOf(h.Collect("SELECT i FROM v")), 42);
}

TEST_F(SqliteCollector, DatabaseIsOpenedReadOnly) {
  Harness h(Source());
  EXPECT_EQ(ErrorOf(h.Collect("INSERT INTO v (i) VALUES (1) RETURNING i")).kind, ErrorKind::kQuery);
  EXPECT_EQ(ErrorOf(h.Collect("DELETE FROM v RETURNING i")).kind, ErrorKind::kQuery);
  EXPECT_EQ(ValueOf(h.Collect("SELECT count(*) FROM v")), 1);
}

TEST_F(SqliteCollector, MissingFileIsAConnectErrorAndIsNotCreated) {
  auto missing = dir_.path() / "missing.db";
  Harness h(MakeSource("files", Driver::kSqlite3, missing.string()));
  EXPECT_EQ(ErrorOf(h.Collect("SELECT 1")).kind, ErrorKind::kConnect);
  EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST_F(SqliteCollector, PathWithSpaces) {
  auto spaced = dir_.path() / "my  kpis.db";
  std::filesystem::copy_file(db_, spaced);
  Harness h(MakeSource("files", Driver::kSqlite3, spaced.string()));
  EXPECT_EQ(ValueOf(h.Collect("SELECT i FROM v")), 42);
}

TEST_F(SqliteCollector, PathWithAQuoteIsRefused) {
  auto quoted = dir_.path() / "a\"b.db";
  std::filesystem::copy_file(db_, quoted);
  Harness h(MakeSource("files", Driver::kSqlite3, quoted.string()));
  CollectError e = ErrorOf(h.Collect("SELECT i FROM v"));
  EXPECT_EQ(e.kind, ErrorKind::kConnect);
  EXPECT_NE(e.message.find("contains '\"'"), std::string::npos) << e.message;
}

TEST_F(SqliteCollector, LongQueryTimesOut) {
  Harness h(Source());
  CollectError e = ErrorOf(h.Collect(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
      300ms));
  EXPECT_EQ(e.kind, ErrorKind::kTimeout);
  EXPECT_NE(e.message.find("timeout after 300ms"), std::string::npos) << e.message;
  EXPECT_EQ(ValueOf(h.Collect("SELECT i FROM v")), 42);
}

TEST_F(SqliteCollector, StopInterruptsARunningQuery) {
  boost::asio::io_context io;
  auto collector = Make(Source(), io);
  bool called = false;
  collector->Collect(MakeTarget("k",
                                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                                "FROM c) SELECT count(*) FROM c"),
                     60s, [&](CollectResult) { called = true; });
  std::this_thread::sleep_for(100ms);  // let the query start
  collector->Stop();
  collector.reset();  // joins the worker: returns only because the query was interrupted
  io.run();
  EXPECT_FALSE(called);
}

TEST_F(SqliteCollector, HistoryRowsSortedWithBadRowsCounted) {
  Harness h(Source());
  using namespace std::chrono;
  auto day = sys_days(2026y / 10 / 1);
  HistoryResult r = h.CollectHistory("SELECT ts, value FROM hist");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  const History& history = std::get<History>(r);
  ASSERT_EQ(history.samples.size(), 3u);
  EXPECT_EQ(history.samples[0], (Sample{1, Clock::time_point(day)}));
  EXPECT_EQ(history.samples[1], (Sample{2, Clock::time_point(day + 36h)}));
  EXPECT_EQ(history.samples[2], (Sample{3, Clock::time_point(day + 48h)}));
  EXPECT_EQ(history.bad_rows, 2u);
  EXPECT_NE(history.first_bad_row.find("row 3"), std::string::npos) << history.first_bad_row;
  EXPECT_NE(history.first_bad_row.find("not a date"), std::string::npos) << history.first_bad_row;
}

TEST_F(SqliteCollector, HistoryTimestampsAsEpochSecondsAndDates) {
  Harness h(Source());
  HistoryResult r = h.CollectHistory("SELECT ts, value FROM hist_epoch");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  ASSERT_EQ(std::get<History>(r).samples.size(), 2u);
  EXPECT_EQ(std::get<History>(r).samples[1],
            (Sample{11, Clock::time_point(std::chrono::seconds(1790003600))}));

  using namespace std::chrono;
  r = h.CollectHistory("SELECT ts, value FROM hist_dt");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  ASSERT_EQ(std::get<History>(r).samples.size(), 1u);
  EXPECT_EQ(std::get<History>(r).samples[0],
            (Sample{5, Clock::time_point(sys_days(2026y / 10 / 1) + 6h)}));
  EXPECT_EQ(std::get<History>(r).bad_rows, 1u);
}

TEST_F(SqliteCollector, HistoryNeedsTwoColumns) {
  Harness h(Source());
  HistoryResult r = h.CollectHistory("SELECT value FROM hist");
  ASSERT_TRUE(std::holds_alternative<CollectError>(r));
  EXPECT_EQ(std::get<CollectError>(r).kind, ErrorKind::kParse);
  EXPECT_TRUE(h.collector().HasHistory(MakeTarget("k", "SELECT 1", "SELECT 1, 2")));
  EXPECT_FALSE(h.collector().HasHistory(MakeTarget("k", "SELECT 1")));
}

TEST_F(SqliteCollector, TwoCollectorsSideBySide) {
  auto other = dir_.path() / "other.db";
  Exec(other, "CREATE TABLE v (i INTEGER); INSERT INTO v VALUES (7);");
  Harness a(Source());
  Harness b(MakeSource("other", Driver::kSqlite3, other.string()));
  EXPECT_EQ(ValueOf(a.Collect("SELECT i FROM v")), 42);
  EXPECT_EQ(ValueOf(b.Collect("SELECT i FROM v")), 7);
}

}  // namespace
}  // namespace kpid::collectors::sql::testing
