// max_concurrency holds, and a hanging source does not hold up another one.
#include <algorithm>
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "tests/collectors/sql/harness.hpp"
#include "tests/support/servers.hpp"

namespace kpid::collectors::sql::testing {
namespace {

using kpid::testing::PostgresServer;
using kpid::testing::WaitFor;

class SqlConcurrency : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto missing = PostgresServer::Missing()) GTEST_SKIP() << *missing;
    std::string error;
    server_ = PostgresServer::Start(&error);
    ASSERT_TRUE(server_) << error;
  }

  // Statements of the collector's sessions (application_name defaults to kpid) that are
  // running `marker`, as seen by the server.
  int Active(const std::string& marker) {
    std::string out;
    if (!server_->Exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'kpid'"
                       " AND state = 'active' AND query LIKE '%" +
                           marker + "%'",
                       &out)) {
      ADD_FAILURE() << out;
      return -1;
    }
    return std::stoi(out);
  }

  std::unique_ptr<PostgresServer> server_;
};

TEST_F(SqlConcurrency, NeverMoreStatementsThanMaxConcurrency) {
  Harness h(MakeSource("warehouse", Driver::kPostgresql, server_->ConnectionString(),
                       server_->password(), 10s, /*max_concurrency=*/2));
  int results = 0, values = 0;
  for (int i = 0; i < 6; ++i) {
    h.collector().Collect(MakeTarget("k" + std::to_string(i), "SELECT 1 FROM pg_sleep(0.3)"), 10s,
                          [&](CollectResult r) {
                            ++results;
                            if (std::holds_alternative<Sample>(r)) ++values;
                          });
  }
  // Watch the server from another thread while the io thread collects the results.
  std::atomic<bool> done{false};
  std::atomic<int> most{0};
  std::atomic<int> polls{0};
  std::thread watcher([&] {
    while (!done) {
      most = std::max(most.load(), Active("pg_sleep(0.3)"));
      ++polls;
    }
  });
  h.RunUntil([&] { return results == 6; });
  done = true;
  watcher.join();

  EXPECT_EQ(values, 6);
  EXPECT_GT(polls.load(), 0);
  EXPECT_LE(most.load(), 2);
  // The pool kept at most two connections.
  std::string out;
  ASSERT_TRUE(
      server_->Exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'kpid'", &out));
  EXPECT_LE(std::stoi(out), 2);
}

TEST_F(SqlConcurrency, HangingSourceDoesNotDelayAnother) {
  boost::asio::io_context io;
  auto hanging = Make(MakeSource("hanging", Driver::kPostgresql, server_->ConnectionString(),
                                 server_->password(), 120s, 1),
                      io);
  auto healthy = Make(MakeSource("healthy", Driver::kPostgresql, server_->ConnectionString(),
                                 server_->password(), 10s, 1),
                      io);
  int hanging_results = 0;
  for (int i = 0; i < 3; ++i) {
    hanging->Collect(MakeTarget("slow", "SELECT 1 FROM pg_sleep(60)"), 120s,
                     [&](CollectResult) { ++hanging_results; });
  }
  ASSERT_TRUE(WaitFor([&] { return Active("pg_sleep(60)") == 1; }));

  int healthy_values = 0;
  std::function<void(CollectResult)> next = [&](CollectResult r) {
    if (std::holds_alternative<Sample>(r)) ++healthy_values;
    if (healthy_values < 10 && std::holds_alternative<Sample>(r)) {
      healthy->Collect(MakeTarget("fast", "SELECT 1"), 10s, next);
    }
  };
  healthy->Collect(MakeTarget("fast", "SELECT 1"), 10s, next);
  auto guard = boost::asio::make_work_guard(io);
  auto end = std::chrono::steady_clock::now() + 30s;
  while (healthy_values < 10 && std::chrono::steady_clock::now() < end) io.run_one_for(50ms);

  EXPECT_EQ(healthy_values, 10);
  EXPECT_EQ(hanging_results, 0);

  // Stop() interrupts the hanging statement: the destructor joins its worker promptly and
  // the server ends the statement too.
  hanging->Stop();
  hanging.reset();
  healthy->Stop();
  healthy.reset();
  EXPECT_EQ(hanging_results, 0);
  EXPECT_TRUE(WaitFor([&] { return Active("pg_sleep(60)") == 0; }, 20s));
}

}  // namespace
}  // namespace kpid::collectors::sql::testing
