// The sql collector (driver mysql) against a real MariaDB server.
#include <gtest/gtest.h>

#include "tests/collectors/sql/harness.hpp"
#include "tests/support/servers.hpp"

namespace kpid::collectors::sql::testing {
namespace {

using kpid::testing::MariaDbServer;

class MariaDbCollector : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (MariaDbServer::Missing()) return;
    server_ = MariaDbServer::Start(&error_).release();
    if (server_ == nullptr) return;
    bool ok = server_->Exec(
        "CREATE TABLE sales (amount DECIMAL(12,2), qty INT, ratio DOUBLE, note TEXT,"
        " at TIMESTAMP NULL, day DATE, local DATETIME);"
        "SET time_zone = '+00:00';"
        "INSERT INTO sales VALUES (100.25, 3, 0.5, 'x', '2026-10-01 10:00:00', '2026-10-01',"
        " '2026-10-01 06:00:00'), (200.50, 4, 0.25, NULL, '2026-10-02 00:00:00',"
        " '2026-10-02', NULL);",
        &error_);
    if (!ok) error_ = "fixture: " + error_;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (auto missing = MariaDbServer::Missing()) GTEST_SKIP() << *missing;
    ASSERT_NE(server_, nullptr) << error_;
    ASSERT_TRUE(error_.empty()) << error_;
  }

  static config::Source Source(std::chrono::milliseconds timeout = 10s) {
    return MakeSource("shop", Driver::kMysql, server_->ConnectionString(), server_->password(),
                      timeout);
  }

  static MariaDbServer* server_;
  static std::string error_;
};

MariaDbServer* MariaDbCollector::server_ = nullptr;
std::string MariaDbCollector::error_;

TEST_F(MariaDbCollector, ReadsEveryNumericType) {
  Harness h(Source());
  EXPECT_EQ(ValueOf(h.Collect("SELECT 42")), 42);
  EXPECT_EQ(ValueOf(h.Collect("SELECT CAST(1099511627776 AS SIGNED)")), 1099511627776.0);
  EXPECT_EQ(ValueOf(h.Collect("SELECT CAST(18446744073709551615 AS UNSIGNED)")),
            18446744073709551615.0);
  EXPECT_EQ(ValueOf(h.Collect("SELECT CAST(2.5 AS DOUBLE)")), 2.5);
  EXPECT_DOUBLE_EQ(ValueOf(h.Collect("SELECT CAST(12.345 AS DECIMAL(10,3))")), 12.345);
  EXPECT_DOUBLE_EQ(ValueOf(h.Collect("SELECT SUM(amount) FROM sales")), 300.75);
  EXPECT_EQ(ValueOf(h.Collect("SELECT SUM(qty) FROM sales")), 7);
  EXPECT_EQ(ValueOf(h.Collect("SELECT AVG(ratio) FROM sales")), 0.375);
  EXPECT_EQ(ValueOf(h.Collect("SELECT '3.25'")), 3.25);
  EXPECT_EQ(ValueOf(h.Collect("SELECT COUNT(*) FROM sales")), 2);
}

TEST_F(MariaDbCollector, NullNoRowsAndText) {
  Harness h(Source());
  EXPECT_EQ(ErrorOf(h.Collect("SELECT CAST(NULL AS SIGNED)")).kind, ErrorKind::kEmpty);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT SUM(qty) FROM sales WHERE qty < 0")).kind, ErrorKind::kEmpty);
  // A bare NULL literal has MySQL's NULL type, which SOCI cannot describe.
  EXPECT_EQ(ErrorOf(h.Collect("SELECT NULL")).kind, ErrorKind::kParse);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT qty FROM sales WHERE qty < 0")).kind, ErrorKind::kEmpty);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT 'many'")).kind, ErrorKind::kParse);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT NOW()")).kind, ErrorKind::kParse);
}

TEST_F(MariaDbCollector, QueryErrors) {
  Harness h(Source());
  CollectError e = ErrorOf(h.Collect("SELECT * FROM no_such_table"));
  EXPECT_EQ(e.kind, ErrorKind::kQuery);
  EXPECT_NE(e.message.find("no_such_table"), std::string::npos) << e.message;
  EXPECT_EQ(ErrorOf(h.Collect("SELEC 1")).kind, ErrorKind::kQuery);
  // The session is read-only even where the user may write.
  EXPECT_EQ(ErrorOf(h.Collect("INSERT INTO sales (qty) VALUES (1) RETURNING qty")).kind,
            ErrorKind::kQuery);
  EXPECT_EQ(ValueOf(h.Collect("SELECT COUNT(*) FROM sales")), 2);
}

TEST_F(MariaDbCollector, AuthFailureNeverShowsThePassword) {
  const std::string canary = "canary-5e1d0b-secret";
  Harness separate(MakeSource("shop", Driver::kMysql, server_->ConnectionString(), canary));
  CollectError e = ErrorOf(separate.Collect("SELECT 1"));
  EXPECT_EQ(e.kind, ErrorKind::kAuth) << e.message;
  EXPECT_EQ(e.message.find(canary), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("source \"shop\" (mysql)"), std::string::npos);

  Harness inline_pw(
      MakeSource("shop", Driver::kMysql, server_->ConnectionString() + " password=" + canary));
  e = ErrorOf(inline_pw.Collect("SELECT 1"));
  EXPECT_EQ(e.kind, ErrorKind::kAuth) << e.message;
  EXPECT_EQ(e.message.find(canary), std::string::npos) << e.message;
}

TEST_F(MariaDbCollector, NothingListeningIsAConnectError) {
  Harness h(MakeSource(
      "shop", Driver::kMysql,
      "host=127.0.0.1 port=" + std::to_string(kpid::testing::FreePort()) + " db=x user=y", "pw"));
  EXPECT_EQ(ErrorOf(h.Collect("SELECT 1")).kind, ErrorKind::kConnect);
}

TEST_F(MariaDbCollector, MaxStatementTime) {
  Harness h(Source());
  CollectError e = ErrorOf(h.Collect("SELECT SLEEP(10)", 300ms));
  EXPECT_EQ(e.kind, ErrorKind::kTimeout) << e.message;
  EXPECT_NE(e.message.find("timeout after 300ms"), std::string::npos) << e.message;
  EXPECT_EQ(ValueOf(h.Collect("SELECT 1 + SLEEP(0.05)", 5s)), 1);
  EXPECT_EQ(ValueOf(h.Collect("SELECT @@max_statement_time", 5s)), 5);
}

TEST_F(MariaDbCollector, History) {
  Harness h(Source());
  using namespace std::chrono;
  auto day = sys_days(2026y / 10 / 1);
  HistoryResult r = h.CollectHistory("SELECT at, amount FROM sales ORDER BY at DESC");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  const History& history = std::get<History>(r);
  ASSERT_EQ(history.samples.size(), 2u);
  EXPECT_EQ(history.samples[0], (Sample{100.25, Clock::time_point(day + 10h)}));
  EXPECT_EQ(history.samples[1], (Sample{200.50, Clock::time_point(day + 24h)}));

  r = h.CollectHistory("SELECT day, qty FROM sales");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  EXPECT_EQ(std::get<History>(r).samples.at(0), (Sample{3, Clock::time_point(day)}));

  r = h.CollectHistory("SELECT UNIX_TIMESTAMP(at), qty FROM sales");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  EXPECT_EQ(std::get<History>(r).samples.at(0), (Sample{3, Clock::time_point(day + 10h)}));

  r = h.CollectHistory("SELECT local, qty FROM sales");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  EXPECT_EQ(std::get<History>(r).samples.at(0), (Sample{3, Clock::time_point(day + 6h)}));
  EXPECT_EQ(std::get<History>(r).bad_rows, 1u);
}

TEST_F(MariaDbCollector, StopInterruptsARunningQuery) {
  boost::asio::io_context io;
  auto collector = Make(Source(120s), io);
  bool called = false;
  collector->Collect(MakeTarget("slow", "SELECT SLEEP(60)"), 120s,
                     [&](CollectResult) { called = true; });
  ASSERT_TRUE(kpid::testing::WaitFor([&] {
    std::string out;
    server_->Exec(
        "SELECT COUNT(*) FROM information_schema.processlist WHERE info = 'SELECT SLEEP(60)'",
        &out);
    return out == "1";
  }));
  collector->Stop();
  collector.reset();  // joins the worker: returns only because the statement was interrupted
  io.run();
  EXPECT_FALSE(called);
}

class MariaDbRestart : public ::testing::Test {};

TEST_F(MariaDbRestart, ReconnectsAfterTheServerRestarts) {
  if (auto missing = MariaDbServer::Missing()) GTEST_SKIP() << *missing;
  std::string error;
  auto server = MariaDbServer::Start(&error);
  ASSERT_TRUE(server) << error;
  Harness h(MakeSource("shop", Driver::kMysql, server->ConnectionString(), server->password()));
  EXPECT_EQ(ValueOf(h.Collect("SELECT 1")), 1);

  ASSERT_TRUE(server->Stop());
  EXPECT_EQ(ErrorOf(h.Collect("SELECT 2")).kind, ErrorKind::kConnect);

  ASSERT_TRUE(server->Restart());
  EXPECT_EQ(ValueOf(h.Collect("SELECT 3")), 3);

  ASSERT_TRUE(server->Stop());
  ASSERT_TRUE(server->Restart());
  EXPECT_EQ(ValueOf(h.Collect("SELECT 4")), 4);
}

}  // namespace
}  // namespace kpid::collectors::sql::testing
