// collectors/csv/sample.toml loads, and its KPIs collect from a file shaped like the one
// its comments describe.
#include <fstream>
#include <sstream>
#include <variant>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "collectors/csv/collector.hpp"
#include "daemon/load_config.hpp"
#include "tests/support/process.hpp"

namespace kpid::collectors::csv {
namespace {

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t p = text.find(from); p != std::string::npos;
       p = text.find(from, p + to.size())) {
    text.replace(p, from.size(), to);
  }
  return text;
}

TEST(CsvSample, LoadsAndCollects) {
  kpid::testing::TempDir dir;
  std::ifstream in(KPID_SOURCE_DIR "/collectors/csv/sample.toml");
  std::stringstream text;
  text << in.rdbuf();
  const std::string toml = Replace(text.str(), "/srv/finance/", dir.path().string() + "/");
  dir.Write("kpis.csv",
            "date,region,orders,revenue\n"
            "2026-10-01,EU,412,20710.50\n"
            "2026-10-01,US,380,\"19,200.00\"\n"
            "2026-10-02,EU,398,19000\n"
            "2026-10-02,US,401,\n");

  const config::LoadResult result =
      config::LoadFromString(toml, "sample.toml", BuiltinExtensions(),
                             [](const std::string&) { return std::optional<std::string>(); });
  for (const auto& error : result.errors) ADD_FAILURE() << error.ToString();
  ASSERT_TRUE(result.config);
  const config::Config& config = *result.config;
  ASSERT_EQ(config.sources.size(), 1u);
  EXPECT_EQ(config.sources[0].type, "csv");
  const auto* eu = config.FindKpi("eu_orders");
  const auto* revenue = config.FindKpi("total_revenue");
  ASSERT_TRUE(eu && revenue);

  boost::asio::io_context io;
  auto collector = Make(config.sources[0], io);
  auto collect = [&](const config::Kpi& kpi) {
    std::optional<CollectResult> out;
    auto work = boost::asio::make_work_guard(io);
    collector->Collect({kpi.name, kpi.collect}, config.sources[0].timeout, [&](CollectResult r) {
      out = std::move(r);
      work.reset();
    });
    io.restart();
    io.run_for(std::chrono::seconds(60));
    return out.value_or(CollectError{ErrorKind::kInternal, "no result"});
  };
  const CollectResult orders = collect(*eu);
  ASSERT_TRUE(std::holds_alternative<Sample>(orders)) << std::get<CollectError>(orders).message;
  EXPECT_EQ(std::get<Sample>(orders).value, 398);
  EXPECT_TRUE(collector->HasHistory({eu->name, eu->collect}));

  const CollectResult sum = collect(*revenue);
  ASSERT_TRUE(std::holds_alternative<Sample>(sum)) << std::get<CollectError>(sum).message;
  EXPECT_EQ(std::get<Sample>(sum).value, 39710.5);
  const auto bad = dynamic_cast<CsvCollector&>(*collector).LastBadRows("total_revenue");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->count, 1u);
  EXPECT_EQ(bad->first,
            "line 3: \"19,200.00\" in column \"revenue\" is not a number (thousands separators "
            "are not accepted)");
}

}  // namespace
}  // namespace kpid::collectors::csv
