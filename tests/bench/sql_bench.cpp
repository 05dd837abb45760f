// Collection cycle time of the sql collector: 200 KPIs against one real PostgreSQL server
// with max_concurrency = 4. A cycle submits every KPI at once (the collector's pool
// queues what exceeds max_concurrency) and ends with the last result.
//
//   kpid_sql_bench [cycles]     prints the cold (connecting) and warm cycle times
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "collectors/sql/collector.hpp"
#include "collectors/sql/settings.hpp"
#include "tests/support/servers.hpp"

namespace {

using namespace std::chrono_literals;
using kpid::collectors::CollectResult;
using kpid::collectors::Sample;
using kpid::collectors::Target;
namespace sql = kpid::collectors::sql;

constexpr int kKpis = 200;
constexpr int kMaxConcurrency = 4;

struct Cycle {
  double ms = 0;
  int errors = 0;
};

Cycle RunCycle(kpid::collectors::Collector& collector, boost::asio::io_context& io,
               const std::vector<Target>& targets) {
  int results = 0;
  Cycle cycle;
  auto start = std::chrono::steady_clock::now();
  for (const Target& t : targets) {
    collector.Collect(t, 30s, [&](CollectResult r) {
      ++results;
      if (!std::holds_alternative<Sample>(r)) ++cycle.errors;
    });
  }
  auto guard = boost::asio::make_work_guard(io);
  io.restart();
  while (results < static_cast<int>(targets.size())) io.run_one_for(100ms);
  cycle.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return cycle;
}

}  // namespace

int main(int argc, char** argv) {
  int cycles = argc > 1 ? std::max(1, std::stoi(argv[1])) : 10;
  if (auto missing = kpid::testing::PostgresServer::Missing()) {
    std::printf("sql_bench: skipped: %s\n", missing->c_str());
    return 0;
  }
  std::string error;
  auto server = kpid::testing::PostgresServer::Start(&error);
  if (!server) {
    std::fprintf(stderr, "sql_bench: %s\n", error.c_str());
    return 1;
  }
  if (!server->Exec("CREATE TABLE orders AS SELECT i AS id, (i % 200) AS kpi, (i % 97) * 1.5 AS"
                    " amount FROM generate_series(1, 100000) AS s(i);"
                    "CREATE INDEX ON orders (kpi); ANALYZE orders;"
                    "GRANT SELECT ON orders TO kpid;",
                    &error)) {
    std::fprintf(stderr, "sql_bench: fixture: %s\n", error.c_str());
    return 1;
  }

  auto settings = std::make_shared<sql::SourceSettings>();
  settings->driver = sql::Driver::kPostgresql;
  settings->connection = kpid::config::Secret(server->ConnectionString());
  settings->password = kpid::config::Secret(server->password());
  kpid::config::Source source;
  source.name = "bench";
  source.type = "sql";
  source.timeout = 30s;
  source.max_concurrency = kMaxConcurrency;
  source.settings = settings;

  std::vector<Target> targets;
  for (int i = 0; i < kKpis; ++i) {
    auto kpi = std::make_shared<sql::KpiSettings>();
    kpi->query = "SELECT sum(amount) FROM orders WHERE kpi = " + std::to_string(i);
    targets.push_back({"kpi_" + std::to_string(i), kpi});
  }

  boost::asio::io_context io;
  auto collector = sql::Make(source, io);
  Cycle cold = RunCycle(*collector, io, targets);
  std::vector<double> warm;
  int errors = cold.errors;
  for (int c = 0; c < cycles; ++c) {
    Cycle cycle = RunCycle(*collector, io, targets);
    warm.push_back(cycle.ms);
    errors += cycle.errors;
  }
  collector->Stop();
  std::sort(warm.begin(), warm.end());
  double median = warm[warm.size() / 2];
  std::printf(
      "sql_bench: %d KPIs (sum over 500 indexed rows each), PostgreSQL on 127.0.0.1, "
      "max_concurrency=%d\n"
      "  cold cycle (opens %d connections): %.1f ms\n"
      "  warm cycle over %d runs: median %.1f ms, min %.1f ms, max %.1f ms (%.0f queries/s)\n"
      "  errors: %d\n",
      kKpis, kMaxConcurrency, kMaxConcurrency, cold.ms, cycles, median, warm.front(), warm.back(),
      kKpis / (median / 1000.0), errors);
  return errors == 0 ? 0 : 1;
}
