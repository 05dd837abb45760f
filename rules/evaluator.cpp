#include "rules/evaluator.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <string_view>
#include <variant>

namespace kpid::rules {
namespace {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// The fields are the variables in kExpressionVariableNames order, all doubles.
static_assert(sizeof(Variables) == kExpressionVariableNames.size() * sizeof(double));

using VariableArray = std::array<double, kExpressionVariableNames.size()>;

VariableArray AsArray(const Variables& v) { return std::bit_cast<VariableArray>(v); }

// The goal outlook (Variables' last six fields and the projected hit) of a deadline goal
// whose other variables are set.
void Outlook(const DeadlineGoal& goal, const Series& series, TimePoint now, Evaluation& result) {
  Variables& v = result.variables;
  const std::optional<Sample>& latest = series.Latest();
  const bool achieved = latest && v.progress >= 1.0 - kProgressTolerance;
  if (latest && v.days_left > 0) v.required_rate = (goal.target - latest->value) / v.days_left;
  if (const std::optional<double> rate = series.ForecastRatePerDay()) v.current_rate = *rate;

  const std::optional<double> error = series.ForecastErrorAt(goal.deadline);
  const std::size_t dof = series.ForecastSamples() - 2;  // >= 1 when there is an error
  if (error && std::isfinite(v.forecast)) {
    const double q = ForecastBandQuantile(dof);
    v.forecast_lower = v.forecast - q * *error;
    v.forecast_upper = v.forecast + q * *error;
  }
  if (achieved) {
    v.likelihood = 1;
  } else if (now > goal.deadline) {
    v.likelihood = 0;
  } else if (error && std::isfinite(v.forecast)) {
    const bool up = goal.target > goal.baseline;
    if (*error > 0) {
      const double below =
          StudentTCdf(static_cast<double>(dof), (goal.target - v.forecast) / *error);
      v.likelihood = up ? 1 - below : below;
    } else {  // every sample on the line: the forecast is certain
      v.likelihood = v.forecast_progress >= 1.0 - kProgressTolerance ? 1 : 0;
    }
  }

  if (achieved) {
    v.days_to_target = 0;
    result.projected_hit = latest->at;
  } else if (latest && std::isfinite(v.current_rate) &&
             (goal.target - latest->value) * v.current_rate > 0) {
    if (const std::optional<TimePoint> hit = series.ForecastTimeAt(goal.target)) {
      // A line already past the target while the latest value is not: "about now".
      const TimePoint when = std::max(*hit, now);
      const double days = std::chrono::duration<double>(when - now).count() /
                          std::chrono::duration<double>(kDay).count();
      if (days <= kMaxDaysToTarget) {
        v.days_to_target = days;
        result.projected_hit = when;
      }
    }
  }
}

}  // namespace

Series MakeSeries(const KpiSpec& spec) {
  if (spec.goal) {
    if (const auto* deadline = std::get_if<DeadlineGoal>(&spec.goal->kind)) {
      return Series(deadline->forecast_window);
    }
  }
  return Series();
}

// A constant, copied: filling a fresh array per evaluation and copying it showed.
constexpr Variables kNoVariables = [] {
  VariableArray none{};
  none.fill(kNoValue);
  return std::bit_cast<Variables>(none);
}();

Variables NoVariables() { return kNoVariables; }

std::optional<double> VariableByName(const Variables& variables, std::string_view name) {
  for (std::size_t i = 0; i < kExpressionVariableNames.size(); ++i) {
    if (kExpressionVariableNames[i] == name) return AsArray(variables)[i];
  }
  return std::nullopt;
}

Evaluation Evaluate(const KpiSpec& spec, Series& series, bool collected_once, TimePoint now) {
  Evaluation result;
  EvaluateInto(spec, series, collected_once, now, result);
  return result;
}

void EvaluateInto(const KpiSpec& spec, Series& series, bool collected_once, TimePoint now,
                  Evaluation& result) {
  series.Advance(now);
  result.judged = collected_once;
  result.status.reset();
  result.variables = kNoVariables;
  result.projected_hit.reset();
  Variables& v = result.variables;

  const std::optional<Sample>& latest = series.Latest();
  if (latest) {
    v.value = latest->value;
    v.age_seconds = std::chrono::duration<double>(now - latest->at).count();
    if (const std::optional<Sample>& prev = series.Previous()) {
      v.prev = prev->value;
      v.delta = latest->value - prev->value;
    }
  }
  const Series::Stats week = series.Last7Days();
  v.avg_7d = week.avg;
  v.min_7d = week.min;
  v.max_7d = week.max;

  const DeadlineGoal* deadline = spec.goal ? std::get_if<DeadlineGoal>(&spec.goal->kind) : nullptr;
  std::optional<double> forecast_progress;
  if (deadline != nullptr) {
    v.baseline = deadline->baseline;
    v.target = deadline->target;
    v.expected_progress = ExpectedProgress(*deadline, now);
    v.expected = ExpectedValue(*deadline, v.expected_progress);
    v.days_left = DaysLeft(*deadline, now);
    if (latest) {
      v.progress = Progress(*deadline, latest->value);
      v.gap = v.expected_progress - v.progress;
    }
    if (const std::optional<double> forecast = series.ForecastAt(deadline->deadline)) {
      v.forecast = *forecast;
      forecast_progress = Progress(*deadline, *forecast);
      v.forecast_progress = *forecast_progress;
    }
    Outlook(*deadline, series, now, result);
  }

  if (!collected_once || !spec.goal) return;
  if (!latest || now - latest->at > spec.stale_after) {
    result.status = Status::kNoData;
  } else if (deadline != nullptr) {
    result.status =
        JudgeDeadline(*deadline, now, latest->value, v.expected_progress, forecast_progress);
  } else {
    result.status = JudgeBand(std::get<BandGoal>(spec.goal->kind), latest->value);
  }
}

VariableSlots::VariableSlots(VariableSet& set) {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slots_[i] = set.Slot(kExpressionVariableNames[i]);
  }
}

void VariableSlots::Write(const Variables& variables) const {
  const auto values = AsArray(variables);
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i] != nullptr) *slots_[i] = values[i];
  }
}

}  // namespace kpid::rules
