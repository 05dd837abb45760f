// What kpid sends: a notification is one group of alerts for one receiver, in
// Alertmanager's model (status, labels, annotations, startsAt/endsAt, fingerprint), plus
// the KPI figures that human-readable messages (email, Slack) show. It is written to the
// outbox as JSON before it is sent, so it carries everything a receiver needs.
#pragma once

#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kpid::notify {

using TimePoint = std::chrono::system_clock::time_point;
using Labels = std::vector<std::pair<std::string, std::string>>;

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// The KPI behind an alert, as of the transition; NaN: no value (e.g. no forecast).
struct Figures {
  std::string title;
  std::string unit;
  std::string owner;
  std::string goal;  // human text: "1200000 EUR by 2026-12-31", "at most 0.03", ""
  double value = kNoValue;
  double target = kNoValue;
  double baseline = kNoValue;
  double expected = kNoValue;  // the expected value now
  double progress = kNoValue;
  double expected_progress = kNoValue;
  double forecast = kNoValue;  // the forecast value at the deadline
  double days_left = kNoValue;
  std::optional<TimePoint> deadline;
  // The goal outlook (rules::Variables): the forecast's 80 % band, the likelihood of
  // reaching the target in time, the rates per day, and when the line reaches the target.
  double forecast_lower = kNoValue;
  double forecast_upper = kNoValue;
  double likelihood = kNoValue;
  double required_rate = kNoValue;
  double current_rate = kNoValue;
  std::optional<TimePoint> projected_hit;
};

struct Alert {
  bool firing = true;  // false: resolved
  // kpi, alert, severity, status (when known), then the KPI's labels (DESIGN.md "Alerts").
  Labels labels;
  Labels annotations;  // summary, description (when set)
  TimePoint starts_at;
  std::optional<TimePoint> ends_at;  // set when resolved
  std::string generator_url;         // the KPI on the status page
  std::string fingerprint;           // 16 hex digits, stable for an alert id
  Figures figures;

  // The value of a label, "" if absent.
  [[nodiscard]] std::string_view Label(std::string_view name) const;
};

// One KPI in a digest, as of the digest's run.
struct DigestKpi {
  std::string kpi;
  std::string status;  // the goal status, "" without a goal or before it is judged
  Figures figures;
  std::vector<double> trend;  // recent values, oldest first, for a sparkline
  std::string link;           // the KPI on the status page, "" without external_url
};

// A scheduled status report ([[digest]]): every matching KPI, worst status first.
struct DigestReport {
  std::string name;
  std::string title;  // the digest's title, or "KPI digest: <name>"
  TimePoint at;
  std::vector<DigestKpi> kpis;
};

struct Notification {
  std::string receiver;
  std::string group_key;  // identifies the route's group, like Alertmanager's groupKey
  Labels group_labels;    // the route's group_by labels with this group's values
  Labels common_labels;   // labels every alert shares
  Labels common_annotations;
  std::string external_url;  // [server] external_url: base of every link
  std::vector<Alert> alerts;
  bool test = false;  // `kpid notify-test`: say so in the message
  // Set for a digest, which carries KPIs instead of alerts.
  std::optional<DigestReport> digest;

  // "digest" for a digest; "firing" if any alert fires, else "resolved".
  [[nodiscard]] std::string_view Status() const;
  // Fills common_labels and common_annotations from the alerts.
  void ComputeCommon();
};

// Stable hex fingerprint of an alert id (FNV-1a 64).
[[nodiscard]] std::string Fingerprint(std::string_view alert_id);

// RFC 3339 UTC with milliseconds, as Alertmanager writes times.
[[nodiscard]] std::string FormatTime(TimePoint t);

// The outbox keeps notifications as this JSON; FromJson(ToJson(n)) == n in every field.
[[nodiscard]] nlohmann::json ToJson(const Notification& n);
// nullopt if `j` is not a notification written by ToJson().
[[nodiscard]] std::optional<Notification> FromJson(const nlohmann::json& j);

}  // namespace kpid::notify
