#include "rules/goal.hpp"

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include "rules/status.hpp"
#include "rules/time_spec.hpp"
#include "tests/rules/rules_printers.hpp"

namespace kpid::rules {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::nanoseconds;

constexpr TimePoint Day(int y, unsigned m, unsigned d) {
  return date::sys_days(date::year(y) / date::month(m) / date::day(d));
}

// 0 -> 100 over the 10 days 2026-01-01 .. 2026-01-11 (UTC): a day is 10 % of the way.
DeadlineGoal Up() {
  DeadlineGoal g;
  g.baseline = 0;
  g.target = 100;
  g.start = Day(2026, 1, 1);
  g.deadline = Day(2026, 1, 11);
  return g;
}

// 10 -> 3 over the same days: "bring it down".
DeadlineGoal Down() {
  DeadlineGoal g = Up();
  g.baseline = 10;
  g.target = 3;
  return g;
}

TEST(GoalTest, ProgressGoingUpAndDown) {
  EXPECT_DOUBLE_EQ(Progress(Up(), 0), 0.0);
  EXPECT_DOUBLE_EQ(Progress(Up(), 45), 0.45);
  EXPECT_EQ(Progress(Up(), 100), 1.0);
  EXPECT_DOUBLE_EQ(Progress(Up(), -10), -0.1);
  EXPECT_DOUBLE_EQ(Progress(Down(), 10), 0.0);
  EXPECT_DOUBLE_EQ(Progress(Down(), 6.5), 0.5);
  EXPECT_EQ(Progress(Down(), 3), 1.0);
  EXPECT_GT(Progress(Down(), 2), 1.0);
  EXPECT_LT(Progress(Down(), 11), 0.0);
}

struct ExpectedCase {
  TimePoint t;
  double expected;
};

TEST(GoalTest, ExpectedProgressIsClampedAndLinear) {
  const DeadlineGoal g = Up();
  const ExpectedCase cases[] = {
      {Day(2025, 12, 1), 0.0},
      {Day(2026, 1, 1) - nanoseconds(1), 0.0},
      {Day(2026, 1, 1), 0.0},
      {Day(2026, 1, 2), 0.1},
      {Day(2026, 1, 6), 0.5},
      {Day(2026, 1, 6) + hours(12), 0.55},
      {Day(2026, 1, 11) - hours(24), 0.9},
      {Day(2026, 1, 11), 1.0},
      {Day(2026, 1, 11) + nanoseconds(1), 1.0},
      {Day(2027, 1, 1), 1.0},
  };
  for (const ExpectedCase& c : cases) {
    SCOPED_TRACE(date::format("%FT%T", c.t));
    EXPECT_DOUBLE_EQ(ExpectedProgress(g, c.t), c.expected);
  }
}

TEST(GoalTest, ExpectedValueGoingUpAndDown) {
  EXPECT_DOUBLE_EQ(ExpectedValue(Up(), 0.25), 25.0);
  EXPECT_DOUBLE_EQ(ExpectedValue(Down(), 0.0), 10.0);
  EXPECT_DOUBLE_EQ(ExpectedValue(Down(), 0.5), 6.5);
  EXPECT_DOUBLE_EQ(ExpectedValue(Down(), 1.0), 3.0);
}

// Milestones: 20 at the end of day 2 (2026-01-03 00:00), 80 on 2026-01-09 00:00. The
// trajectory goes (01-01, 0) (01-03, 0.2) (01-09, 0.8) (01-11, 1).
TEST(GoalTest, ExpectedProgressThroughMilestones) {
  DeadlineGoal g = Up();
  g.milestones = {{Day(2026, 1, 3), 20}, {Day(2026, 1, 9), 80}};
  const ExpectedCase cases[] = {
      {Day(2026, 1, 1), 0.0},
      {Day(2026, 1, 2), 0.1},                   // before the first milestone
      {Day(2026, 1, 3) - nanoseconds(1), 0.2},  // just before it (rounded)
      {Day(2026, 1, 3), 0.2},                   // exactly at it
      {Day(2026, 1, 6), 0.5},                   // between the milestones
      {Day(2026, 1, 9), 0.8},                   // at the second
      {Day(2026, 1, 10), 0.9},                  // after the last
      {Day(2026, 1, 11), 1.0},
  };
  for (const ExpectedCase& c : cases) {
    SCOPED_TRACE(date::format("%FT%T", c.t));
    EXPECT_NEAR(ExpectedProgress(g, c.t), c.expected, 1e-12);
  }
}

TEST(GoalTest, MilestonesBendTheTrajectory) {
  DeadlineGoal g = Up();
  g.milestones = {{Day(2026, 1, 6), 20}};  // a slow start: 20 % at half time
  EXPECT_DOUBLE_EQ(ExpectedProgress(g, Day(2026, 1, 6)), 0.2);
  EXPECT_DOUBLE_EQ(ExpectedProgress(g, Day(2026, 1, 3) + hours(12)), 0.1);
  EXPECT_DOUBLE_EQ(ExpectedProgress(g, Day(2026, 1, 8) + hours(12)), 0.6);
  // Going down: 10 -> 3 with 8.6 (20 %) at half time.
  DeadlineGoal d = Down();
  d.milestones = {{Day(2026, 1, 6), 8.6}};
  EXPECT_NEAR(ExpectedProgress(d, Day(2026, 1, 6)), 0.2, 1e-12);
  EXPECT_NEAR(ExpectedValue(d, ExpectedProgress(d, Day(2026, 1, 6))), 8.6, 1e-12);
}

TEST(GoalTest, MilestonesOutsideTheGoalOrOutOfOrderAreIgnored) {
  DeadlineGoal g = Up();
  g.milestones = {{Day(2026, 1, 1), 50},   // at start
                  {Day(2026, 1, 6), 20},   // kept
                  {Day(2026, 1, 4), 90},   // before the one before
                  {Day(2026, 1, 6), 70},   // same instant as the one before
                  {Day(2026, 1, 11), 10},  // at the deadline
                  {Day(2026, 2, 1), 10}};  // after it
  EXPECT_DOUBLE_EQ(ExpectedProgress(g, Day(2026, 1, 6)), 0.2);
  EXPECT_DOUBLE_EQ(ExpectedProgress(g, Day(2026, 1, 3) + hours(12)), 0.1);
  EXPECT_DOUBLE_EQ(ExpectedProgress(g, Day(2026, 1, 8) + hours(12)), 0.6);
  EXPECT_DOUBLE_EQ(ExpectedProgress(g, Day(2026, 1, 11)), 1.0);
}

TEST(GoalTest, DaysLeftIsFractionalAndZeroFromTheDeadline) {
  EXPECT_DOUBLE_EQ(DaysLeft(Up(), Day(2026, 1, 1)), 10.0);
  EXPECT_DOUBLE_EQ(DaysLeft(Up(), Day(2026, 1, 10) + hours(18)), 0.25);
  EXPECT_EQ(DaysLeft(Up(), Day(2026, 1, 11)), 0.0);
  EXPECT_EQ(DaysLeft(Up(), Day(2026, 3, 1)), 0.0);
}

// Europe/Berlin leaves summer time on 2026-10-25 (03:00 CEST -> 02:00 CET): October 2026
// has 31 * 24 + 1 = 745 real hours, and the trajectory counts them.
TEST(GoalTest, ExpectedProgressCountsRealHoursAcrossDst) {
  const date::time_zone* berlin = date::locate_zone("Europe/Berlin");
  const TimeSpec start{TimeSpec::Kind::kDate, 2026, 10, 1};
  const TimeSpec deadline{TimeSpec::Kind::kDate, 2026, 10, 31};
  DeadlineGoal g;
  g.baseline = 0;
  g.target = 745;
  g.start = Resolve(start, berlin, DayBound::kStart);
  g.deadline = Resolve(deadline, berlin, DayBound::kEnd);
  ASSERT_EQ(g.deadline - g.start, hours(745));

  auto local = [&](int day, int hour) {
    return TimePoint(Resolve({TimeSpec::Kind::kLocalDateTime, 2026, 10, day, hour, 0, 0, 0, 0},
                             berlin, DayBound::kStart));
  };
  EXPECT_DOUBLE_EQ(ExpectedProgress(g, local(16, 0)), 360.0 / 745.0);  // before the change
  EXPECT_DOUBLE_EQ(ExpectedProgress(g, local(25, 2)), 578.0 / 745.0);  // 02:00 CEST
  EXPECT_DOUBLE_EQ(ExpectedProgress(g, local(26, 0)), 601.0 / 745.0);  // after: one more hour
  EXPECT_NE(ExpectedProgress(g, local(26, 0)), 25.0 / 31.0);           // not calendar days
  EXPECT_DOUBLE_EQ(ExpectedValue(g, ExpectedProgress(g, local(26, 0))), 601.0);
  EXPECT_DOUBLE_EQ(DaysLeft(g, local(31, 0)), 1.0);
  EXPECT_DOUBLE_EQ(DaysLeft(g, local(25, 0)), 7.0 + 1.0 / 24.0);
}

struct JudgeCase {
  const char* name;
  DeadlineGoal goal;
  TimePoint t;
  double value;
  double expected_progress;
  std::optional<double> forecast_progress;
  Status status;
};

DeadlineGoal WithForecast(DeadlineGoal g) {
  g.use_forecast = true;
  return g;
}

void PrintTo(const JudgeCase& c, std::ostream* os) { *os << c.name; }

class JudgeDeadlineTest : public testing::TestWithParam<JudgeCase> {};

TEST_P(JudgeDeadlineTest, Status) {
  const JudgeCase& c = GetParam();
  EXPECT_EQ(JudgeDeadline(c.goal, c.t, c.value, c.expected_progress, c.forecast_progress),
            c.status);
}

constexpr TimePoint kMid = Day(2026, 1, 6);
constexpr TimePoint kDeadline = Day(2026, 1, 11);

// at_risk = 0.05, off_track = 0.15 (the defaults).
INSTANTIATE_TEST_SUITE_P(
    Boundaries, JudgeDeadlineTest,
    testing::Values(
        JudgeCase{"achieved_exactly", Up(), kMid, 100, 0.5, {}, Status::kAchieved},
        JudgeCase{"achieved_beyond", Up(), kMid, 130, 0.5, {}, Status::kAchieved},
        JudgeCase{"just_short_of_target", Up(), kMid, 99.99, 0.5, {}, Status::kOnTrack},
        JudgeCase{
            "achieved_beats_missed", Up(), kDeadline + hours(1), 100, 1, {}, Status::kAchieved},
        JudgeCase{"at_deadline_not_missed", Up(), kDeadline, 99, 1, {}, Status::kOnTrack},
        JudgeCase{
            "one_ns_after_deadline", Up(), kDeadline + nanoseconds(1), 99, 1, {}, Status::kMissed},
        JudgeCase{"missed_beats_off_track", Up(), kDeadline + hours(1), 10, 1, {}, Status::kMissed},
        JudgeCase{"gap_zero", Up(), kMid, 50, 0.5, {}, Status::kOnTrack},
        JudgeCase{"ahead", Up(), kMid, 70, 0.5, {}, Status::kOnTrack},
        JudgeCase{"gap_exactly_at_risk", Up(), kMid, 45, 0.5, {}, Status::kOnTrack},
        // 0.75 - 0.70 is 0.05000000000000004 in binary: still exactly at_risk.
        JudgeCase{"gap_exactly_at_risk_binary", Up(), kMid, 70, 0.75, {}, Status::kOnTrack},
        JudgeCase{"gap_above_at_risk", Up(), kMid, 44.999, 0.5, {}, Status::kAtRisk},
        JudgeCase{"gap_exactly_off_track", Up(), kMid, 35, 0.5, {}, Status::kAtRisk},
        JudgeCase{"gap_exactly_off_track_binary", Up(), kMid, 50, 0.65, {}, Status::kAtRisk},
        JudgeCase{"gap_above_off_track", Up(), kMid, 34.999, 0.5, {}, Status::kOffTrack},
        JudgeCase{
            "below_baseline_before_start", Up(), Day(2025, 12, 1), -20, 0, {}, Status::kOffTrack},
        // Going down: 10 -> 3.
        JudgeCase{"down_achieved_exactly", Down(), kMid, 3, 0.5, {}, Status::kAchieved},
        JudgeCase{"down_achieved_beyond", Down(), kMid, 2, 0.5, {}, Status::kAchieved},
        JudgeCase{"down_on_track", Down(), kMid, 6.5, 0.5, {}, Status::kOnTrack},
        JudgeCase{"down_gap_exactly_at_risk", Down(), kMid, 6.85, 0.5, {}, Status::kOnTrack},
        JudgeCase{"down_gap_above_at_risk", Down(), kMid, 6.86, 0.5, {}, Status::kAtRisk},
        JudgeCase{"down_gap_exactly_off_track", Down(), kMid, 7.55, 0.5, {}, Status::kAtRisk},
        JudgeCase{"down_gap_above_off_track", Down(), kMid, 7.56, 0.5, {}, Status::kOffTrack},
        JudgeCase{"down_went_up", Down(), kMid, 12, 0.5, {}, Status::kOffTrack},
        JudgeCase{"down_missed", Down(), kDeadline + hours(1), 3.5, 1, {}, Status::kMissed},
        // The forecast only counts with use_forecast, and only makes things worse.
        JudgeCase{"forecast_ignored", Up(), kMid, 50, 0.5, 0.1, Status::kOnTrack},
        JudgeCase{"forecast_fine", WithForecast(Up()), kMid, 50, 0.5, 1.2, Status::kOnTrack},
        JudgeCase{"forecast_exactly_at_risk", WithForecast(Up()), kMid, 50, 0.5, 0.95,
                  Status::kOnTrack},
        JudgeCase{"forecast_at_risk", WithForecast(Up()), kMid, 50, 0.5, 0.9499, Status::kAtRisk},
        JudgeCase{"forecast_exactly_off_track", WithForecast(Up()), kMid, 50, 0.5, 0.85,
                  Status::kAtRisk},
        JudgeCase{"forecast_off_track", WithForecast(Up()), kMid, 50, 0.5, 0.8499,
                  Status::kOffTrack},
        JudgeCase{"forecast_worse_than_gap", WithForecast(Up()), kMid, 44, 0.5, 0.5,
                  Status::kOffTrack},
        JudgeCase{"forecast_cannot_improve", WithForecast(Up()), kMid, 30, 0.5, 2.0,
                  Status::kOffTrack},
        JudgeCase{"no_forecast", WithForecast(Up()), kMid, 50, 0.5, std::nullopt, Status::kOnTrack},
        JudgeCase{"down_forecast_off_track", WithForecast(Down()), kMid, 6.5, 0.5, 0.5,
                  Status::kOffTrack},
        JudgeCase{"forecast_does_not_beat_achieved", WithForecast(Up()), kMid, 100, 0.5, 0.1,
                  Status::kAchieved}),
    [](const testing::TestParamInfo<JudgeCase>& p) { return std::string(p.param.name); });

struct BandCase {
  const char* name;
  BandGoal goal;
  double value;
  Status status;
};

void PrintTo(const BandCase& c, std::ostream* os) { *os << c.name; }

class JudgeBandTest : public testing::TestWithParam<BandCase> {};

TEST_P(JudgeBandTest, Status) {
  const BandCase& c = GetParam();
  EXPECT_EQ(JudgeBand(c.goal, c.value), c.status);
}

const BandGoal kChurn{std::nullopt, 0.03, std::nullopt, 0.025};
const BandGoal kFull{10, 20, 12, 18};
const BandGoal kMinOnly{5, std::nullopt, std::nullopt, std::nullopt};

INSTANTIATE_TEST_SUITE_P(
    Bounds, JudgeBandTest,
    testing::Values(BandCase{"churn_low", kChurn, 0.01, Status::kOnTrack},
                    BandCase{"churn_negative", kChurn, -5, Status::kOnTrack},
                    BandCase{"churn_at_warn_max", kChurn, 0.025, Status::kOnTrack},
                    BandCase{"churn_past_warn_max", kChurn, 0.0251, Status::kAtRisk},
                    BandCase{"churn_at_max", kChurn, 0.03, Status::kAtRisk},
                    BandCase{"churn_past_max", kChurn, 0.0301, Status::kOffTrack},
                    BandCase{"full_below_min", kFull, 9.99, Status::kOffTrack},
                    BandCase{"full_at_min", kFull, 10, Status::kAtRisk},
                    BandCase{"full_below_warn_min", kFull, 11.99, Status::kAtRisk},
                    BandCase{"full_at_warn_min", kFull, 12, Status::kOnTrack},
                    BandCase{"full_middle", kFull, 15, Status::kOnTrack},
                    BandCase{"full_at_warn_max", kFull, 18, Status::kOnTrack},
                    BandCase{"full_past_warn_max", kFull, 18.01, Status::kAtRisk},
                    BandCase{"full_at_max", kFull, 20, Status::kAtRisk},
                    BandCase{"full_past_max", kFull, 20.01, Status::kOffTrack},
                    BandCase{"min_only_below", kMinOnly, 4, Status::kOffTrack},
                    BandCase{"min_only_at", kMinOnly, 5, Status::kOnTrack},
                    BandCase{"min_only_huge", kMinOnly, 1e300, Status::kOnTrack}),
    [](const testing::TestParamInfo<BandCase>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace kpid::rules
