#include "daemon/engine.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/metric_family.h>

#include "daemon/load_config.hpp"
#include "daemon/metrics.hpp"
#include "tests/support/config_text.hpp"

namespace kpid {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;

// 2026-11-15T12:00:00Z, between the goals' start and deadline below.
constexpr TimePoint kNow = std::chrono::sys_days(std::chrono::year{2026} / 11 / 15) + hours(12);

std::shared_ptr<const config::Config> MustLoad(const std::string& kpis) {
  return testing::MustLoadConfig(
      "[evaluation]\ninterval = \"1m\"\n" + std::string(testing::kHandFedSource) + kpis,
      "engine.toml");
}

collectors::CollectResult Value(double v, TimePoint at) { return collectors::Sample{v, at}; }

collectors::CollectResult Failure() {
  return collectors::CollectError{collectors::ErrorKind::kConnect, "db: connection refused"};
}

std::optional<rules::Status> StatusOf(const Engine& engine, const std::string& kpi) {
  return engine.Find(kpi)->evaluation.status;
}

const AlertView& AlertOf(const Engine& engine, const std::string& kpi, std::size_t i = 0) {
  return engine.Find(kpi)->alerts.at(i);
}

// Series (name + sorted labels) -> value, from Collect().
std::map<std::string, double> Series(const Engine& engine) {
  std::map<std::string, double> out;
  for (const auto& family : engine.Collect()) {
    for (const auto& metric : family.metric) {
      std::string key = family.name + "{";
      for (const auto& label : metric.label) key += label.name + "=" + label.value + ",";
      out[key + "}"] = metric.gauge.value;
    }
  }
  return out;
}

constexpr const char* kDeadlineKpi = R"(
[[kpi]]
name = "revenue"
title = "Revenue"
unit = "EUR"
labels = { team = "finance" }
source = "db"
query = "SELECT 1"
stale_after = "1h"
  [kpi.goal]
  baseline = 0
  target = 100
  start = 2026-11-01T00:00:00Z
  deadline = 2026-12-01T00:00:00Z
  notify_on = ["off_track"]
  for = "10m"
)";

TEST(EngineTest, JudgesOnlyAfterTheFirstCollection) {
  Engine engine;
  engine.Apply(MustLoad(kDeadlineKpi));
  // Samples restored from the store do not count as a collection since start.
  std::vector<rules::Sample> stored = {{kNow - hours(2), 40}};
  engine.Seed("revenue", stored, kNow);
  auto cycle = engine.Evaluate(kNow);
  EXPECT_FALSE(engine.Find("revenue")->evaluation.judged);
  EXPECT_FALSE(StatusOf(engine, "revenue").has_value());
  EXPECT_TRUE(cycle.changes.empty());

  // A failed first collection still counts: the stored value is too old, so no_data.
  (void)engine.Record("revenue", Failure());
  engine.Evaluate(kNow);
  EXPECT_EQ(StatusOf(engine, "revenue"), rules::Status::kNoData);
  EXPECT_EQ(engine.Find("revenue")->last_error->kind, collectors::ErrorKind::kConnect);
}

TEST(EngineTest, RecordsOnlyNewerSamples) {
  Engine engine;
  engine.Apply(MustLoad(kDeadlineKpi));
  auto first = engine.Record("revenue", Value(10, kNow));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->kpi, "revenue");
  EXPECT_EQ(first->sample.value, 10);
  EXPECT_FALSE(engine.Record("revenue", Value(11, kNow)).has_value()) << "same timestamp";
  EXPECT_FALSE(engine.Record("revenue", Value(12, kNow - seconds(1))).has_value());
  EXPECT_TRUE(engine.Record("revenue", Value(13, kNow + seconds(1))).has_value());
  EXPECT_FALSE(engine.Record("unknown", Value(1, kNow)).has_value());
  EXPECT_EQ(engine.Find("revenue")->latest->value, 13);
}

TEST(EngineTest, MetricsReuseTheRenderedTextOnlyWhileNothingChanged) {
  auto engine = std::make_shared<Engine>();
  engine->Apply(MustLoad(kDeadlineKpi));
  Metrics metrics;
  metrics.Add(engine);
  (void)engine->Record("revenue", Value(10, kNow));
  const std::string first = metrics.Render();
  EXPECT_NE(first.find("kpi_value{kpi=\"revenue\",team=\"finance\"} 10\n"), std::string::npos)
      << first;
  const std::uint64_t version = engine->Version();
  EXPECT_NE(metrics.Render().find("kpi_value{kpi=\"revenue\",team=\"finance\"} 10\n"),
            std::string::npos);
  EXPECT_EQ(engine->Version(), version);  // rendering changes nothing
  (void)engine->Record("revenue", Value(11, kNow + seconds(1)));
  const std::string second = metrics.Render();
  EXPECT_NE(second.find("kpi_value{kpi=\"revenue\",team=\"finance\"} 11\n"), std::string::npos)
      << second;
  EXPECT_EQ(second.find("kpi_value{kpi=\"revenue\",team=\"finance\"} 10\n"), std::string::npos);
}

TEST(EngineTest, GoalAlertWaitsForItsForDurationAndResumesAfterRestore) {
  Engine engine;
  engine.Apply(MustLoad(kDeadlineKpi));
  // Half way: expected 50 %, 20 % is a gap of 0.3 > off_track 0.15.
  (void)engine.Record("revenue", Value(20, kNow));
  auto cycle = engine.Evaluate(kNow);
  EXPECT_EQ(StatusOf(engine, "revenue"), rules::Status::kOffTrack);
  ASSERT_EQ(cycle.changes.size(), 1u);
  EXPECT_EQ(cycle.changes[0].transition.event, rules::AlertEvent::kPending);
  ASSERT_EQ(cycle.alerts.size(), 1u);
  const store::AlertRow saved = cycle.alerts[0];
  EXPECT_EQ(saved.id, "revenue/goal");
  EXPECT_EQ(saved.state.phase, rules::AlertPhase::kPending);

  // A new process: the saved state comes back, `for` continues from where it was.
  Engine restarted;
  restarted.Apply(MustLoad(kDeadlineKpi));
  restarted.RestoreAlerts(std::span(&saved, 1));
  (void)restarted.Record("revenue", Value(20, kNow + minutes(6)));
  cycle = restarted.Evaluate(kNow + minutes(6));
  EXPECT_TRUE(cycle.changes.empty()) << "still pending: 6 of 10 minutes";
  cycle = restarted.Evaluate(kNow + minutes(10));
  ASSERT_EQ(cycle.changes.size(), 1u);
  const AlertChange& firing = cycle.changes[0];
  EXPECT_EQ(firing.transition.event, rules::AlertEvent::kFiring);
  EXPECT_EQ(firing.transition.severity, rules::Severity::kCritical);
  EXPECT_THAT(firing.summary, HasSubstr("Revenue is off track: 20 EUR"));
  EXPECT_THAT(firing.labels,
              ::testing::Contains(std::pair<std::string, std::string>("team", "finance")));
  EXPECT_THAT(firing.labels,
              ::testing::Contains(std::pair<std::string, std::string>("status", "off_track")));
  EXPECT_EQ(Series(restarted)["kpi_alert_firing{kpi=revenue,team=finance,alert=revenue/goal,"
                              "severity=critical,}"],
            1);

  // A firing alert restored into another process does not fire again.
  Engine again;
  again.Apply(MustLoad(kDeadlineKpi));
  again.RestoreAlerts(cycle.alerts);
  (void)again.Record("revenue", Value(20, kNow + minutes(20)));
  EXPECT_TRUE(again.Evaluate(kNow + minutes(20)).changes.empty());
  EXPECT_EQ(AlertOf(again, "revenue").state.phase, rules::AlertPhase::kFiring);
  // Back on track: resolved, once.
  (void)again.Record("revenue", Value(70, kNow + minutes(21)));
  cycle = again.Evaluate(kNow + minutes(21));
  ASSERT_EQ(cycle.changes.size(), 1u);
  EXPECT_EQ(cycle.changes[0].transition.event, rules::AlertEvent::kResolved);
}

TEST(EngineTest, DerivedKpisFollowTheirInputsInDependencyOrder) {
  Engine engine;
  // "per_order" is listed first but reads "margin", another derived KPI: the loader orders
  // them, and the engine computes margin first.
  engine.Apply(MustLoad(R"(
[[kpi]]
name = "per_order"
expr = "margin / orders"
stale_after = "1h"
  [kpi.goal]
  min = 2

[[kpi]]
name = "margin"
expr = "revenue - cost"

[[kpi]]
name = "revenue"
source = "db"
query = "SELECT 1"

[[kpi]]
name = "cost"
source = "db"
query = "SELECT 1"

[[kpi]]
name = "orders"
source = "db"
query = "SELECT 1"
)"));
  (void)engine.Record("revenue", Value(100, kNow - minutes(3)));
  (void)engine.Record("cost", Value(40, kNow - minutes(2)));
  auto cycle = engine.Evaluate(kNow);
  EXPECT_FALSE(engine.Find("per_order")->evaluation.judged) << "orders not collected yet";
  EXPECT_EQ(engine.Find("margin")->latest->value, 60);
  EXPECT_EQ(engine.Find("margin")->latest->at, kNow - minutes(2)) << "as old as its newest input";
  EXPECT_FALSE(engine.Find("per_order")->latest.has_value());

  (void)engine.Record("orders", Value(20, kNow - minutes(1)));
  cycle = engine.Evaluate(kNow);
  ASSERT_TRUE(engine.Find("per_order")->latest.has_value());
  EXPECT_EQ(engine.Find("per_order")->latest->value, 3);
  EXPECT_EQ(StatusOf(engine, "per_order"), rules::Status::kOnTrack);
  // The derived samples are handed out for the store: margin was persisted in the first
  // cycle, per_order now.
  ASSERT_EQ(cycle.samples.size(), 1u);
  EXPECT_EQ(cycle.samples[0].kpi, "per_order");

  // Nothing new: no new derived samples.
  EXPECT_TRUE(engine.Evaluate(kNow + seconds(30)).samples.empty());

  // Inputs stop: the derived KPI goes stale with them.
  engine.Evaluate(kNow + hours(2));
  EXPECT_EQ(StatusOf(engine, "per_order"), rules::Status::kNoData);

  // Division by zero is an error on the derived KPI, not a value.
  (void)engine.Record("orders", Value(0, kNow + hours(2)));
  engine.Evaluate(kNow + hours(2));
  ASSERT_TRUE(engine.Find("per_order")->last_error.has_value());
  EXPECT_THAT(engine.Find("per_order")->last_error->message, HasSubstr("expr"));
}

TEST(EngineTest, RuleAlertsUseHysteresisAndRenderTheirTemplates) {
  Engine engine;
  engine.Apply(MustLoad(R"(
[[kpi]]
name = "churn"
title = "Monthly churn"
labels = { team = "crm" }
source = "db"
query = "SELECT 1"
  [[kpi.rule]]
  name = "jump"
  when = "delta > 0.005"
  recover_when = "delta < 0.001"
  severity = "critical"
  summary = "{{title}} jumped to {{value}} ({{delta}}) for {{team}}"
  description = "avg {{avg_7d}}"
)"));
  (void)engine.Record("churn", Value(0.020, kNow));
  EXPECT_TRUE(engine.Evaluate(kNow).changes.empty());
  (void)engine.Record("churn", Value(0.030, kNow + minutes(1)));
  auto cycle = engine.Evaluate(kNow + minutes(1));
  ASSERT_EQ(cycle.changes.size(), 1u);
  EXPECT_EQ(cycle.changes[0].alert, "churn/jump");
  EXPECT_EQ(cycle.changes[0].summary, "Monthly churn jumped to 0.03 (0.01) for crm");
  EXPECT_EQ(cycle.changes[0].description, "avg 0.025");
  EXPECT_EQ(cycle.changes[0].transition.severity, rules::Severity::kCritical);
  // 0.003 is neither a jump nor a recovery: still firing.
  (void)engine.Record("churn", Value(0.033, kNow + minutes(2)));
  EXPECT_TRUE(engine.Evaluate(kNow + minutes(2)).changes.empty());
  (void)engine.Record("churn", Value(0.0335, kNow + minutes(3)));
  cycle = engine.Evaluate(kNow + minutes(3));
  ASSERT_EQ(cycle.changes.size(), 1u);
  EXPECT_EQ(cycle.changes[0].transition.event, rules::AlertEvent::kResolved);
}

TEST(EngineTest, ReloadKeepsStateOfKeptKpisAndDropsRemovedOnes) {
  Engine engine;
  engine.Apply(MustLoad(std::string(kDeadlineKpi) + R"(
[[kpi]]
name = "old"
source = "db"
query = "SELECT 1"
)"));
  (void)engine.Record("revenue", Value(20, kNow));
  (void)engine.Record("old", Value(1, kNow));
  engine.Evaluate(kNow);
  ASSERT_EQ(AlertOf(engine, "revenue").state.phase, rules::AlertPhase::kPending);
  EXPECT_EQ(Series(engine).count("kpi_value{kpi=old,}"), 1u);

  auto reseed = engine.Apply(MustLoad(kDeadlineKpi));
  EXPECT_TRUE(reseed.empty()) << "same forecast window: the held samples stay";
  EXPECT_EQ(engine.Find("old"), nullptr);
  EXPECT_EQ(Series(engine).count("kpi_value{kpi=old,}"), 0u);
  EXPECT_EQ(engine.Find("revenue")->latest->value, 20);
  EXPECT_EQ(AlertOf(engine, "revenue").state.phase, rules::AlertPhase::kPending);
  EXPECT_EQ(engine.AlertIds(), std::vector<std::string>{"revenue/goal"});
}

TEST(EngineTest, ExposesEveryGoalMetricAndEveryStatus) {
  Engine engine;
  engine.Apply(MustLoad(kDeadlineKpi));
  std::vector<rules::Sample> history;
  history.reserve(10);
  for (int day = 0; day < 10; ++day) {
    history.push_back({kNow - hours(24 * (10 - day)), 2.0 * day});
  }
  engine.Seed("revenue", history, kNow);
  (void)engine.Record("revenue", Value(40, kNow));
  engine.Evaluate(kNow);
  auto series = Series(engine);
  const std::string l = "kpi=revenue,team=finance,";
  EXPECT_EQ(series["kpi_value{" + l + "}"], 40);
  EXPECT_EQ(series["kpi_target{" + l + "}"], 100);
  EXPECT_EQ(series["kpi_baseline{" + l + "}"], 0);
  EXPECT_DOUBLE_EQ(series["kpi_expected_progress_ratio{" + l + "}"], 14.5 / 30);
  EXPECT_DOUBLE_EQ(series["kpi_expected_value{" + l + "}"], 100 * 14.5 / 30);
  EXPECT_DOUBLE_EQ(series["kpi_progress_ratio{" + l + "}"], 0.4);
  EXPECT_TRUE(series.contains("kpi_forecast_value{" + l + "}"));
  // The outlook: 60 to go in the 15.5 days left; the rest from the fit.
  EXPECT_DOUBLE_EQ(series["kpi_required_rate_per_day{" + l + "}"], 60 / 15.5);
  EXPECT_GT(series["kpi_current_rate_per_day{" + l + "}"], 0);
  EXPECT_LT(series["kpi_forecast_lower_value{" + l + "}"], series["kpi_forecast_value{" + l + "}"]);
  EXPECT_GT(series["kpi_forecast_upper_value{" + l + "}"], series["kpi_forecast_value{" + l + "}"]);
  const double likelihood = series["kpi_goal_likelihood_ratio{" + l + "}"];
  EXPECT_TRUE(likelihood >= 0 && likelihood <= 1) << likelihood;
  EXPECT_TRUE(series.contains("kpi_projected_hit_timestamp_seconds{" + l + "}"));
  EXPECT_EQ(series["kpi_deadline_timestamp_seconds{" + l + "}"], 1796083200);
  int statuses = 0;
  for (rules::Status s : rules::kAllStatuses) {
    const std::string key =
        "kpi_status{" + l + "status=" + std::string(rules::StatusName(s)) + ",}";
    ASSERT_TRUE(series.contains(key)) << key;
    statuses += static_cast<int>(series[key]);
  }
  EXPECT_EQ(statuses, 1);
  EXPECT_EQ(series["kpi_status{" + l + "status=at_risk,}"], 1);
}

}  // namespace
}  // namespace kpid
