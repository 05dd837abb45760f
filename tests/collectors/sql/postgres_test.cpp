// The sql collector against a real PostgreSQL server.
#include <gtest/gtest.h>

#include "tests/collectors/sql/harness.hpp"
#include "tests/support/servers.hpp"

namespace kpid::collectors::sql::testing {
namespace {

using kpid::testing::PostgresServer;

class PostgresCollector : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (PostgresServer::Missing()) return;
    server_ = PostgresServer::Start(&error_).release();
    if (server_ == nullptr) return;
    bool ok = server_->Exec(
        "CREATE TABLE sales (amount numeric(12,2), qty integer, ratio float8, note text,"
        " at timestamptz, day date, local timestamp);"
        "INSERT INTO sales VALUES (100.25, 3, 0.5, 'x', '2026-10-01 12:00:00+02', '2026-10-01',"
        " '2026-10-01 06:00:00'), (200.50, 4, 0.25, NULL, '2026-10-02 00:00:00+00',"
        " '2026-10-02', NULL);"
        "GRANT SELECT, INSERT ON sales TO kpid;",
        &error_);
    if (!ok) error_ = "fixture: " + error_;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (auto missing = PostgresServer::Missing()) GTEST_SKIP() << *missing;
    ASSERT_NE(server_, nullptr) << error_;
    ASSERT_TRUE(error_.empty()) << error_;
  }

  static config::Source Source(std::chrono::milliseconds timeout = 10s) {
    return MakeSource("warehouse", Driver::kPostgresql, server_->ConnectionString(),
                      server_->password(), timeout);
  }

  static PostgresServer* server_;
  static std::string error_;
};

PostgresServer* PostgresCollector::server_ = nullptr;
std::string PostgresCollector::error_;

TEST_F(PostgresCollector, ReadsEveryNumericType) {
  Harness h(Source());
  EXPECT_EQ(ValueOf(h.Collect("SELECT 42")), 42);
  EXPECT_EQ(ValueOf(h.Collect("SELECT 42::smallint")), 42);
  EXPECT_EQ(ValueOf(h.Collect("SELECT 1099511627776::bigint")), 1099511627776.0);
  EXPECT_EQ(ValueOf(h.Collect("SELECT 2.5::float8")), 2.5);
  EXPECT_EQ(ValueOf(h.Collect("SELECT 1.5::real")), 1.5);
  EXPECT_DOUBLE_EQ(ValueOf(h.Collect("SELECT 12.345::numeric")), 12.345);
  EXPECT_DOUBLE_EQ(ValueOf(h.Collect("SELECT sum(amount) FROM sales")), 300.75);
  EXPECT_EQ(ValueOf(h.Collect("SELECT sum(qty) FROM sales")), 7);  // bigint
  EXPECT_EQ(ValueOf(h.Collect("SELECT avg(ratio) FROM sales")), 0.375);
  EXPECT_EQ(ValueOf(h.Collect("SELECT '3.25'::text")), 3.25);
  EXPECT_EQ(ValueOf(h.Collect("SELECT count(*) FROM sales")), 2);
}

TEST_F(PostgresCollector, NullNoRowsAndText) {
  Harness h(Source());
  EXPECT_EQ(ErrorOf(h.Collect("SELECT NULL::int")).kind, ErrorKind::kEmpty);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT qty FROM sales WHERE qty < 0")).kind, ErrorKind::kEmpty);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT 'many'")).kind, ErrorKind::kParse);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT 'NaN'::numeric")).kind, ErrorKind::kParse);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT now()")).kind, ErrorKind::kParse);
}

TEST_F(PostgresCollector, QueryErrors) {
  Harness h(Source());
  CollectError e = ErrorOf(h.Collect("SELECT * FROM no_such_table"));
  EXPECT_EQ(e.kind, ErrorKind::kQuery);
  EXPECT_NE(e.message.find("no_such_table"), std::string::npos) << e.message;
  EXPECT_EQ(ErrorOf(h.Collect("SELEC 1")).kind, ErrorKind::kQuery);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT 1/0")).kind, ErrorKind::kQuery);
  // The session is read-only even where the user may write.
  EXPECT_EQ(ErrorOf(h.Collect("INSERT INTO sales (qty) VALUES (1) RETURNING qty")).kind,
            ErrorKind::kQuery);
  EXPECT_EQ(ValueOf(h.Collect("SELECT count(*) FROM sales")), 2);
}

TEST_F(PostgresCollector, AuthFailureNeverShowsThePassword) {
  const std::string canary = "canary-7f3a9c-secret";
  Harness separate(
      MakeSource("warehouse", Driver::kPostgresql, server_->ConnectionString(), canary));
  CollectError e = ErrorOf(separate.Collect("SELECT 1"));
  EXPECT_EQ(e.kind, ErrorKind::kAuth) << e.message;
  EXPECT_EQ(e.message.find(canary), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("source \"warehouse\" (postgresql)"), std::string::npos);

  // A password written into the connection string itself is scrubbed as well.
  Harness inline_pw(MakeSource("warehouse", Driver::kPostgresql,
                               server_->ConnectionString() + " password=" + canary));
  e = ErrorOf(inline_pw.Collect("SELECT 1"));
  EXPECT_EQ(e.kind, ErrorKind::kAuth) << e.message;
  EXPECT_EQ(e.message.find(canary), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("dbname="), std::string::npos) << e.message;
}

TEST_F(PostgresCollector, NothingListeningIsAConnectError) {
  Harness h(MakeSource(
      "warehouse", Driver::kPostgresql,
      "host=127.0.0.1 port=" + std::to_string(kpid::testing::FreePort()) + " dbname=x user=y",
      "pw"));
  EXPECT_EQ(ErrorOf(h.Collect("SELECT 1")).kind, ErrorKind::kConnect);
}

TEST_F(PostgresCollector, StatementTimeout) {
  Harness h(Source());
  CollectError e = ErrorOf(h.Collect("SELECT pg_sleep(10)", 300ms));
  EXPECT_EQ(e.kind, ErrorKind::kTimeout) << e.message;
  EXPECT_NE(e.message.find("timeout after 300ms"), std::string::npos) << e.message;
  // Another timeout on the same collector is set anew.
  EXPECT_EQ(ValueOf(h.Collect("SELECT 1 FROM pg_sleep(0.05)", 5s)), 1);
  EXPECT_EQ(
      ValueOf(h.Collect("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'", 5s)),
      5000);
}

TEST_F(PostgresCollector, History) {
  Harness h(Source());
  using namespace std::chrono;
  auto day = sys_days(2026y / 10 / 1);
  HistoryResult r = h.CollectHistory("SELECT at, amount FROM sales ORDER BY at DESC");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  const History& history = std::get<History>(r);
  ASSERT_EQ(history.samples.size(), 2u);
  EXPECT_EQ(history.samples[0], (Sample{100.25, Clock::time_point(day + 10h)}));
  EXPECT_EQ(history.samples[1], (Sample{200.50, Clock::time_point(day + 24h)}));
  EXPECT_EQ(history.bad_rows, 0u);

  r = h.CollectHistory("SELECT day, qty FROM sales");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  EXPECT_EQ(std::get<History>(r).samples.at(0), (Sample{3, Clock::time_point(day)}));

  r = h.CollectHistory("SELECT extract(epoch FROM at), qty FROM sales");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  EXPECT_EQ(std::get<History>(r).samples.at(0), (Sample{3, Clock::time_point(day + 10h)}));

  // A timestamp without time zone is read as UTC; the NULL row is counted as bad.
  r = h.CollectHistory("SELECT local, qty FROM sales");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  EXPECT_EQ(std::get<History>(r).samples.at(0), (Sample{3, Clock::time_point(day + 6h)}));
  EXPECT_EQ(std::get<History>(r).bad_rows, 1u);
  EXPECT_NE(std::get<History>(r).first_bad_row.find("row 2"), std::string::npos);
}

TEST_F(PostgresCollector, UriConnectionString) {
  Harness h(MakeSource("warehouse", Driver::kPostgresql,
                       "postgresql://" + server_->user() + "@127.0.0.1:" +
                           std::to_string(server_->port()) + "/" + server_->database(),
                       server_->password()));
  EXPECT_EQ(ValueOf(h.Collect("SELECT 5")), 5);
}

class PostgresRestart : public ::testing::Test {};

TEST_F(PostgresRestart, ReconnectsAfterTheServerRestarts) {
  if (auto missing = PostgresServer::Missing()) GTEST_SKIP() << *missing;
  std::string error;
  auto server = PostgresServer::Start(&error);
  ASSERT_TRUE(server) << error;
  Harness h(
      MakeSource("warehouse", Driver::kPostgresql, server->ConnectionString(), server->password()));
  EXPECT_EQ(ValueOf(h.Collect("SELECT 1")), 1);

  ASSERT_TRUE(server->Stop());
  EXPECT_EQ(ErrorOf(h.Collect("SELECT 2")).kind, ErrorKind::kConnect);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT 2")).kind, ErrorKind::kConnect);

  ASSERT_TRUE(server->Restart());
  EXPECT_EQ(ValueOf(h.Collect("SELECT 3")), 3);

  // A kept connection that died with a restart is replaced without a failed collection.
  ASSERT_TRUE(server->Stop());
  ASSERT_TRUE(server->Restart());
  EXPECT_EQ(ValueOf(h.Collect("SELECT 4")), 4);
}

}  // namespace
}  // namespace kpid::collectors::sql::testing
