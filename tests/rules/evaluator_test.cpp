#include "rules/evaluator.hpp"

#include <chrono>
#include <cmath>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <date/date.h>
#include <gtest/gtest.h>

#include "rules/expression.hpp"
#include "tests/rules/rules_printers.hpp"

namespace kpid::rules {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr TimePoint Day(int y, unsigned m, unsigned d) {
  return date::sys_days(date::year(y) / date::month(m) / date::day(d));
}

constexpr TimePoint kStart = Day(2026, 1, 1);
constexpr TimePoint kMid = Day(2026, 1, 6);
constexpr TimePoint kDeadline = Day(2026, 1, 11);

// 0 -> 100 over 10 days; stale after 2 h.
KpiSpec Deadline(bool use_forecast = false) {
  DeadlineGoal g;
  g.baseline = 0;
  g.target = 100;
  g.start = kStart;
  g.deadline = kDeadline;
  g.forecast_window = hours(24 * 30);
  g.use_forecast = use_forecast;
  KpiSpec spec;
  spec.stale_after = hours(2);
  spec.goal = Goal{g, {Status::kOffTrack, Status::kMissed, Status::kNoData}, {}};
  return spec;
}

KpiSpec Band() {
  KpiSpec spec;
  spec.stale_after = hours(2);
  spec.goal = Goal{BandGoal{std::nullopt, 0.03, std::nullopt, 0.025}, {}, {}};
  return spec;
}

Evaluation EvaluateWith(const KpiSpec& spec, const std::vector<Sample>& samples, TimePoint now,
                        bool collected_once = true) {
  Series series = MakeSeries(spec);
  for (const Sample& s : samples) EXPECT_TRUE(series.Add(s));
  return Evaluate(spec, series, collected_once, now);
}

TEST(EvaluatorTest, NothingIsJudgedBeforeTheFirstCollection) {
  const Evaluation e = EvaluateWith(Deadline(), {}, kMid, false);
  EXPECT_FALSE(e.judged);
  EXPECT_FALSE(e.status.has_value());
  // Even a backfilled value is not judged yet, but its variables are there.
  const Evaluation backfilled = EvaluateWith(Deadline(), {{kMid, 50}}, kMid, false);
  EXPECT_FALSE(backfilled.judged);
  EXPECT_FALSE(backfilled.status.has_value());
  EXPECT_EQ(backfilled.variables.value, 50.0);
}

TEST(EvaluatorTest, NoSampleAfterTheFirstCollectionIsNoData) {
  const Evaluation e = EvaluateWith(Deadline(), {}, kMid);
  EXPECT_TRUE(e.judged);
  EXPECT_EQ(e.status, Status::kNoData);
  EXPECT_TRUE(std::isnan(e.variables.value));
  EXPECT_TRUE(std::isnan(e.variables.progress));
  EXPECT_TRUE(std::isnan(e.variables.gap));
  EXPECT_DOUBLE_EQ(e.variables.expected_progress, 0.5);  // known without a value
  EXPECT_EQ(EvaluateWith(Band(), {}, kMid).status, Status::kNoData);
}

TEST(EvaluatorTest, AKpiWithoutGoalHasVariablesButNoStatus) {
  KpiSpec spec;
  const Evaluation e = EvaluateWith(spec, {{kMid - hours(1), 3}, {kMid, 5}}, kMid);
  EXPECT_TRUE(e.judged);
  EXPECT_FALSE(e.status.has_value());
  EXPECT_EQ(e.variables.value, 5.0);
  EXPECT_EQ(e.variables.delta, 2.0);
  EXPECT_TRUE(std::isnan(e.variables.target));
}

struct StaleCase {
  const char* name;
  KpiSpec spec;
  double value;
  Duration age;
  Status status;
};

void PrintTo(const StaleCase& c, std::ostream* os) { *os << c.name; }

class StaleTest : public testing::TestWithParam<StaleCase> {};

TEST_P(StaleTest, Status) {
  const StaleCase& c = GetParam();
  EXPECT_EQ(EvaluateWith(c.spec, {{kMid - c.age, c.value}}, kMid).status, c.status);
}

INSTANTIATE_TEST_SUITE_P(
    All, StaleTest,
    testing::Values(StaleCase{"fresh", Deadline(), 50, minutes(1), Status::kOnTrack},
                    StaleCase{"exactly_stale_after", Deadline(), 50, hours(2), Status::kOnTrack},
                    StaleCase{"just_older", Deadline(), 50, hours(2) + std::chrono::nanoseconds(1),
                              Status::kNoData},
                    StaleCase{"stale_beats_achieved", Deadline(), 150, hours(3), Status::kNoData},
                    StaleCase{"fresh_achieved", Deadline(), 150, hours(1), Status::kAchieved},
                    StaleCase{"stale_beats_off_track", Deadline(), 0, hours(3), Status::kNoData},
                    StaleCase{"band_fresh", Band(), 0.01, hours(2), Status::kOnTrack},
                    StaleCase{"band_stale", Band(), 0.01, hours(2) + seconds(1), Status::kNoData},
                    StaleCase{"band_stale_beats_off_track", Band(), 0.5, hours(5), Status::kNoData},
                    StaleCase{"future_sample_is_fresh", Deadline(), 50, -hours(5),
                              Status::kOnTrack}),
    [](const testing::TestParamInfo<StaleCase>& p) { return std::string(p.param.name); });

TEST(EvaluatorTest, StatusesOverTime) {
  const KpiSpec spec = Deadline();
  struct Case {
    TimePoint now;
    double value;
    Status status;
  };
  const Case cases[] = {
      {kStart - hours(1), 0, Status::kOnTrack},    // before start: e = 0
      {kStart + hours(24), 10, Status::kOnTrack},  // on the line
      {kMid, 45, Status::kOnTrack},                // gap exactly 0.05
      {kMid, 44, Status::kAtRisk},                 // 0.06
      {kMid, 35, Status::kAtRisk},                 // exactly 0.15
      {kMid, 34, Status::kOffTrack},               // 0.16
      {kDeadline, 99, Status::kOnTrack},           // at the deadline: not missed
      {kDeadline, 80, Status::kOffTrack},          // 0.2 behind at the deadline
      {kDeadline + seconds(1), 99, Status::kMissed},
      {kDeadline + seconds(1), 100, Status::kAchieved},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(date::format("%FT%T ", c.now) + std::to_string(c.value));
    EXPECT_EQ(EvaluateWith(spec, {{c.now, c.value}}, c.now).status, c.status);
  }
}

TEST(EvaluatorTest, VariablesOfADeadlineGoal) {
  // Hourly values 30, 35, 40 up to the middle: 5 per hour forecasts far beyond the target.
  const std::vector<Sample> samples = {{kMid - hours(2), 30}, {kMid - hours(1), 35}, {kMid, 40}};
  const Evaluation e = EvaluateWith(Deadline(), samples, kMid + minutes(30));
  const Variables& v = e.variables;
  EXPECT_EQ(v.value, 40.0);
  EXPECT_EQ(v.prev, 35.0);
  EXPECT_EQ(v.delta, 5.0);
  EXPECT_EQ(v.baseline, 0.0);
  EXPECT_EQ(v.target, 100.0);
  const double e_t = (5 * 24 + 0.5) / 240.0;
  EXPECT_DOUBLE_EQ(v.expected_progress, e_t);
  EXPECT_DOUBLE_EQ(v.expected, 100 * e_t);
  EXPECT_DOUBLE_EQ(v.progress, 0.4);
  EXPECT_DOUBLE_EQ(v.gap, e_t - 0.4);
  EXPECT_NEAR(v.forecast, 40 + 5 * 120, 1e-9);
  EXPECT_NEAR(v.forecast_progress, 6.4, 1e-11);
  EXPECT_DOUBLE_EQ(v.days_left, 5 - 0.5 / 24);
  EXPECT_DOUBLE_EQ(v.age_seconds, 1800.0);
  EXPECT_DOUBLE_EQ(v.avg_7d, 35.0);
  EXPECT_EQ(v.min_7d, 30.0);
  EXPECT_EQ(v.max_7d, 40.0);
  EXPECT_EQ(e.status, Status::kAtRisk);  // gap 0.102: past at_risk, within off_track
}

TEST(EvaluatorTest, BandGoalVariables) {
  const Evaluation e = EvaluateWith(Band(), {{kMid - hours(1), 0.02}, {kMid, 0.027}}, kMid);
  EXPECT_EQ(e.status, Status::kAtRisk);
  EXPECT_EQ(e.variables.value, 0.027);
  EXPECT_NEAR(e.variables.delta, 0.007, 1e-15);
  for (double v : {e.variables.baseline, e.variables.target, e.variables.expected,
                   e.variables.progress, e.variables.expected_progress, e.variables.gap,
                   e.variables.forecast, e.variables.forecast_progress, e.variables.days_left}) {
    EXPECT_TRUE(std::isnan(v));
  }
  EXPECT_EQ(e.variables.max_7d, 0.027);
}

TEST(EvaluatorTest, ForecastMakesTheStatusWorseOnlyWithUseForecast) {
  // On the line now (50 at half time), but flat for the last three days: the forecast at
  // the deadline is 50, f = 0.5.
  std::vector<Sample> samples;
  for (int h = 72; h >= 0; h -= 6) samples.push_back({kMid - hours(h), 50});
  const Evaluation plain = EvaluateWith(Deadline(false), samples, kMid);
  const Evaluation forecast = EvaluateWith(Deadline(true), samples, kMid);
  EXPECT_NEAR(plain.variables.forecast_progress, 0.5, 1e-12);
  EXPECT_EQ(plain.status, Status::kOnTrack);
  EXPECT_EQ(forecast.status, Status::kOffTrack);

  // On the line, rising 0.35 per hour: 50 + 0.35 * 120 = 92 at the deadline, f = 0.92:
  // at_risk, only through the forecast.
  std::vector<Sample> rising;
  for (int h = 0; h <= 4; ++h) rising.push_back({kMid - hours(4 - h), 48.6 + 0.35 * h});
  const Evaluation slow = EvaluateWith(Deadline(true), rising, kMid);
  EXPECT_NEAR(slow.variables.forecast_progress, 0.92, 1e-9);
  EXPECT_EQ(slow.status, Status::kAtRisk);
  EXPECT_EQ(EvaluateWith(Deadline(false), rising, kMid).status, Status::kOnTrack);

  // Fewer than three samples: no forecast, no effect.
  const Evaluation two = EvaluateWith(Deadline(true), {{kMid - hours(1), 50}, {kMid, 50}}, kMid);
  EXPECT_TRUE(std::isnan(two.variables.forecast));
  EXPECT_EQ(two.status, Status::kOnTrack);
}

TEST(EvaluatorTest, VariableSlotsWriteIntoAVariableSet) {
  std::vector<std::string> names(kExpressionVariableNames.begin(), kExpressionVariableNames.end());
  names.emplace_back("other_kpi");
  VariableSet set(names);
  set.Set("other_kpi", 7);
  const VariableSlots slots(set);
  Variables v = NoVariables();
  v.value = 1;
  v.max_7d = 16;
  v.gap = 9;
  slots.Write(v);
  EXPECT_EQ(set.Get("value"), 1.0);
  EXPECT_EQ(set.Get("gap"), 9.0);
  EXPECT_EQ(set.Get("max_7d"), 16.0);
  EXPECT_TRUE(std::isnan(*set.Get("prev")));
  EXPECT_EQ(set.Get("other_kpi"), 7.0);

  // Every name maps to its own field: the fields are in name order.
  const Variables all{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  slots.Write(all);
  for (std::size_t i = 0; i < kExpressionVariableNames.size(); ++i) {
    const auto want = static_cast<double>(i + 1);
    EXPECT_EQ(set.Get(kExpressionVariableNames[i]), want) << kExpressionVariableNames[i];
    EXPECT_EQ(VariableByName(all, kExpressionVariableNames[i]), want);
  }
  EXPECT_EQ(VariableByName(all, "forecast_progress"), 11.0);
  EXPECT_EQ(VariableByName(all, "age_seconds"), 13.0);
  EXPECT_FALSE(VariableByName(v, "nope").has_value());

  // A set with only some of the names.
  VariableSet partial(std::vector<std::string>{"delta"});
  VariableSlots(partial).Write(v);
  EXPECT_TRUE(std::isnan(*partial.Get("delta")));
}

TEST(EvaluatorTest, RuleExpressionsReadTheVariables) {
  std::vector<std::string> names(kExpressionVariableNames.begin(), kExpressionVariableNames.end());
  VariableSet set(names);
  auto compiled = Expression::Compile("gap > 0.05 && days_left < 5", set);
  ASSERT_TRUE(std::holds_alternative<Expression>(compiled));
  const Expression& expr = std::get<Expression>(compiled);
  const VariableSlots slots(set);

  slots.Write(EvaluateWith(Deadline(), {{kMid, 40}}, kMid + hours(1)).variables);
  EXPECT_EQ(std::get<double>(expr.Evaluate()), 1.0);
  slots.Write(EvaluateWith(Deadline(), {{kMid, 60}}, kMid + hours(1)).variables);
  EXPECT_EQ(std::get<double>(expr.Evaluate()), 0.0);
}

}  // namespace
}  // namespace kpid::rules
