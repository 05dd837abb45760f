#include "rules/evaluator.hpp"

#include <limits>
#include <string_view>
#include <variant>

namespace kpid::rules {
namespace {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// VariableSlots writes the fields in kExpressionVariableNames order.
static_assert(sizeof(Variables) == kExpressionVariableNames.size() * sizeof(double));

std::array<double, kExpressionVariableNames.size()> AsArray(const Variables& v) {
  return {v.value,
          v.prev,
          v.delta,
          v.baseline,
          v.target,
          v.expected,
          v.progress,
          v.expected_progress,
          v.gap,
          v.forecast,
          v.forecast_progress,
          v.days_left,
          v.age_seconds,
          v.avg_7d,
          v.min_7d,
          v.max_7d};
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

Variables NoVariables() {
  return {kNoValue, kNoValue, kNoValue, kNoValue, kNoValue, kNoValue, kNoValue, kNoValue,
          kNoValue, kNoValue, kNoValue, kNoValue, kNoValue, kNoValue, kNoValue, kNoValue};
}

std::optional<double> VariableByName(const Variables& variables, std::string_view name) {
  for (std::size_t i = 0; i < kExpressionVariableNames.size(); ++i) {
    if (kExpressionVariableNames[i] == name) return AsArray(variables)[i];
  }
  return std::nullopt;
}

Evaluation Evaluate(const KpiSpec& spec, Series& series, bool collected_once, TimePoint now) {
  series.Advance(now);
  Evaluation result;
  result.judged = collected_once;
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
  }

  if (!collected_once || !spec.goal) return result;
  if (!latest || now - latest->at > spec.stale_after) {
    result.status = Status::kNoData;
  } else if (deadline != nullptr) {
    result.status =
        JudgeDeadline(*deadline, now, latest->value, v.expected_progress, forecast_progress);
  } else {
    result.status = JudgeBand(std::get<BandGoal>(spec.goal->kind), latest->value);
  }
  return result;
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
