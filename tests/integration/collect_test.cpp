// End to end with the real binary: SQLite and CSV sources on real files, values on
// /metrics, `kpid eval` as table and JSON, a source that fails while others keep going.
#include <csignal>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace kpid {
namespace {

using ::testing::HasSubstr;
using testing::HttpGet;
using testing::RunCommand;
using testing::Subprocess;
using testing::TempDir;
using testing::WaitFor;

class CollectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string out;
    ASSERT_EQ(RunCommand("sqlite3 " + (dir_.path() / "shop.db").string() +
                             " \"CREATE TABLE orders (amount REAL, shipped INT);"
                             " INSERT INTO orders VALUES (100.5, 1), (200, 0), (50, 0);\"",
                         &out),
              0)
        << out;
    dir_.Write("finance.csv",
               "date,region,orders\n2026-11-01,EU,120\n2026-11-01,US,98\n"
               "2026-11-08,EU,131\n2026-11-08,US,101\n");
    port_ = testing::FreePort();
    config_ = dir_.Write(
        "kpid.toml", "[server]\nlisten = \"127.0.0.1:" + std::to_string(port_) + "\"\n" + Config());
  }

  std::string Config() const {
    std::string d = dir_.path().string();
    return R"(
[storage]
path = ")" +
           d + R"(/kpid.db"

[evaluation]
interval = "1s"

[[source]]
name = "shop"
type = "sql"
driver = "sqlite3"
connection = ")" +
           d + R"(/shop.db"

[[source]]
name = "finance"
type = "csv"
path = ")" +
           d + R"(/finance.csv"

[[source]]
name = "broken"
type = "csv"
path = ")" +
           d + R"(/missing.csv"

[[kpi]]
name = "revenue"
labels = { team = "sales" }
source = "shop"
query = "SELECT SUM(amount) FROM orders"
interval = "1s"

[[kpi]]
name = "open_orders"
source = "shop"
query = "SELECT COUNT(*) FROM orders WHERE shipped = 0"
interval = "1s"

[[kpi]]
name = "eu_orders"
source = "finance"
column = "orders"
where = { region = "EU" }
aggregate = "sum"
interval = "1s"

[[kpi]]
name = "lost"
source = "broken"
column = "x"
interval = "1s"

[[kpi]]
name = "revenue_per_open_order"
expr = "revenue / open_orders"
)";
  }

  std::string Metrics() const {
    return HttpGet("http://127.0.0.1:" + std::to_string(port_) + "/metrics").body;
  }

  TempDir dir_;
  int port_ = 0;
  std::filesystem::path config_;
};

TEST_F(CollectTest, ServiceExposesCollectedValues) {
  Subprocess kpid({KPID_BINARY, "run", "--config", config_.string()}, dir_.path() / "kpid.log");
  ASSERT_TRUE(WaitFor([&] {
    std::string m = Metrics();
    return m.find("kpi_value{kpi=\"eu_orders\"}") != std::string::npos &&
           m.find("kpi_value{kpi=\"revenue\"") != std::string::npos &&
           m.find("kpi_value{kpi=\"open_orders\"}") != std::string::npos &&
           m.find("kpid_collector_runs_total{result=\"connect\",source=\"broken\"}") !=
               std::string::npos;
  })) << kpid.Output();
  std::string m = Metrics();
  EXPECT_THAT(m, HasSubstr("kpi_value{kpi=\"revenue\",team=\"sales\"} 350.5\n"));
  EXPECT_THAT(m, HasSubstr("kpi_value{kpi=\"open_orders\"} 2\n"));
  EXPECT_THAT(m, HasSubstr("kpi_value{kpi=\"eu_orders\"} 251\n"));
  EXPECT_THAT(m, HasSubstr("kpi_last_sample_timestamp_seconds{kpi=\"revenue\",team=\"sales\"}"));
  EXPECT_THAT(m, HasSubstr("kpid_collector_runs_total{result=\"success\",source=\"shop\"}"));
  EXPECT_THAT(m, HasSubstr("kpid_collector_runs_total{result=\"connect\",source=\"broken\"}"));
  EXPECT_THAT(m, HasSubstr("kpid_collector_duration_seconds_bucket{source=\"finance\""));
  EXPECT_EQ(m.find("kpi_value{kpi=\"lost\""), std::string::npos);

  std::string promtool;
  EXPECT_EQ(RunCommand("promtool check metrics", &promtool, m), 0) << promtool;

  // New data shows up on the next collection.
  std::string out;
  ASSERT_EQ(RunCommand("sqlite3 " + (dir_.path() / "shop.db").string() +
                           " \"INSERT INTO orders VALUES (49.5, 1)\"",
                       &out),
            0);
  EXPECT_TRUE(WaitFor([&] {
    return Metrics().find("kpi_value{kpi=\"revenue\",team=\"sales\"} 400\n") != std::string::npos;
  }));

  // The broken source is logged once, not on every poll.
  ASSERT_TRUE(WaitFor([&] {
    return Metrics().find("kpid_collector_runs_total{result=\"connect\",source=\"broken\"} 3") !=
           std::string::npos;
  }));
  std::string log = kpid.Output();
  std::size_t first = log.find("collection failing kpi=lost");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("collection failing kpi=lost", first + 1), std::string::npos) << log;

  kpid.Signal(SIGTERM);
  EXPECT_EQ(kpid.Wait(std::chrono::seconds(10)), 0);
}

TEST_F(CollectTest, EvalPrintsEveryKpiOnce) {
  std::string out;
  int rc = RunCommand(std::string(KPID_BINARY) + " eval --config " + config_.string() +
                          " --format json 2>/dev/null",
                      &out);
  EXPECT_EQ(rc, 1) << "the broken source fails the eval";
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j.size(), 5u) << out;
  std::map<std::string, nlohmann::json> by_kpi;
  for (const auto& row : j) by_kpi[row["name"]] = row;
  EXPECT_EQ(by_kpi["revenue"]["value"], 350.5);
  EXPECT_EQ(by_kpi["revenue"]["source"], "shop");
  EXPECT_EQ(by_kpi["eu_orders"]["value"], 251);
  EXPECT_EQ(by_kpi["revenue_per_open_order"]["value"], 175.25);
  EXPECT_TRUE(by_kpi["revenue_per_open_order"]["source"].is_null());
  EXPECT_FALSE(by_kpi["revenue_per_open_order"]["expr"].is_null());
  EXPECT_TRUE(by_kpi["lost"]["value"].is_null());
  EXPECT_EQ(by_kpi["lost"]["error"]["kind"], "connect");

  out.clear();
  rc = RunCommand(
      std::string(KPID_BINARY) + " eval --config " + config_.string() + " --kpi eu_orders", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("KPI"));
  EXPECT_THAT(out, HasSubstr("eu_orders"));
  EXPECT_THAT(out, HasSubstr("251"));
  EXPECT_EQ(out.find("revenue"), std::string::npos);

  out.clear();
  rc = RunCommand(std::string(KPID_BINARY) + " eval --config " + config_.string() + " --kpi nope",
                  &out);
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(out, HasSubstr("no KPI named \"nope\""));
}

}  // namespace
}  // namespace kpid
