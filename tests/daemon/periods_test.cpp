// Recurring goals (period = ...): period boundaries and labels in a zone with DST, rollover
// with the closing result recorded once in a real store, restarts at and across a
// rollover, carried baselines, config errors, the API's past periods and the metric.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <date/date.h>
#include <date/tz.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/metric_family.h>

#include "daemon/api.hpp"
#include "daemon/engine.hpp"
#include "daemon/load_config.hpp"
#include "daemon/persistence.hpp"
#include "daemon/store/store.hpp"
#include "rules/goal.hpp"
#include "tests/support/config_text.hpp"
#include "tests/support/process.hpp"

namespace kpid {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const date::time_zone* Berlin() { return date::locate_zone("Europe/Berlin"); }

// An instant in UTC.
TimePoint Utc(int y, unsigned m, unsigned d, int h = 0, int min = 0, int s = 0) {
  return TimePoint(date::sys_days{date::year{y} / date::month{m} / date::day{d}} + hours(h) +
                   minutes(min) + seconds(s));
}

std::string Iso(TimePoint t) { return api::FormatTime(t); }

// One KPI with the goal `goal` ([kpi.goal] keys), judged in Europe/Berlin.
std::string Text(const std::string& goal) {
  return "[evaluation]\ninterval = \"1m\"\ntimezone = \"Europe/Berlin\"\n" +
         std::string(testing::kHandFedSource) + R"(
[[kpi]]
name = "revenue"
source = "db"
query = "SELECT 1"
stale_after = "400d"
  [kpi.goal]
)" + goal;
}

config::LoadResult Load(const std::string& goal) {
  return config::LoadFromString(
      Text(goal), "periods.toml", BuiltinExtensions(),
      [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
}

std::shared_ptr<const config::Config> MustLoad(const std::string& goal) {
  return testing::MustLoadConfig(Text(goal), "periods.toml");
}

std::vector<std::string> Errors(const std::string& goal) {
  std::vector<std::string> out;
  for (const auto& e : Load(goal).errors) out.push_back(e.ToString());
  return out;
}

// --- period boundaries and labels --------------------------------------------------------

TEST(PeriodTest, MonthsAreCalendarMonthsFromLocalMidnight) {
  const rules::Period p =
      rules::PeriodAt(rules::PeriodKind::kMonth, {4, 1}, Berlin(), Utc(2026, 11, 15, 12));
  EXPECT_EQ(Iso(p.start), "2026-10-31T23:00:00Z");  // 2026-11-01 00:00 CET
  EXPECT_EQ(Iso(p.end), "2026-11-30T23:00:00Z");
  EXPECT_EQ(rules::PeriodLabel(rules::PeriodKind::kMonth, {4, 1}, Berlin(), p.start), "2026-11");
  // Local midnight is still the old month in UTC terms.
  const rules::Period first =
      rules::PeriodAt(rules::PeriodKind::kMonth, {}, Berlin(), Utc(2026, 10, 31, 23));
  EXPECT_EQ(Iso(first.start), "2026-10-31T23:00:00Z");
}

TEST(PeriodTest, MonthsWithADstChangeAreAnHourShorterOrLonger) {
  // October 2026: CEST until Sunday 25th 03:00, then CET; March 2027: the other way.
  const rules::Period october =
      rules::PeriodAt(rules::PeriodKind::kMonth, {}, Berlin(), Utc(2026, 10, 10));
  EXPECT_EQ(Iso(october.start), "2026-09-30T22:00:00Z");
  EXPECT_EQ(Iso(october.end), "2026-10-31T23:00:00Z");
  EXPECT_EQ(october.end - october.start, 31 * rules::kDay + hours(1));
  const rules::Period march =
      rules::PeriodAt(rules::PeriodKind::kMonth, {}, Berlin(), Utc(2027, 3, 28, 12));
  EXPECT_EQ(Iso(march.start), "2027-02-28T23:00:00Z");
  EXPECT_EQ(Iso(march.end), "2027-03-31T22:00:00Z");
  EXPECT_EQ(march.end - march.start, 31 * rules::kDay - hours(1));
}

TEST(PeriodTest, WeeksStartOnMondayAndCarryIsoWeekNumbers) {
  // Sunday 2026-11-15 belongs to the week from Monday 2026-11-09, ISO week 46.
  const rules::Period p =
      rules::PeriodAt(rules::PeriodKind::kWeek, {}, Berlin(), Utc(2026, 11, 15, 12));
  EXPECT_EQ(Iso(p.start), "2026-11-08T23:00:00Z");
  EXPECT_EQ(Iso(p.end), "2026-11-15T23:00:00Z");
  EXPECT_EQ(rules::PeriodLabel(rules::PeriodKind::kWeek, {}, Berlin(), p.start), "2026-W46");
  // The week of the October change is 7 days and an hour long.
  const rules::Period dst =
      rules::PeriodAt(rules::PeriodKind::kWeek, {}, Berlin(), Utc(2026, 10, 25, 12));
  EXPECT_EQ(Iso(dst.start), "2026-10-18T22:00:00Z");
  EXPECT_EQ(Iso(dst.end), "2026-10-25T23:00:00Z");
  // ISO years: 2027-01-01 (a Friday) is in week 53 of 2026.
  const rules::Period new_year =
      rules::PeriodAt(rules::PeriodKind::kWeek, {}, nullptr, Utc(2027, 1, 1, 12));
  EXPECT_EQ(rules::PeriodLabel(rules::PeriodKind::kWeek, {}, nullptr, new_year.start), "2026-W53");
}

TEST(PeriodTest, QuartersAndYearsFollowTheFiscalYearStart) {
  const rules::MonthDay april{4, 1};
  const rules::Period q4 =
      rules::PeriodAt(rules::PeriodKind::kQuarter, april, Berlin(), Utc(2027, 2, 10));
  EXPECT_EQ(Iso(q4.start), "2026-12-31T23:00:00Z");
  EXPECT_EQ(Iso(q4.end), "2027-03-31T22:00:00Z");
  EXPECT_EQ(rules::PeriodLabel(rules::PeriodKind::kQuarter, april, Berlin(), q4.start),
            "Q4 FY2026/27");
  const rules::Period q1 = rules::PeriodAt(rules::PeriodKind::kQuarter, april, Berlin(), q4.end);
  EXPECT_EQ(q1.start, q4.end);
  EXPECT_EQ(rules::PeriodLabel(rules::PeriodKind::kQuarter, april, Berlin(), q1.start),
            "Q1 FY2027/28");
  const rules::Period fy =
      rules::PeriodAt(rules::PeriodKind::kYear, april, Berlin(), Utc(2027, 3, 31, 21, 59, 59));
  EXPECT_EQ(Iso(fy.start), "2026-03-31T22:00:00Z");
  EXPECT_EQ(Iso(fy.end), "2027-03-31T22:00:00Z");
  EXPECT_EQ(rules::PeriodLabel(rules::PeriodKind::kYear, april, Berlin(), fy.start), "FY2026/27");
  // Calendar quarters and years.
  const rules::Period calendar =
      rules::PeriodAt(rules::PeriodKind::kQuarter, {}, nullptr, Utc(2026, 11, 15));
  EXPECT_EQ(Iso(calendar.start), "2026-10-01T00:00:00Z");
  EXPECT_EQ(Iso(calendar.end), "2027-01-01T00:00:00Z");
  EXPECT_EQ(rules::PeriodLabel(rules::PeriodKind::kQuarter, {}, nullptr, calendar.start),
            "2026-Q4");
  EXPECT_EQ(rules::PeriodLabel(rules::PeriodKind::kYear, {}, nullptr, calendar.start), "2026");
  // A fiscal year starting mid-month.
  const rules::Period mid =
      rules::PeriodAt(rules::PeriodKind::kQuarter, {4, 6}, nullptr, Utc(2026, 4, 5));
  EXPECT_EQ(Iso(mid.start), "2026-01-06T00:00:00Z");
  EXPECT_EQ(Iso(mid.end), "2026-04-06T00:00:00Z");
}

// --- config -------------------------------------------------------------------------------

TEST(PeriodConfigTest, ParsesPeriodFiscalYearStartAndCarry) {
  auto config = MustLoad(R"(  period = "quarter"
  fiscal_year_start = "04-01"
  baseline = "carry"
  target = 100
)");
  ASSERT_EQ(config->kpis.size(), 1u);
  const auto& goal = std::get<config::DeadlineGoal>(config->kpis[0].goal->kind);
  EXPECT_EQ(goal.period, rules::PeriodKind::kQuarter);
  EXPECT_EQ(goal.fiscal_year_start, (rules::MonthDay{4, 1}));
  EXPECT_TRUE(goal.carry_baseline);
}

TEST(PeriodConfigTest, ReportsErrorsWithFileLineAndColumn) {
  EXPECT_THAT(Errors(R"(  period = "month"
  baseline = 0
  target = 100
  start = 2026-10-01
  deadline = 2026-12-31
)"),
              ElementsAre(HasSubstr("periods.toml:20:11: \"start\" cannot be used with \"period\""),
                          HasSubstr("periods.toml:21:14: \"deadline\" cannot be used with")));
  EXPECT_THAT(Errors(R"(  period = "fortnight"
  baseline = 0
  target = 100
)"),
              ElementsAre(HasSubstr("periods.toml:17:12: \"period\": \"fortnight\" is not a "
                                    "period; expected week, month, quarter or year")));
  EXPECT_THAT(Errors(R"(  period = "year"
  fiscal_year_start = "02-30"
  baseline = 0
  target = 100
)"),
              ElementsAre(HasSubstr("periods.toml:18:23: \"fiscal_year_start\" must be MM-DD")));
  EXPECT_THAT(Errors(R"(  baseline = "carry"
  target = 100
  start = 2026-10-01
  deadline = 2026-12-31
)"),
              ElementsAre(HasSubstr("periods.toml:17:14: baseline = \"carry\" needs \"period\"")));
  EXPECT_THAT(Errors(R"(  period = "month"
  baseline = "half"
  target = 100
)"),
              ElementsAre(HasSubstr("periods.toml:18:14: \"baseline\" must be a number or")));
  EXPECT_THAT(Errors(R"(  period = "month"
  baseline = 0
  target = 100
  [[kpi.goal.milestone]]
  at = 2026-11-15
  value = 50
)"),
              ElementsAre(HasSubstr("periods.toml:20:3: a recurring goal (\"period\") cannot "
                                    "have milestones")));
}

// --- rollover -----------------------------------------------------------------------------

// The service's use of the engine and the store, without its io loop: what it does at
// start (seed, restore periods), per collection and per evaluation.
class Daemon {
 public:
  Daemon(std::shared_ptr<const config::Config> config, store::Store& store, TimePoint now)
      : store_(store) {
    engine_.Apply(config);
    engine_.SetHistorySource([this](const std::string& kpi) { return StoreLookup(store_, kpi); });
    auto samples = store_.Samples("revenue", TimePoint::min(), 1'000'000);
    engine_.Seed("revenue", std::get<std::vector<rules::Sample>>(samples), now);
    const std::vector<std::string> names = {"revenue"};
    Save(RestorePeriods(store_, engine_, names, now));
  }
  void Collect(double value, TimePoint at) {
    if (auto row = engine_.Record("revenue", collectors::Sample{value, at})) {
      ASSERT_EQ(store_.AppendSamples(std::vector{*row}), std::nullopt);
    }
  }
  void Evaluate(TimePoint now) { Save(engine_.Evaluate(now).periods); }
  const KpiView& view() const { return *engine_.Find("revenue"); }
  const Engine& engine() const { return engine_; }

 private:
  void Save(const std::vector<store::PeriodRow>& rows) {
    ASSERT_EQ(store_.SavePeriods(rows), std::nullopt);
  }
  store::Store& store_;
  Engine engine_;
};

class RolloverTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen(const std::string& file = "kpid.db") {
    store_.reset();
    auto opened = store::Store::Open((dir_.path() / file).string());
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<store::Store>>(opened))
        << std::get<store::Error>(opened).message;
    store_ = std::move(std::get<std::unique_ptr<store::Store>>(opened));
  }
  store::StoredPeriods Stored() const {
    auto loaded = store_->LoadPeriods("revenue", 100);
    EXPECT_TRUE(std::holds_alternative<store::StoredPeriods>(loaded));
    return std::get<store::StoredPeriods>(loaded);
  }
  // Series "kpi_goal_periods_total{result=...}" -> value.
  static std::map<std::string, double> Counted(const Engine& engine) {
    std::map<std::string, double> out;
    for (const auto& family : engine.Collect()) {
      if (family.name != "kpi_goal_periods_total") continue;
      EXPECT_EQ(family.type, prometheus::MetricType::Counter);
      for (const auto& metric : family.metric)
        out[metric.label.back().value] = metric.counter.value;
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(RolloverTest, StoreKeepsAClosedPeriodAsFirstRecordedAndOneOpenPeriodPerKpi) {
  store::PeriodRow open{"revenue", Utc(2026, 10, 1), Utc(2026, 11, 1), 0, 100, "", {}, {}};
  store::PeriodRow closed = open;
  closed.result = "achieved";
  closed.final_value = 120;
  closed.progress = 1.2;
  store::PeriodRow again = closed;
  again.result = "missed";
  store::PeriodRow next{"revenue", Utc(2026, 11, 1), Utc(2026, 12, 1), {}, 100, "", {}, {}};
  ASSERT_EQ(store_->SavePeriods(std::vector{open, closed, again, open, next}), std::nullopt);
  const store::StoredPeriods stored = Stored();
  ASSERT_EQ(stored.closed.size(), 1u);
  EXPECT_EQ(stored.closed[0].result, "achieved");
  EXPECT_EQ(stored.closed[0].final_value, 120);
  EXPECT_EQ(stored.achieved, 1u);
  EXPECT_EQ(stored.missed, 0u);
  ASSERT_TRUE(stored.open);
  EXPECT_EQ(stored.open->start, next.start);
  EXPECT_FALSE(stored.open->baseline);
  // Another KPI's periods are its own.
  auto other = store_->LoadPeriods("orders", 10);
  ASSERT_TRUE(std::holds_alternative<store::StoredPeriods>(other));
  EXPECT_FALSE(std::get<store::StoredPeriods>(other).open);
}

constexpr const char* kMonthly = R"(  period = "month"
  baseline = 0
  target = 100
)";

TEST_F(RolloverTest, ClosesTheMonthWithTheLastSampleAtOrBeforeItsEnd) {
  auto config = MustLoad(kMonthly);
  Daemon daemon(config, *store_, Utc(2026, 10, 10));
  daemon.Collect(10, Utc(2026, 10, 10));
  daemon.Evaluate(Utc(2026, 10, 10));
  ASSERT_TRUE(daemon.view().period);
  EXPECT_EQ(daemon.view().period->label, "2026-10");
  EXPECT_EQ(daemon.view().evaluation.status, rules::Status::kOffTrack);
  // The last sample of October (local time: 2026-11-01 00:00 is 2026-10-31T23:00Z) reaches
  // the target exactly at the end; a later one belongs to November.
  daemon.Collect(100, Utc(2026, 10, 31, 23));
  daemon.Collect(5, Utc(2026, 10, 31, 23, 0, 30));
  daemon.Evaluate(Utc(2026, 10, 31, 22, 59, 59));
  EXPECT_TRUE(Stored().closed.empty());
  daemon.Evaluate(Utc(2026, 10, 31, 23, 1));
  const store::StoredPeriods stored = Stored();
  ASSERT_EQ(stored.closed.size(), 1u);
  const store::PeriodRow& october = stored.closed[0];
  EXPECT_EQ(Iso(october.start), "2026-09-30T22:00:00Z");
  EXPECT_EQ(Iso(october.end), "2026-10-31T23:00:00Z");
  EXPECT_EQ(october.result, "achieved");
  EXPECT_EQ(october.final_value, 100);
  EXPECT_EQ(october.progress, 1);
  ASSERT_TRUE(stored.open);
  EXPECT_EQ(Iso(stored.open->start), "2026-10-31T23:00:00Z");
  EXPECT_EQ(daemon.view().period->label, "2026-11");
  const auto& goal = std::get<rules::DeadlineGoal>(daemon.view().spec.goal->kind);
  EXPECT_EQ(Iso(goal.deadline), "2026-11-30T23:00:00Z");
  EXPECT_THAT(Counted(daemon.engine()),
              (std::map<std::string, double>{{"achieved", 1}, {"missed", 0}}));
}

TEST_F(RolloverTest, FiscalYearRollsOverAtTheLocalMidnightOfItsStart) {
  auto config = MustLoad(R"(  period = "year"
  fiscal_year_start = "04-01"
  baseline = 0
  target = 100
)");
  Daemon daemon(config, *store_, Utc(2027, 3, 1));
  daemon.Collect(70, Utc(2027, 3, 31, 21));
  daemon.Evaluate(Utc(2027, 3, 31, 21, 59));
  EXPECT_EQ(daemon.view().period->label, "FY2026/27");
  daemon.Evaluate(Utc(2027, 3, 31, 22));  // 2027-04-01 00:00 CEST
  EXPECT_EQ(daemon.view().period->label, "FY2027/28");
  const store::StoredPeriods stored = Stored();
  ASSERT_EQ(stored.closed.size(), 1u);
  EXPECT_EQ(stored.closed[0].result, "missed");
  EXPECT_EQ(stored.closed[0].final_value, 70);
  EXPECT_DOUBLE_EQ(*stored.closed[0].progress, 0.7);
  EXPECT_EQ(stored.missed, 1u);
}

TEST_F(RolloverTest, QuarterAndWeekRollOverAcrossDstChanges) {
  {
    auto config = MustLoad(R"(  period = "quarter"
  baseline = 0
  target = 100
)");
    Daemon daemon(config, *store_, Utc(2027, 3, 1));
    daemon.Collect(100, Utc(2027, 3, 30));
    daemon.Evaluate(Utc(2027, 3, 31, 21, 59));  // 23:59 CEST: still Q1
    EXPECT_EQ(daemon.view().period->label, "2027-Q1");
    daemon.Evaluate(Utc(2027, 3, 31, 22));
    EXPECT_EQ(daemon.view().period->label, "2027-Q2");
    ASSERT_EQ(Stored().closed.size(), 1u);
    EXPECT_EQ(Iso(Stored().closed[0].end), "2027-03-31T22:00:00Z");
  }
  Reopen("weekly.db");
  auto weekly = std::make_shared<config::Config>(*MustLoad(kMonthly));
  std::get<config::DeadlineGoal>(weekly->kpis[0].goal->kind).period = rules::PeriodKind::kWeek;
  Daemon daemon(weekly, *store_, Utc(2026, 10, 20));
  daemon.Collect(10, Utc(2026, 10, 20));
  daemon.Evaluate(Utc(2026, 10, 25, 22, 59));  // 23:59 CET on Sunday, the 25-hour day
  EXPECT_EQ(daemon.view().period->label, "2026-W43");
  daemon.Evaluate(Utc(2026, 10, 25, 23));
  EXPECT_EQ(daemon.view().period->label, "2026-W44");
  const store::StoredPeriods stored = Stored();
  ASSERT_EQ(stored.closed.size(), 1u);
  EXPECT_EQ(Iso(stored.closed[0].start), "2026-10-18T22:00:00Z");
  EXPECT_EQ(stored.closed[0].end - stored.closed[0].start, 7 * rules::kDay + hours(1));
}

TEST_F(RolloverTest, ARestartExactlyAtRolloverRecordsOneRow) {
  auto config = MustLoad(kMonthly);
  const TimePoint end = Utc(2026, 10, 31, 23);
  {
    Daemon daemon(config, *store_, Utc(2026, 10, 30));
    daemon.Collect(60, Utc(2026, 10, 30));
    daemon.Evaluate(end - milliseconds(1));
  }
  // Stopped just before the end; started again exactly at it, twice.
  for (int restart = 0; restart < 2; ++restart) {
    Reopen();
    Daemon daemon(config, *store_, end);
    EXPECT_EQ(daemon.view().period->label, "2026-11");
    daemon.Evaluate(end);
    daemon.Evaluate(end + minutes(1));
  }
  // And once more after one that closed the period itself before it stopped.
  Reopen();
  { Daemon daemon(config, *store_, end + minutes(2)); }
  const store::StoredPeriods stored = Stored();
  ASSERT_EQ(stored.closed.size(), 1u);
  EXPECT_EQ(stored.closed[0].result, "missed");
  EXPECT_EQ(stored.closed[0].final_value, 60);
  EXPECT_EQ(stored.missed + stored.achieved, 1u);
  ASSERT_TRUE(stored.open);
  EXPECT_EQ(stored.open->start, end);
}

TEST_F(RolloverTest, ADaemonDownAcrossRolloversRecordsEachPeriodFromStoredHistory) {
  auto config = MustLoad(kMonthly);
  {
    Daemon daemon(config, *store_, Utc(2026, 10, 1));
    daemon.Collect(120, Utc(2026, 10, 20));
    daemon.Evaluate(Utc(2026, 10, 20));
  }
  Reopen();
  // Down until mid-December: October and November close from what the store holds.
  Daemon daemon(config, *store_, Utc(2026, 12, 15));
  const store::StoredPeriods stored = Stored();
  ASSERT_EQ(stored.closed.size(), 2u);
  EXPECT_EQ(Iso(stored.closed[0].start), "2026-10-31T23:00:00Z");  // November, newest first
  EXPECT_EQ(stored.closed[0].result, "achieved");                  // 120 is still the latest value
  EXPECT_EQ(stored.closed[1].result, "achieved");
  EXPECT_EQ(daemon.view().period->label, "2026-12");
  EXPECT_EQ(daemon.view().periods_achieved, 2u);
  // The API lists them newest first; the metric counts them.
  const nlohmann::ordered_json past = api::PastPeriodsJson(daemon.view());
  ASSERT_EQ(past.size(), 2u);
  EXPECT_EQ(past[0]["label"], "2026-11");
  EXPECT_EQ(past[1]["label"], "2026-10");
  EXPECT_EQ(past[1]["result"], "achieved");
  EXPECT_EQ(past[1]["final_value"], 120);
  EXPECT_EQ(past[1]["deadline"], "2026-10-31T23:00:00Z");
  const nlohmann::ordered_json kpi = api::KpiJson(daemon.view());
  EXPECT_EQ(kpi["period"]["label"], "2026-12");
  EXPECT_EQ(kpi["period"]["period"], "month");
  EXPECT_EQ(kpi["period"]["deadline"], "2026-12-31T23:00:00Z");
  EXPECT_EQ(kpi["goal"]["deadline"], "2026-12-31T23:00:00Z");
  EXPECT_THAT(Counted(daemon.engine()),
              (std::map<std::string, double>{{"achieved", 2}, {"missed", 0}}));
  // Restarted again: the counts come back from the store, nothing is recorded twice.
  Reopen();
  Daemon again(config, *store_, Utc(2026, 12, 16));
  EXPECT_THAT(Counted(again.engine()),
              (std::map<std::string, double>{{"achieved", 2}, {"missed", 0}}));
  EXPECT_EQ(Stored().closed.size(), 2u);
}

TEST_F(RolloverTest, CarriedBaselineIsThePreviousClosingValue) {
  auto config = MustLoad(R"(  period = "month"
  baseline = "carry"
  target = 1200
)");
  Daemon daemon(config, *store_, Utc(2026, 10, 5));
  daemon.Evaluate(Utc(2026, 10, 5));
  // No value yet: no baseline.
  ASSERT_TRUE(daemon.view().period);
  EXPECT_FALSE(daemon.view().period->baseline);
  // The KPI's first period: its first value is the baseline.
  daemon.Collect(1000, Utc(2026, 10, 6));
  daemon.Collect(1100, Utc(2026, 10, 20));
  daemon.Evaluate(Utc(2026, 10, 20));
  EXPECT_EQ(daemon.view().period->baseline, 1000);
  EXPECT_DOUBLE_EQ(daemon.view().evaluation.variables.progress, 0.5);
  daemon.Collect(1150, Utc(2026, 10, 31, 12));
  daemon.Evaluate(Utc(2026, 11, 1));
  const store::StoredPeriods stored = Stored();
  ASSERT_EQ(stored.closed.size(), 1u);
  EXPECT_EQ(stored.closed[0].baseline, 1000);
  EXPECT_DOUBLE_EQ(*stored.closed[0].progress, 0.75);
  // November starts from October's closing value, in memory and in the store.
  EXPECT_EQ(daemon.view().period->baseline, 1150);
  ASSERT_TRUE(stored.open);
  EXPECT_EQ(stored.open->baseline, 1150);
  Reopen();
  Daemon restarted(config, *store_, Utc(2026, 11, 2));
  EXPECT_EQ(restarted.view().period->baseline, 1150);
  const auto& goal = std::get<rules::DeadlineGoal>(restarted.view().spec.goal->kind);
  EXPECT_EQ(goal.baseline, 1150);
}

}  // namespace
}  // namespace kpid
