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

// Four daily samples (0, 2, 2, 4) on 2026-01-01..04 have the least-squares line
// y = 2 + 1.2 (x - 1.5) in days, residual variance s^2 = (8 - 6^2/5) / 2 = 0.4 and
// sxx = 5 (day^2). At the deadline, day 10: forecast 12.2, prediction error
// sqrt(0.4 (1 + 1/4 + 8.5^2 / 5)) = sqrt(6.28), 2 degrees of freedom.
TEST(EvaluatorTest, OutlookFromAFitWithKnownAnswers) {
  KpiSpec spec = Deadline();
  auto& goal = std::get<DeadlineGoal>(spec.goal->kind);
  goal.target = 12;
  spec.stale_after = hours(48);
  const TimePoint now = Day(2026, 1, 4);
  const Evaluation e =
      EvaluateWith(spec, {{kStart, 0}, {Day(2026, 1, 2), 2}, {Day(2026, 1, 3), 2}, {now, 4}}, now);
  const Variables& v = e.variables;
  EXPECT_NEAR(v.forecast, 12.2, 1e-9);
  EXPECT_NEAR(v.current_rate, 1.2, 1e-9);
  EXPECT_NEAR(v.required_rate, (12.0 - 4.0) / 7.0, 1e-9);

  const double error = std::sqrt(6.28);
  // Student's t with 2 degrees of freedom in closed form: F(t) = 1/2 + t / (2 sqrt(2 + t^2));
  // its p quantile is (2p - 1) sqrt(2 / (4p (1 - p))), for p = 0.9: 1.8856180831641267.
  const double q90 = 1.8856180831641267;
  EXPECT_NEAR(v.forecast_lower, 12.2 - q90 * error, 1e-6);
  EXPECT_NEAR(v.forecast_upper, 12.2 + q90 * error, 1e-6);
  const double z = (12.0 - 12.2) / error;
  EXPECT_NEAR(v.likelihood, 1 - (0.5 + z / (2 * std::sqrt(2 + z * z))), 1e-9);
  EXPECT_GT(v.likelihood, 0.5);  // the line passes the target just before the deadline

  // The line reaches 12 at day 1.5 + 10 / 1.2 after 2026-01-01, i.e. 6.8333 days from now.
  EXPECT_NEAR(v.days_to_target, 1.5 + 10 / 1.2 - 3, 1e-6);
  ASSERT_TRUE(e.projected_hit.has_value());
  EXPECT_NEAR(std::chrono::duration<double>(*e.projected_hit - now).count(),
              (1.5 + 10 / 1.2 - 3) * 86400, 1e-3);
}

TEST(EvaluatorTest, StudentTCdfAndTheBandQuantileAgree) {
  // Exact below 100 degrees of freedom (the closed form for 2), an approximation above:
  // either way the band's quantile maps back to its probability.
  EXPECT_NEAR(StudentTCdf(2, 1.0), 0.5 + 1.0 / (2 * std::sqrt(3.0)), 1e-12);
  for (std::size_t dof : {1u, 2u, 10u, 99u, 100u, 150u, 1000u, 2878u, 100000u}) {
    const double q = ForecastBandQuantile(dof);
    EXPECT_NEAR(StudentTCdf(static_cast<double>(dof), q), 0.9, 2e-4) << dof;
    EXPECT_NEAR(StudentTCdf(static_cast<double>(dof), -q), 0.1, 2e-4) << dof;
  }
  EXPECT_EQ(StudentTCdf(500, 0), 0.5);
}

TEST(EvaluatorTest, OutlookOfExactLinesAndEdgeCases) {
  const KpiSpec spec = Deadline();  // 0 -> 100 by 2026-01-11
  // Exactly 10 a day: certain, the band is a point, the line reaches 100 on 2026-01-11.
  const TimePoint now = Day(2026, 1, 4);
  Evaluation e = EvaluateWith(
      spec, {{kStart, 0}, {Day(2026, 1, 2), 10}, {Day(2026, 1, 3), 20}, {now, 30}}, now);
  EXPECT_NEAR(e.variables.current_rate, 10, 1e-9);
  EXPECT_NEAR(e.variables.required_rate, 10, 1e-9);
  EXPECT_NEAR(e.variables.forecast_lower, 100, 1e-6);
  EXPECT_NEAR(e.variables.forecast_upper, 100, 1e-6);
  EXPECT_EQ(e.variables.likelihood, 1);
  EXPECT_NEAR(e.variables.days_to_target, 7, 1e-6);

  // Going the wrong way: no hit date, and a likelihood near 0.
  e = EvaluateWith(spec, {{kStart, 30}, {Day(2026, 1, 2), 21}, {Day(2026, 1, 3), 9}, {now, 0}},
                   now);
  EXPECT_LT(e.variables.current_rate, 0);
  EXPECT_TRUE(std::isnan(e.variables.days_to_target));
  EXPECT_FALSE(e.projected_hit.has_value());
  EXPECT_LT(e.variables.likelihood, 0.01);

  // Flat: no hit date either.
  e = EvaluateWith(spec, {{kStart, 5}, {Day(2026, 1, 2), 5}, {Day(2026, 1, 3), 5}, {now, 5}}, now);
  EXPECT_EQ(e.variables.current_rate, 0);
  EXPECT_TRUE(std::isnan(e.variables.days_to_target));
  EXPECT_EQ(e.variables.likelihood, 0);

  // Two samples: a required rate, but no line to judge the outlook from.
  e = EvaluateWith(spec, {{Day(2026, 1, 3), 20}, {now, 30}}, now);
  EXPECT_NEAR(e.variables.required_rate, 10, 1e-9);
  EXPECT_TRUE(std::isnan(e.variables.current_rate));
  EXPECT_TRUE(std::isnan(e.variables.likelihood));
  EXPECT_TRUE(std::isnan(e.variables.forecast_lower));

  // Achieved: likelihood 1, hit at the sample that reached it; missed: likelihood 0 and no
  // required rate once the deadline passed.
  e = EvaluateWith(spec, {{Day(2026, 1, 3), 20}, {now, 100}}, now);
  EXPECT_EQ(e.variables.likelihood, 1);
  EXPECT_EQ(e.variables.days_to_target, 0);
  EXPECT_EQ(e.projected_hit, now);
  const TimePoint late = kDeadline + hours(1);
  e = EvaluateWith(spec, {{kStart, 0}, {Day(2026, 1, 5), 40}, {kDeadline, 80}, {late, 90}}, late);
  EXPECT_EQ(e.status, Status::kMissed);
  EXPECT_EQ(e.variables.likelihood, 0);
  EXPECT_TRUE(std::isnan(e.variables.required_rate));

  // A goal that goes down: rates are negative, the likelihood is of reaching it from above.
  KpiSpec down = Deadline();
  auto& goal = std::get<DeadlineGoal>(down.goal->kind);
  goal.baseline = 100;
  goal.target = 0;
  e = EvaluateWith(down, {{kStart, 100}, {Day(2026, 1, 2), 90}, {Day(2026, 1, 3), 80}, {now, 70}},
                   now);
  EXPECT_NEAR(e.variables.current_rate, -10, 1e-9);
  EXPECT_NEAR(e.variables.required_rate, -10, 1e-9);
  EXPECT_EQ(e.variables.likelihood, 1);
  EXPECT_NEAR(e.variables.days_to_target, 7, 1e-6);
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
  const Variables all{1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22};
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
