// One evaluation of one KPI at an injected time: its goal status and its expression
// variables (DESIGN.md "Goal status").
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "rules/expression.hpp"
#include "rules/goal.hpp"
#include "rules/series.hpp"
#include "rules/status.hpp"

namespace kpid::rules {

// What the rules know about one KPI, resolved from the config by the daemon.
struct KpiSpec {
  Duration stale_after = std::chrono::minutes(3);  // older than this: no_data
  std::optional<Goal> goal;
};

// The series a KPI's evaluation needs: with its goal's forecast window, if any.
[[nodiscard]] Series MakeSeries(const KpiSpec& spec);

// A projected date further away than this reads "not at this rate".
inline constexpr double kMaxDaysToTarget = 36500;

// DESIGN.md's per-KPI expression variables and the goal outlook; NaN stands for "no value"
// (e.g. no sample yet, goal variables of a KPI without a deadline goal, no forecast).
struct Variables {
  double value;
  double prev;
  double delta;  // value - prev
  double baseline;
  double target;
  double expected;           // the expected value
  double progress;           // p
  double expected_progress;  // e(t)
  double gap;                // e(t) - p
  double forecast;           // the forecast value at the deadline
  double forecast_progress;  // f
  double days_left;          // DaysLeft(): fractional, 0 from the deadline on
  double age_seconds;        // of the latest sample; negative if it is from the future
  double avg_7d;
  double min_7d;
  double max_7d;
  // The goal outlook of a deadline goal, from the forecast line (fewer than 3 samples in
  // the window: NaN, except required_rate):
  double required_rate;   // (target - value) / days_left: per day, to reach it in time
  double current_rate;    // the forecast line's slope, per day
  double forecast_lower;  // the prediction interval of the value at the deadline,
  double forecast_upper;  // kForecastBandProbability wide (Student's t, n - 2 dof)
  double likelihood;      // P(value at the deadline reaches the target); 1 achieved, 0 missed
  double days_to_target;  // until the line reaches the target; 0 achieved; NaN: not at this rate
};

// Every field NaN.
[[nodiscard]] Variables NoVariables();

// The variable called `name` (NaN: no value); nullopt if there is no variable by that name.
[[nodiscard]] std::optional<double> VariableByName(const Variables& variables,
                                                   std::string_view name);

struct Evaluation {
  // false until the KPI's first collection since start has finished (success or failure):
  // nothing is judged before, and alerts must not step.
  bool judged = false;
  // Set when judged and the KPI has a goal.
  std::optional<Status> status;
  Variables variables = NoVariables();
  // now + days_to_target: when the forecast line reaches the target (the latest sample's
  // time once achieved); nullopt when it does not at this rate.
  std::optional<TimePoint> projected_hit;
};

// Advances `series` to `now` and evaluates. The status is the first that applies:
// no_data (no sample, or the latest is older than stale_after: an age of exactly
// stale_after is still fresh), then JudgeDeadline() or JudgeBand().
[[nodiscard]] Evaluation Evaluate(const KpiSpec& spec, Series& series, bool collected_once,
                                  TimePoint now);
// Evaluate() into `result`, all of which it overwrites: for the engine, which keeps each KPI's
// evaluation and judges every KPI every pass, without a copy per judgement.
void EvaluateInto(const KpiSpec& spec, Series& series, bool collected_once, TimePoint now,
                  Evaluation& result);

// Writes Variables into a VariableSet by cached slot, without name lookups per write.
// Names the set lacks are skipped. The set must outlive this.
class VariableSlots {
 public:
  explicit VariableSlots(VariableSet& set);
  void Write(const Variables& variables) const;

 private:
  std::array<double*, kExpressionVariableNames.size()> slots_{};
};

}  // namespace kpid::rules
