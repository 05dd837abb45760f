#include "daemon/goal_builder.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include "daemon/load_config.hpp"
#include "rules/evaluator.hpp"
#include "rules/series.hpp"

namespace kpid {
namespace {

using std::chrono::hours;

std::string Format(rules::TimePoint t) {
  return date::format("%FT%TZ", std::chrono::time_point_cast<std::chrono::seconds>(t));
}

config::Config MustLoad(const std::string& text) {
  config::LoadResult result = config::LoadFromString(
      text, "goal.toml", BuiltinExtensions(),
      [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  for (const auto& e : result.errors) ADD_FAILURE() << e.message;
  return result.config ? std::move(*result.config) : config::Config{};
}

TEST(GoalBuilderTest, ResolvesDatesInTheEvaluationZone) {
  const config::Config c = MustLoad(R"(
[evaluation]
interval = "1m"
timezone = "Europe/Berlin"

[[kpi]]
name = "revenue"
expr = "1"
stale_after = "2h"
  [kpi.goal]
  baseline = 100
  target = 1200000
  start = 2026-10-01
  deadline = 2026-12-31
  at_risk = 0.1
  off_track = 0.2
  forecast_window = "14d"
  use_forecast = true
  notify_on = ["at_risk", "missed"]
  for = "1h"
  [[kpi.goal.milestone]]
  at = 2026-11-15
  value = 500000
  [[kpi.goal.milestone]]
  at = 2026-12-01T12:00:00Z
  value = 700000
)");
  ASSERT_EQ(c.kpis.size(), 1u);
  const rules::KpiSpec spec = BuildKpiSpec(c.kpis[0], c.evaluation.zone);
  EXPECT_EQ(spec.stale_after, hours(2));
  ASSERT_TRUE(spec.goal.has_value());
  EXPECT_EQ(spec.goal->notify_on,
            (std::vector<rules::Status>{rules::Status::kAtRisk, rules::Status::kMissed}));
  EXPECT_EQ(spec.goal->for_duration, hours(1));
  const auto* goal = std::get_if<rules::DeadlineGoal>(&spec.goal->kind);
  ASSERT_NE(goal, nullptr);
  EXPECT_EQ(goal->baseline, 100);
  EXPECT_EQ(goal->target, 1200000);
  EXPECT_EQ(goal->at_risk, 0.1);
  EXPECT_EQ(goal->off_track, 0.2);
  EXPECT_EQ(goal->forecast_window, hours(24 * 14));
  EXPECT_TRUE(goal->use_forecast);
  // Start: the beginning of 2026-10-01 in Berlin (CEST). Deadline: the end of 2026-12-31
  // (CET). A milestone date: the end of its day, like a deadline.
  EXPECT_EQ(Format(goal->start), "2026-09-30T22:00:00Z");
  EXPECT_EQ(Format(goal->deadline), "2026-12-31T23:00:00Z");
  ASSERT_EQ(goal->milestones.size(), 2u);
  EXPECT_EQ(Format(goal->milestones[0].at), "2026-11-15T23:00:00Z");
  EXPECT_EQ(goal->milestones[0].value, 500000);
  EXPECT_EQ(Format(goal->milestones[1].at), "2026-12-01T12:00:00Z");

  const rules::Series series = rules::MakeSeries(spec);
  EXPECT_EQ(series.ForecastWindow(), hours(24 * 14));
}

TEST(GoalBuilderTest, BandGoalAndKpiWithoutGoal) {
  const config::Config c = MustLoad(R"(
[[kpi]]
name = "churn"
expr = "0.01"
  [kpi.goal]
  max = 0.03
  warn_max = 0.025

[[kpi]]
name = "plain"
expr = "2"
)");
  ASSERT_NE(c.FindKpi("churn"), nullptr);
  ASSERT_NE(c.FindKpi("plain"), nullptr);
  const config::Kpi& churn = *c.FindKpi("churn");
  const rules::KpiSpec spec = BuildKpiSpec(churn, c.evaluation.zone);
  ASSERT_TRUE(spec.goal.has_value());
  const auto* band = std::get_if<rules::BandGoal>(&spec.goal->kind);
  ASSERT_NE(band, nullptr);
  EXPECT_EQ(band->max, 0.03);
  EXPECT_EQ(band->warn_max, 0.025);
  EXPECT_FALSE(band->min.has_value());
  EXPECT_FALSE(band->warn_min.has_value());
  EXPECT_EQ(spec.goal->notify_on,
            (std::vector<rules::Status>{rules::Status::kOffTrack, rules::Status::kNoData}));
  EXPECT_EQ(spec.stale_after, churn.stale_after);
  EXPECT_EQ(rules::MakeSeries(spec).ForecastWindow(), rules::Duration::zero());

  const rules::KpiSpec plain = BuildKpiSpec(*c.FindKpi("plain"), c.evaluation.zone);
  EXPECT_FALSE(plain.goal.has_value());
}

TEST(GoalBuilderTest, UtcWithoutZone) {
  config::Goal goal;
  config::DeadlineGoal deadline;
  deadline.baseline = 0;
  deadline.target = 10;
  deadline.start = {rules::TimeSpec::Kind::kDate, 2026, 1, 1};
  deadline.deadline = {rules::TimeSpec::Kind::kDate, 2026, 1, 31};
  goal.kind = deadline;
  const rules::Goal built = BuildGoal(goal, nullptr);
  const auto& g = std::get<rules::DeadlineGoal>(built.kind);
  EXPECT_EQ(Format(g.start), "2026-01-01T00:00:00Z");
  EXPECT_EQ(Format(g.deadline), "2026-02-01T00:00:00Z");
}

}  // namespace
}  // namespace kpid
