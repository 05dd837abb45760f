// The alert state machine (DESIGN.md "Alerts"): one per goal (`<kpi>/goal`) and per rule
// (`<kpi>/<rule>`). Pure: the state is a plain struct the store saves and restores, and
// Step() turns (state, condition, time) into at most one transition, so a restart resumes
// a running `for` and never notifies twice.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/expression.hpp"
#include "rules/goal.hpp"
#include "rules/status.hpp"

namespace kpid::rules {

// inactive -> pending (condition holds, `for` not yet elapsed) -> firing -> resolved ->
// inactive. With `for` = 0 inactive goes straight to firing. Resolved lasts one step: the
// next step goes to inactive, or to pending/firing if the condition holds again.
enum class AlertPhase { kInactive, kPending, kFiring, kResolved };

std::string_view AlertPhaseName(AlertPhase phase);  // "inactive", "pending", ...
std::optional<AlertPhase> ParseAlertPhase(std::string_view name);

struct AlertState {
  AlertPhase phase = AlertPhase::kInactive;
  // Pending or firing: since when the condition has held. A restored pending alert fires
  // once now - active_since >= for.
  std::optional<TimePoint> active_since;
  std::optional<TimePoint> fired_at;     // the last time it went to firing
  std::optional<TimePoint> resolved_at;  // the last time it went to resolved
  // Firing and resolved: as last notified.
  std::optional<Status> status;
  Severity severity = Severity::kWarning;

  friend bool operator==(const AlertState&, const AlertState&) = default;
};

struct AlertInput {
  bool condition = false;
  Severity severity = Severity::kWarning;
  // The KPI's goal status, if it has a goal; recorded when the alert fires.
  std::optional<Status> status;
  // true: firing on with another status or severity than last notified is a new
  // notification (kChanged). Goal alerts set it; rule alerts do not, since what they
  // notify is their expression, and their labels stay as they fired.
  bool notify_changes = true;
};

// Goal alert: the condition is "status in notify_on", the severity SeverityOf(status).
// Inline: the engine asks it for every goal every pass.
[[nodiscard]] inline AlertInput GoalAlertInput(const Goal& goal, Status status) {
  AlertInput input;
  input.condition =
      std::find(goal.notify_on.begin(), goal.notify_on.end(), status) != goal.notify_on.end();
  input.severity = SeverityOf(status);
  input.status = status;
  input.notify_changes = true;
  return input;
}

// Whether a rule alert's condition holds: `when`, or once firing with a `recover_when`,
// "not recover_when" (hysteresis). An expression without a value (an Evaluate() error)
// counts as false: `when` does not fire and `recover_when` does not recover.
[[nodiscard]] bool RuleCondition(AlertPhase phase, const Expression& when,
                                 const Expression* recover_when);

enum class AlertEvent {
  kPending,    // inactive/resolved -> pending
  kCancelled,  // pending -> inactive: the condition stopped before `for` elapsed
  kFiring,     // inactive/resolved/pending -> firing
  kChanged,    // firing -> firing with another status or severity
  kResolved,   // firing -> resolved
  kCleared,    // resolved -> inactive
};

std::string_view AlertEventName(AlertEvent event);  // "pending", "cancelled", ...

// kFiring, kChanged and kResolved are notifications; the others only change state.
[[nodiscard]] bool Notifies(AlertEvent event);

struct Transition {
  AlertEvent event = AlertEvent::kPending;
  AlertPhase from = AlertPhase::kInactive;
  AlertPhase to = AlertPhase::kInactive;
  TimePoint at;
  // After the transition; kResolved keeps those it fired (or last changed) with.
  Severity severity = Severity::kWarning;
  std::optional<Status> status;
  // kChanged: what was notified before.
  Severity previous_severity = Severity::kWarning;
  std::optional<Status> previous_status;

  friend bool operator==(const Transition&, const Transition&) = default;
};

// Advances `state` to `now`. Returns the transition if the state changed (the store
// saves it then), nullopt if it did not. A `for_duration` of zero or less fires at once.
std::optional<Transition> Step(AlertState& state, Duration for_duration, const AlertInput& input,
                               TimePoint now);

using Labels = std::vector<std::pair<std::string, std::string>>;

[[nodiscard]] std::string GoalAlertId(std::string_view kpi);                         // kpi/goal
[[nodiscard]] std::string RuleAlertId(std::string_view kpi, std::string_view rule);  // kpi/rule

// DESIGN.md "Alert labels": kpi, alert (the alert id), severity, status (when known), then
// the KPI's labels except any named like one of those four.
[[nodiscard]] Labels AlertLabels(std::string_view kpi, std::string_view alert_id, Severity severity,
                                 std::optional<Status> status, const Labels& kpi_labels);

}  // namespace kpid::rules
