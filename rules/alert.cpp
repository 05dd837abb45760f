#include "rules/alert.hpp"

#include <algorithm>
#include <array>
#include <variant>

namespace kpid::rules {
namespace {

constexpr std::array<AlertPhase, 4> kAllPhases = {AlertPhase::kInactive, AlertPhase::kPending,
                                                  AlertPhase::kFiring, AlertPhase::kResolved};

bool Holds(const Expression& expression) {
  const std::variant<double, std::string> result = expression.Evaluate();
  const double* value = std::get_if<double>(&result);
  return value != nullptr && *value != 0.0;
}

Transition Make(AlertEvent event, AlertPhase from, const AlertState& state, TimePoint now) {
  Transition t;
  t.event = event;
  t.from = from;
  t.to = state.phase;
  t.at = now;
  t.severity = state.severity;
  t.status = state.status;
  t.previous_severity = state.severity;
  t.previous_status = state.status;
  return t;
}

Transition Fire(AlertState& state, const AlertInput& input, TimePoint now) {
  const AlertPhase from = state.phase;
  state.phase = AlertPhase::kFiring;
  if (from != AlertPhase::kPending || !state.active_since) state.active_since = now;
  state.fired_at = now;
  state.status = input.status;
  state.severity = input.severity;
  return Make(AlertEvent::kFiring, from, state, now);
}

}  // namespace

std::string_view AlertPhaseName(AlertPhase phase) {
  switch (phase) {
    case AlertPhase::kInactive:
      return "inactive";
    case AlertPhase::kPending:
      return "pending";
    case AlertPhase::kFiring:
      return "firing";
    case AlertPhase::kResolved:
      return "resolved";
  }
  return "unknown";
}

std::optional<AlertPhase> ParseAlertPhase(std::string_view name) {
  for (AlertPhase phase : kAllPhases) {
    if (AlertPhaseName(phase) == name) return phase;
  }
  return std::nullopt;
}

std::string_view AlertEventName(AlertEvent event) {
  switch (event) {
    case AlertEvent::kPending:
      return "pending";
    case AlertEvent::kCancelled:
      return "cancelled";
    case AlertEvent::kFiring:
      return "firing";
    case AlertEvent::kChanged:
      return "changed";
    case AlertEvent::kResolved:
      return "resolved";
    case AlertEvent::kCleared:
      return "cleared";
  }
  return "unknown";
}

bool Notifies(AlertEvent event) {
  return event == AlertEvent::kFiring || event == AlertEvent::kChanged ||
         event == AlertEvent::kResolved;
}

bool RuleCondition(AlertPhase phase, const Expression& when, const Expression* recover_when) {
  if (phase == AlertPhase::kFiring && recover_when != nullptr) return !Holds(*recover_when);
  return Holds(when);
}

std::optional<Transition> Step(AlertState& state, Duration for_duration, const AlertInput& input,
                               TimePoint now) {
  const AlertPhase from = state.phase;
  switch (state.phase) {
    case AlertPhase::kInactive:
    case AlertPhase::kResolved:
      if (input.condition) {
        if (for_duration <= Duration::zero()) return Fire(state, input, now);
        state.phase = AlertPhase::kPending;
        state.active_since = now;
        return Make(AlertEvent::kPending, from, state, now);
      }
      if (state.phase == AlertPhase::kResolved) {
        state.phase = AlertPhase::kInactive;
        return Make(AlertEvent::kCleared, from, state, now);
      }
      return std::nullopt;
    case AlertPhase::kPending:
      if (!input.condition) {
        state.phase = AlertPhase::kInactive;
        state.active_since.reset();
        return Make(AlertEvent::kCancelled, from, state, now);
      }
      if (!state.active_since || now - *state.active_since >= for_duration) {
        return Fire(state, input, now);
      }
      return std::nullopt;
    case AlertPhase::kFiring:
      if (!input.condition) {
        state.phase = AlertPhase::kResolved;
        state.resolved_at = now;
        return Make(AlertEvent::kResolved, from, state, now);
      }
      if (input.notify_changes &&
          (input.status != state.status || input.severity != state.severity)) {
        Transition t = Make(AlertEvent::kChanged, from, state, now);
        state.status = input.status;
        state.severity = input.severity;
        t.status = state.status;
        t.severity = state.severity;
        return t;
      }
      return std::nullopt;
  }
  return std::nullopt;
}

std::string GoalAlertId(std::string_view kpi) { return std::string(kpi) + "/goal"; }

std::string RuleAlertId(std::string_view kpi, std::string_view rule) {
  return std::string(kpi) + "/" + std::string(rule);
}

Labels AlertLabels(std::string_view kpi, std::string_view alert_id, Severity severity,
                   std::optional<Status> status, const Labels& kpi_labels) {
  Labels labels;
  labels.reserve(4 + kpi_labels.size());
  labels.emplace_back("kpi", kpi);
  labels.emplace_back("alert", alert_id);
  labels.emplace_back("severity", SeverityName(severity));
  if (status) labels.emplace_back("status", StatusName(*status));
  for (const auto& [name, value] : kpi_labels) {
    if (name == "kpi" || name == "alert" || name == "severity" || name == "status") continue;
    labels.emplace_back(name, value);
  }
  return labels;
}

}  // namespace kpid::rules
