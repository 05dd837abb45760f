#include "daemon/backtest.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/engine.hpp"
#include "daemon/load_config.hpp"
#include "daemon/store/store.hpp"
#include "tests/support/process.hpp"

namespace kpid {
namespace {

using std::chrono::hours;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr TimePoint kT0 = std::chrono::sys_days(std::chrono::year{2026} / 11 / 2) + hours(8);

std::shared_ptr<const config::Config> MustLoad(const std::string& storage_path) {
  const std::string text = R"(
[storage]
path = ")" + storage_path + R"("
[evaluation]
interval = "1h"
[[source]]
name = "db"
type = "sql"
driver = "sqlite3"
connection = "/nonexistent.db"
[[kpi]]
name = "churn"
source = "db"
query = "SELECT 1"
stale_after = "1d"
labels = { team = "crm" }
  [kpi.goal]
  max = 0.03
  warn_max = 0.025
  for = "2h"
[[kpi]]
name = "doubled"
expr = "churn * 2"
[[receiver]]
name = "audit"
type = "file"
path = "/tmp/unused.jsonl"
[[route]]
match = { team = "crm" }
receivers = ["audit"]
)";
  config::LoadResult result = config::LoadFromString(
      text, "backtest.toml", BuiltinExtensions(),
      [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  return std::make_shared<const config::Config>(result.config ? std::move(*result.config)
                                                              : config::Config{});
}

// Hourly churn from kT0 - 1h (seeded before the replay starts).
const std::vector<double> kChurn = {0.02, 0.02, 0.026, 0.02, 0.04, 0.04, 0.04, 0.02};

std::vector<rules::Sample> ChurnSamples() {
  std::vector<rules::Sample> out;
  for (std::size_t i = 0; i < kChurn.size(); ++i) {
    out.push_back({kT0 - hours(1) + hours(static_cast<int>(i)), kChurn[i]});
  }
  return out;
}

BacktestOptions SixHours() {
  BacktestOptions o;
  o.since = kT0;
  o.until = kT0 + hours(6);
  o.step = hours(1);
  return o;
}

// The timeline worked out by hand from DESIGN.md's band rules and `for = 2h`:
//   T0     0.02   on_track
//   T0+1h  0.026  at_risk (past warn_max), for 1 h only: a flap
//   T0+2h  0.02   on_track, for 1 h only: a flap
//   T0+3h  0.04   off_track; the goal alert is pending
//   T0+5h  0.04   `for` has elapsed: firing, critical
//   T0+6h  0.02   on_track; resolved
TEST(BacktestTest, TimelineNotificationsAndFlapsMatchAHandComputedHistory) {
  const auto config = MustLoad(":memory:");
  const std::vector<rules::Sample> samples = ChurnSamples();
  const HistoryReader history = [&](const std::string& kpi, TimePoint from, TimePoint until) {
    std::vector<rules::Sample> out;
    if (kpi != "churn") return out;
    for (const rules::Sample& s : samples) {
      if (s.at >= from && s.at <= until) out.push_back(s);
    }
    return out;
  };
  const BacktestReport report = Backtest(config, history, SixHours());
  EXPECT_EQ(report.evaluations, 7u);
  ASSERT_EQ(report.kpis.size(), 2u);
  const BacktestKpi& churn = report.kpis[0];
  EXPECT_EQ(churn.kpi, "churn");
  EXPECT_EQ(churn.samples, 6u) << "T0+1h .. T0+6h; T0 and before seed the windows";

  std::vector<std::pair<TimePoint, std::string>> timeline;
  for (const BacktestStatus& s : churn.timeline) timeline.emplace_back(s.at, s.status);
  EXPECT_THAT(timeline, ElementsAre(std::pair{kT0, std::string("on_track")},
                                    std::pair{kT0 + hours(1), std::string("at_risk")},
                                    std::pair{kT0 + hours(2), std::string("on_track")},
                                    std::pair{kT0 + hours(3), std::string("off_track")},
                                    std::pair{kT0 + hours(6), std::string("on_track")}));

  ASSERT_EQ(churn.notifications.size(), 2u);
  const BacktestNotification& firing = churn.notifications[0];
  EXPECT_EQ(firing.at, kT0 + hours(5));
  EXPECT_EQ(firing.alert, "churn/goal");
  EXPECT_EQ(firing.event, "firing");
  EXPECT_EQ(firing.status, "off_track");
  EXPECT_EQ(firing.severity, "critical");
  EXPECT_EQ(firing.value, 0.04);
  EXPECT_THAT(firing.receivers, ElementsAre("audit"));
  const BacktestNotification& resolved = churn.notifications[1];
  EXPECT_EQ(resolved.at, kT0 + hours(6));
  EXPECT_EQ(resolved.event, "resolved");
  EXPECT_EQ(resolved.value, 0.02) << "the value at resolve time";

  EXPECT_EQ(churn.flap_window, hours(2));
  ASSERT_EQ(churn.flaps.size(), 2u);
  EXPECT_EQ(churn.flaps[0].at, kT0 + hours(1));
  EXPECT_EQ(churn.flaps[0].status, "at_risk");
  EXPECT_EQ(churn.flaps[0].lasted, hours(1));
  EXPECT_EQ(churn.flaps[1].status, "on_track");

  // The derived KPI is replayed from its input; it has no goal, so no status.
  const BacktestKpi& doubled = report.kpis[1];
  EXPECT_EQ(doubled.kpi, "doubled");
  EXPECT_TRUE(doubled.notifications.empty());

  std::ostringstream text;
  PrintBacktestText(report, text);
  EXPECT_THAT(text.str(), HasSubstr("2026-11-02 13:00 UTC  firing  churn/goal  off_track  "
                                    "critical  value 0.04  -> audit"));
  EXPECT_THAT(text.str(), HasSubstr("flaps (a status that lasted less than 2h): 2"));
  EXPECT_THAT(text.str(), HasSubstr("nothing was sent"));
}

TEST(BacktestTest, SparseHistoryIsJudgedWithAWiderStaleAfter) {
  // Daily values against stale_after = 1d: every gap of exactly a day is fresh, but the
  // derived KPI and any jitter would not be; a 2-day gap would be no_data. Here the
  // history is one sample every 2 days, so stale_after is raised to 6 days.
  const auto config = MustLoad(":memory:");
  std::vector<rules::Sample> samples;
  for (int day = -10; day <= 10; day += 2) samples.push_back({kT0 + hours(24 * day), 0.02});
  const HistoryReader history = [&](const std::string& kpi, TimePoint from, TimePoint until) {
    std::vector<rules::Sample> out;
    for (const rules::Sample& s : samples) {
      if (kpi == "churn" && s.at >= from && s.at <= until) out.push_back(s);
    }
    return out;
  };
  BacktestOptions options = SixHours();
  options.until = kT0 + hours(24 * 10);
  const BacktestReport report = Backtest(config, history, options);
  const BacktestKpi& churn = report.kpis[0];
  ASSERT_TRUE(churn.stale_after.has_value());
  EXPECT_EQ(*churn.stale_after, hours(24 * 6));
  ASSERT_EQ(churn.timeline.size(), 1u);
  EXPECT_EQ(churn.timeline[0].status, "on_track") << "never no_data";
  EXPECT_EQ(report.kpis[1].stale_after, churn.stale_after) << "the derived KPI follows";

  std::ostringstream text;
  PrintBacktestText(report, text);
  EXPECT_THAT(text.str(), HasSubstr("5 samples (history sparser than stale_after: judged with "
                                    "stale_after 6d)"));
}

TEST(BacktestTest, ReadsTheStoreAndPrintsJsonForOneKpi) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "kpid.db").string();
  {
    auto opened = store::Store::Open(path, store::Mode::kReadWrite);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<store::Store>>(opened));
    auto& store = std::get<std::unique_ptr<store::Store>>(opened);
    std::vector<store::SampleRow> rows;
    for (const rules::Sample& s : ChurnSamples()) rows.push_back({"churn", s});
    ASSERT_FALSE(store->AppendSamples(rows).has_value());
  }
  BacktestOptions options = SixHours();
  options.kpis = {"churn"};
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(RunBacktest(*MustLoad(path), options, true, out, err), 0) << err.str();
  const auto json = nlohmann::json::parse(out.str());
  EXPECT_EQ(json["evaluations"], 7);
  ASSERT_EQ(json["kpis"].size(), 1u);
  const auto& churn = json["kpis"][0];
  EXPECT_EQ(churn["kpi"], "churn");
  EXPECT_EQ(churn["timeline"].size(), 5u);
  ASSERT_EQ(churn["notifications"].size(), 2u);
  EXPECT_EQ(churn["notifications"][0]["at"], "2026-11-02T13:00:00Z");
  EXPECT_EQ(churn["notifications"][0]["event"], "firing");
  EXPECT_EQ(churn["flaps"].size(), 2u);

  options.kpis = {"nope"};
  EXPECT_EQ(RunBacktest(*MustLoad(path), options, false, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("no KPI named \"nope\""));
  EXPECT_EQ(
      RunBacktest(*MustLoad((dir.path() / "missing.db").string()), SixHours(), false, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("does not exist"));
}

// The replay steps a few KPIs at a time through the whole history (for speed); KPIs that
// read one another must be stepped together. Here "b"'s rule reads "base" and "total" is
// derived from "base" and "k5", far apart in the config, among KPIs enough for several
// blocks. (No KPI is named like the end of a word the rules use: "a" would end "delta" and
// join every KPI with a "delta" rule to its block.)
// The report must be what stepping every KPI together at each step gives.
TEST(BacktestTest, ReplayingAFewKpisAtATimeJudgesAsSteppingAllTogether) {
  std::string text = R"(
[storage]
path = ":memory:"
[evaluation]
interval = "1h"
[[source]]
name = "db"
type = "sql"
driver = "sqlite3"
connection = "/nonexistent.db"
[[receiver]]
name = "audit"
type = "file"
path = "/tmp/unused.jsonl"
[[route]]
receivers = ["audit"]
)";
  auto add = [&](const std::string& name, const std::string& how, const std::string& rule) {
    text += "[[kpi]]\nname = \"" + name + "\"\n" + how +
            "[kpi.goal]\nmax = 60\nwarn_max = 55\nfor = \"2h\"\n[[kpi.rule]]\n" + rule;
  };
  // Collected hourly: stale_after (3 intervals) covers the history's gaps, so the replay
  // judges with the config as it is, as the engine below does.
  const std::string collected = "source = \"db\"\nquery = \"SELECT 1\"\ninterval = \"1h\"\n";
  add("base", collected, "name = \"jump\"\nwhen = \"delta > 5\"\n");
  for (int i = 1; i <= 9; ++i) {
    add("k" + std::to_string(i), collected, "name = \"jump\"\nwhen = \"delta > 5\"\n");
  }
  add("b", collected, "name = \"above_base\"\nwhen = \"value > base\"\nfor = \"1h\"\n");
  add("total", "expr = \"base + k5\"\n", "name = \"high\"\nwhen = \"value > 105\"\n");
  config::LoadResult loaded = config::LoadFromString(
      text, "blocks.toml", BuiltinExtensions(),
      [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  for (const auto& e : loaded.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(loaded.config.has_value());
  const auto config = std::make_shared<const config::Config>(std::move(*loaded.config));

  // Hourly waves, a different one per KPI, from 10 days before the replay.
  std::map<std::string, std::vector<rules::Sample>> samples;
  for (const config::Kpi& kpi : config->kpis) {
    if (kpi.expr) continue;
    const int n = static_cast<int>(samples.size());
    const double phase = static_cast<double>(n);
    for (int h = -240; h <= 72; ++h) {
      const double x = static_cast<double>(h);
      samples[kpi.name].push_back(
          {kT0 + hours(h), 50 + 12 * std::sin(0.3 * x + phase) + ((h + 3 * n) % 7 == 0 ? 8 : 0)});
    }
  }
  const HistoryReader history = [&](const std::string& kpi, TimePoint from, TimePoint until) {
    std::vector<rules::Sample> out;
    for (const rules::Sample& s : samples[kpi]) {
      if (s.at >= from && s.at <= until) out.push_back(s);
    }
    return out;
  };
  BacktestOptions options;
  options.since = kT0;
  options.until = kT0 + hours(72);
  options.step = hours(1);
  const BacktestReport report = Backtest(config, history, options);

  // Every KPI stepped together, as the daemon does.
  using Entry = std::tuple<TimePoint, std::string, std::string>;  // at, alert or "", status/event
  std::map<std::string, std::vector<Entry>> expected;
  Engine engine;
  engine.Apply(config);
  std::map<std::string, std::size_t> next;
  for (auto& [kpi, all] : samples) {
    std::vector<rules::Sample> seed;
    for (const rules::Sample& s : all) {
      if (s.at >= engine.HistoryStart(kpi, kT0) && s.at <= kT0) seed.push_back(s);
    }
    engine.Seed(kpi, seed, kT0);
    (void)engine.Record(kpi, collectors::Sample{seed.back().value, seed.back().at});
    next[kpi] =
        static_cast<std::size_t>(std::find(all.begin(), all.end(), seed.back()) - all.begin()) + 1;
  }
  std::map<std::string, std::string> last_status;
  for (TimePoint t = options.since; t <= options.until; t += options.step) {
    for (auto& [kpi, all] : samples) {
      for (; next[kpi] < all.size() && all[next[kpi]].at <= t; ++next[kpi]) {
        (void)engine.Record(kpi, collectors::Sample{all[next[kpi]].value, all[next[kpi]].at});
      }
    }
    const Engine::Cycle cycle = engine.Evaluate(t);
    for (const KpiView& view : engine.kpis()) {
      const std::string status =
          view.evaluation.status ? std::string(rules::StatusName(*view.evaluation.status)) : "";
      auto [it, first] = last_status.try_emplace(view.config->name, status);
      if (first || it->second != status) expected[view.config->name].emplace_back(t, "", status);
      it->second = status;
    }
    for (const AlertChange& c : cycle.changes) {
      if (!rules::Notifies(c.transition.event)) continue;
      expected[c.kpi].emplace_back(t, c.alert,
                                   std::string(rules::AlertEventName(c.transition.event)));
    }
  }

  ASSERT_EQ(report.kpis.size(), config->kpis.size());
  std::size_t cross = 0;
  for (const BacktestKpi& kpi : report.kpis) {
    std::vector<Entry> got;
    for (const BacktestStatus& s : kpi.timeline) got.emplace_back(s.at, "", s.status);
    for (const BacktestNotification& n : kpi.notifications)
      got.emplace_back(n.at, n.alert, n.event);
    std::vector<Entry> want = expected[kpi.kpi];
    std::stable_sort(want.begin(), want.end(), [](const Entry& x, const Entry& y) {
      return std::get<1>(x).empty() && !std::get<1>(y).empty();
    });
    EXPECT_EQ(got, want) << kpi.kpi;
    EXPECT_FALSE(kpi.stale_after.has_value()) << kpi.kpi;
    if (kpi.kpi == "b" || kpi.kpi == "total") cross += kpi.notifications.size();
  }
  EXPECT_GT(cross, 0u) << "the KPIs that read others notify, so the comparison means something";
}

}  // namespace
}  // namespace kpid
