// The sql collector (driver odbc) through unixODBC and the PostgreSQL ODBC driver
// (Debian package odbc-postgresql) against a real PostgreSQL server.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/collectors/sql/harness.hpp"
#include "tests/support/servers.hpp"

namespace kpid::collectors::sql::testing {
namespace {

using kpid::testing::PostgresServer;

constexpr const char* kPsqlOdbc = "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so";

class OdbcCollector : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (Missing()) return;
    server_ = PostgresServer::Start(&error_).release();
    if (server_ != nullptr && !server_->Exec("CREATE TABLE t (n numeric(8,2), q int);"
                                             "INSERT INTO t VALUES (1.25, 2);"
                                             "GRANT SELECT ON t TO kpid;",
                                             &error_)) {
      error_ = "fixture: " + error_;
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::optional<std::string> Missing() {
    if (auto missing = PostgresServer::Missing()) return missing;
    if (access(kPsqlOdbc, R_OK) != 0) {
      return std::string("PostgreSQL ODBC driver ") + kPsqlOdbc +
             " not found (Debian package odbc-postgresql)";
    }
    return std::nullopt;
  }
  void SetUp() override {
    if (auto missing = Missing()) GTEST_SKIP() << *missing;
    ASSERT_NE(server_, nullptr) << error_;
    ASSERT_TRUE(error_.empty()) << error_;
  }

  // The driver by path: no odbcinst.ini entry needed.
  static std::string Connection() {
    return std::string("DRIVER=") + kPsqlOdbc +
           ";SERVER=127.0.0.1;PORT=" + std::to_string(server_->port()) +
           ";DATABASE=" + server_->database() + ";UID=" + server_->user();
  }

  static PostgresServer* server_;
  static std::string error_;
};

PostgresServer* OdbcCollector::server_ = nullptr;
std::string OdbcCollector::error_;

TEST_F(OdbcCollector, ReadsValues) {
  Harness h(MakeSource("odbc", Driver::kOdbc, Connection(), server_->password()));
  EXPECT_EQ(ValueOf(h.Collect("SELECT 42")), 42);
  EXPECT_EQ(ValueOf(h.Collect("SELECT q FROM t")), 2);
  EXPECT_DOUBLE_EQ(ValueOf(h.Collect("SELECT n FROM t")), 1.25);
  // SOCI's odbc backend reads ":name" as a bind parameter, so casts use CAST(), not "::".
  EXPECT_EQ(ValueOf(h.Collect("SELECT CAST(2.5 AS float8)")), 2.5);
  EXPECT_EQ(ValueOf(h.Collect("SELECT CAST('3.25' AS text)")), 3.25);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT CAST(NULL AS int)")).kind, ErrorKind::kEmpty);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT q FROM t WHERE q < 0")).kind, ErrorKind::kEmpty);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT CAST('x' AS text)")).kind, ErrorKind::kParse);
  EXPECT_EQ(ErrorOf(h.Collect("SELECT * FROM no_such_table")).kind, ErrorKind::kQuery);
}

TEST_F(OdbcCollector, AuthFailureNeverShowsThePassword) {
  const std::string canary = "canary-0dbc42-secret";
  Harness h(MakeSource("odbc", Driver::kOdbc, Connection(), canary));
  CollectError e = ErrorOf(h.Collect("SELECT 1"));
  EXPECT_EQ(e.kind, ErrorKind::kAuth) << e.message;
  EXPECT_EQ(e.message.find(canary), std::string::npos) << e.message;
}

TEST_F(OdbcCollector, QueryTimeout) {
  Harness h(MakeSource("odbc", Driver::kOdbc, Connection(), server_->password()));
  CollectError e = ErrorOf(h.Collect("SELECT 1 FROM pg_sleep(10)", 1s));
  EXPECT_EQ(e.kind, ErrorKind::kTimeout) << e.message;
  EXPECT_EQ(ValueOf(h.Collect("SELECT 7")), 7);
}

TEST_F(OdbcCollector, History) {
  Harness h(MakeSource("odbc", Driver::kOdbc, Connection(), server_->password()));
  using namespace std::chrono;
  HistoryResult r = h.CollectHistory(
      "SELECT DATE '2026-10-01' + i, i FROM generate_series(1, 3) AS s(i) ORDER BY i DESC");
  ASSERT_TRUE(std::holds_alternative<History>(r)) << std::get<CollectError>(r).message;
  ASSERT_EQ(std::get<History>(r).samples.size(), 3u);
  EXPECT_EQ(std::get<History>(r).samples[0],
            (Sample{1, Clock::time_point(sys_days(2026y / 10 / 2))}));
}

}  // namespace
}  // namespace kpid::collectors::sql::testing
