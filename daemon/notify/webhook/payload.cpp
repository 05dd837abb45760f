#include "daemon/notify/webhook/payload.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <string>

namespace kpid::notify {
namespace {

using Json = nlohmann::ordered_json;

// Go's zero time.Time, which Alertmanager writes as the endsAt of a firing alert.
constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";

// Labels as a JSON object with sorted keys; on a repeated name the first value wins.
Json LabelObject(const Labels& labels) {
  std::map<std::string, std::string, std::less<>> sorted;
  for (const auto& [name, value] : labels) sorted.emplace(name, value);
  Json out = Json::object();
  for (auto& [name, value] : sorted) out[name] = value;
  return out;
}

// JSON has no NaN: "no value" is null.
Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json DigestObject(const DigestReport& d) {
  Json kpis = Json::array();
  for (const DigestKpi& k : d.kpis) {
    const Figures& f = k.figures;
    Json trend = Json::array();
    for (double v : k.trend) trend.push_back(Number(v));
    kpis.push_back(Json{{"kpi", k.kpi},
                        {"title", f.title},
                        {"status", k.status.empty() ? Json(nullptr) : Json(k.status)},
                        {"value", Number(f.value)},
                        {"unit", f.unit},
                        {"goal", f.goal},
                        {"target", Number(f.target)},
                        {"expected", Number(f.expected)},
                        {"progress", Number(f.progress)},
                        {"expected_progress", Number(f.expected_progress)},
                        {"forecast", Number(f.forecast)},
                        {"days_left", Number(f.days_left)},
                        {"owner", f.owner},
                        {"link", k.link},
                        {"trend", std::move(trend)}});
  }
  return Json{{"name", d.name}, {"title", d.title}, {"at", FormatTime(d.at)}, {"kpis", kpis}};
}

}  // namespace

nlohmann::ordered_json WebhookPayload(const Notification& n) {
  Json alerts = Json::array();
  for (const Alert& a : n.alerts) {
    // A goal event (an "event" label) is firing with endsAt = startsAt: consumers that act
    // on firing alerts only (most chat and ticket bridges) still deliver the news, while the
    // explicit end says that nothing stays open and no resolve will follow. Its fingerprint
    // is its own, so it never touches the goal alert's incident.
    const bool ended = a.ends_at.has_value() && (!a.firing || !a.Label("event").empty());
    alerts.push_back(Json{{"status", a.firing ? "firing" : "resolved"},
                          {"labels", LabelObject(a.labels)},
                          {"annotations", LabelObject(a.annotations)},
                          {"startsAt", FormatTime(a.starts_at)},
                          {"endsAt", ended ? FormatTime(*a.ends_at) : std::string(kZeroTime)},
                          {"generatorURL", a.generator_url},
                          {"fingerprint", a.fingerprint}});
  }
  Json payload{{"receiver", n.receiver},
               {"status", std::string(n.Status())},
               {"alerts", std::move(alerts)},
               {"groupLabels", LabelObject(n.group_labels)},
               {"commonLabels", LabelObject(n.common_labels)},
               {"commonAnnotations", LabelObject(n.common_annotations)},
               {"externalURL", n.external_url},
               {"version", "4"},
               {"groupKey", n.group_key},
               {"truncatedAlerts", 0}};
  if (n.digest) payload["digest"] = DigestObject(*n.digest);
  return payload;
}

}  // namespace kpid::notify
