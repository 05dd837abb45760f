// collectors/sql/sample.toml loads, builds collectors, and its SQLite KPI collects.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "daemon/load_config.hpp"
#include "tests/collectors/sql/harness.hpp"
#include "tests/support/process.hpp"

namespace kpid::collectors::sql::testing {
namespace {

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t p = text.find(from); p != std::string::npos;
       p = text.find(from, p + to.size())) {
    text.replace(p, from.size(), to);
  }
  return text;
}

config::EnvLookup Env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (name == "SHOP_DB_PASSWORD") return "shop-pw";
    return std::nullopt;
  };
}

TEST(SqlSample, LoadsBuildsAndCollects) {
  kpid::testing::TempDir dir;
  std::ifstream in(KPID_SOURCE_DIR "/collectors/sql/sample.toml");
  std::stringstream text;
  text << in.rdbuf();
  // Point the sample's secret file and SQLite database at this test's directory.
  std::string toml = Replace(text.str(), "/etc/kpid/secrets/", dir.path().string() + "/");
  toml = Replace(toml, "/var/lib/kpid-data/", dir.path().string() + "/");
  dir.Write("warehouse", "warehouse-pw\n");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir.path() / "metrics.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db,
                     "CREATE TABLE daily (day DATE, errors INTEGER, requests INTEGER);"
                     "INSERT INTO daily VALUES ('2026-10-01', 1, 100), ('2026-10-02', 3, 200);",
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }

  config::LoadResult result =
      config::LoadFromString(toml, "sample.toml", BuiltinExtensions(), Env());
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(result.config);
  const config::Config& config = *result.config;

  const auto* warehouse = config.FindSource("warehouse");
  ASSERT_NE(warehouse, nullptr);
  const auto& ws = dynamic_cast<const SourceSettings&>(*warehouse->settings);
  EXPECT_EQ(ws.driver, Driver::kPostgresql);
  ASSERT_TRUE(ws.password);
  EXPECT_EQ(ws.password->Reveal(), "warehouse-pw");
  const auto& shop = dynamic_cast<const SourceSettings&>(*config.FindSource("shop")->settings);
  EXPECT_EQ(shop.driver, Driver::kMysql);
  EXPECT_EQ(shop.password->Reveal(), "shop-pw");

  const auto* revenue = config.FindKpi("quarterly_revenue");
  ASSERT_NE(revenue, nullptr);
  EXPECT_NE(dynamic_cast<const KpiSettings&>(*revenue->collect).history_query.find("revenue_daily"),
            std::string::npos);

  boost::asio::io_context io;
  for (const config::Source& source : config.sources) {
    auto collector = Make(source, io);  // no network I/O here
    ASSERT_NE(collector, nullptr) << source.name;
    collector->Stop();
  }

  const auto* local = config.FindSource("local");
  ASSERT_NE(local, nullptr);
  const auto* error_rate = config.FindKpi("error_rate");
  ASSERT_NE(error_rate, nullptr);
  Harness h(*local);
  Target target{error_rate->name, error_rate->collect};
  std::optional<CollectResult> value;
  std::optional<HistoryResult> history;
  h.collector().Collect(target, 5s, [&](CollectResult r) { value = std::move(r); });
  h.collector().CollectHistory(target, 5s, [&](HistoryResult r) { history = std::move(r); });
  h.RunUntil([&] { return value && history; });
  ASSERT_TRUE(value && history);
  EXPECT_EQ(ValueOf(*value), 0.015);
  ASSERT_TRUE(std::holds_alternative<History>(*history));
  EXPECT_EQ(std::get<History>(*history).samples.size(), 2u);
}

TEST(SqlSample, PasswordDoesNotApplyToSqlite) {
  kpid::testing::TempDir dir;
  auto secret = dir.Write("pw", "x");
  config::LoadResult result = config::LoadFromString(
      "[[source]]\nname = \"f\"\ntype = \"sql\"\ndriver = \"sqlite3\"\n"
      "connection = \"/tmp/x.db\"\npassword_file = \"" +
          secret.string() + "\"\n",
      "t.toml", BuiltinExtensions(), Env());
  ASSERT_FALSE(result.config);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].message.find("does not apply"), std::string::npos)
      << result.errors[0].ToString();
}

}  // namespace
}  // namespace kpid::collectors::sql::testing
