#include "daemon/notify/notification.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include <date/date.h>

namespace kpid::notify {
namespace {

using Json = nlohmann::json;

Json LabelsJson(const Labels& labels) {
  Json out = Json::array();
  for (const auto& [k, v] : labels) out.push_back(Json::array({k, v}));
  return out;
}

bool ReadLabels(const Json& j, Labels& out) {
  if (!j.is_array()) return false;
  for (const Json& pair : j) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
      return false;
    }
    out.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
  }
  return true;
}

std::int64_t Millis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint FromMillis(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

// JSON has no NaN: "no value" is null.
Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }
double ReadNumber(const Json& j) { return j.is_number() ? j.get<double>() : kNoValue; }

Json FiguresJson(const Figures& f) {
  return {{"title", f.title},
          {"unit", f.unit},
          {"owner", f.owner},
          {"goal", f.goal},
          {"value", Number(f.value)},
          {"target", Number(f.target)},
          {"baseline", Number(f.baseline)},
          {"expected", Number(f.expected)},
          {"progress", Number(f.progress)},
          {"expected_progress", Number(f.expected_progress)},
          {"forecast", Number(f.forecast)},
          {"days_left", Number(f.days_left)},
          {"deadline_ms", f.deadline ? Json(Millis(*f.deadline)) : Json(nullptr)},
          {"forecast_lower", Number(f.forecast_lower)},
          {"forecast_upper", Number(f.forecast_upper)},
          {"likelihood", Number(f.likelihood)},
          {"required_rate", Number(f.required_rate)},
          {"current_rate", Number(f.current_rate)},
          {"projected_hit_ms", f.projected_hit ? Json(Millis(*f.projected_hit)) : Json(nullptr)}};
}

Figures ReadFigures(const Json& j) {
  Figures f;
  f.title = j.value("title", "");
  f.unit = j.value("unit", "");
  f.owner = j.value("owner", "");
  f.goal = j.value("goal", "");
  f.value = ReadNumber(j.value("value", Json()));
  f.target = ReadNumber(j.value("target", Json()));
  f.baseline = ReadNumber(j.value("baseline", Json()));
  f.expected = ReadNumber(j.value("expected", Json()));
  f.progress = ReadNumber(j.value("progress", Json()));
  f.expected_progress = ReadNumber(j.value("expected_progress", Json()));
  f.forecast = ReadNumber(j.value("forecast", Json()));
  f.days_left = ReadNumber(j.value("days_left", Json()));
  if (const Json d = j.value("deadline_ms", Json()); d.is_number_integer()) {
    f.deadline = FromMillis(d.get<std::int64_t>());
  }
  f.forecast_lower = ReadNumber(j.value("forecast_lower", Json()));
  f.forecast_upper = ReadNumber(j.value("forecast_upper", Json()));
  f.likelihood = ReadNumber(j.value("likelihood", Json()));
  f.required_rate = ReadNumber(j.value("required_rate", Json()));
  f.current_rate = ReadNumber(j.value("current_rate", Json()));
  if (const Json h = j.value("projected_hit_ms", Json()); h.is_number_integer()) {
    f.projected_hit = FromMillis(h.get<std::int64_t>());
  }
  return f;
}

Json DigestJson(const DigestReport& d) {
  Json kpis = Json::array();
  for (const DigestKpi& k : d.kpis) {
    Json trend = Json::array();
    for (double v : k.trend) trend.push_back(Number(v));
    kpis.push_back({{"kpi", k.kpi},
                    {"status", k.status},
                    {"figures", FiguresJson(k.figures)},
                    {"trend", std::move(trend)},
                    {"link", k.link}});
  }
  return {{"name", d.name}, {"title", d.title}, {"at_ms", Millis(d.at)}, {"kpis", std::move(kpis)}};
}

DigestReport ReadDigest(const Json& j) {
  DigestReport d;
  d.name = j.at("name").get<std::string>();
  d.title = j.at("title").get<std::string>();
  d.at = FromMillis(j.at("at_ms").get<std::int64_t>());
  for (const Json& k : j.at("kpis")) {
    DigestKpi kpi;
    kpi.kpi = k.at("kpi").get<std::string>();
    kpi.status = k.at("status").get<std::string>();
    kpi.figures = ReadFigures(k.at("figures"));
    for (const Json& v : k.at("trend")) kpi.trend.push_back(ReadNumber(v));
    kpi.link = k.at("link").get<std::string>();
    d.kpis.push_back(std::move(kpi));
  }
  return d;
}

}  // namespace

std::string_view Alert::Label(std::string_view name) const {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return {};
}

std::string_view Notification::Status() const {
  if (digest) return "digest";
  for (const Alert& a : alerts) {
    if (a.firing) return "firing";
  }
  return "resolved";
}

void Notification::ComputeCommon() {
  auto common = [&](auto member) {
    Labels out;
    if (alerts.empty()) return out;
    for (const auto& pair : alerts.front().*member) {
      bool shared = std::all_of(alerts.begin() + 1, alerts.end(), [&](const Alert& a) {
        return std::find(std::begin(a.*member), std::end(a.*member), pair) != std::end(a.*member);
      });
      if (shared) out.push_back(pair);
    }
    return out;
  };
  common_labels = common(&Alert::labels);
  common_annotations = common(&Alert::annotations);
}

std::string Fingerprint(std::string_view alert_id) {
  std::uint64_t h = 14695981039346656037ULL;
  for (char c : alert_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(h));
  return buffer;
}

std::string FormatTime(TimePoint t) {
  return date::format("%FT%TZ", std::chrono::floor<std::chrono::milliseconds>(t));
}

nlohmann::json ToJson(const Notification& n) {
  Json alerts = Json::array();
  for (const Alert& a : n.alerts) {
    alerts.push_back({{"firing", a.firing},
                      {"labels", LabelsJson(a.labels)},
                      {"annotations", LabelsJson(a.annotations)},
                      {"starts_at_ms", Millis(a.starts_at)},
                      {"ends_at_ms", a.ends_at ? Json(Millis(*a.ends_at)) : Json(nullptr)},
                      {"generator_url", a.generator_url},
                      {"fingerprint", a.fingerprint},
                      {"figures", FiguresJson(a.figures)}});
  }
  Json j = {{"receiver", n.receiver},
            {"group_key", n.group_key},
            {"group_labels", LabelsJson(n.group_labels)},
            {"common_labels", LabelsJson(n.common_labels)},
            {"common_annotations", LabelsJson(n.common_annotations)},
            {"external_url", n.external_url},
            {"test", n.test},
            {"alerts", std::move(alerts)}};
  if (n.digest) j["digest"] = DigestJson(*n.digest);
  return j;
}

std::optional<Notification> FromJson(const nlohmann::json& j) {
  try {
    Notification n;
    n.receiver = j.at("receiver").get<std::string>();
    n.group_key = j.at("group_key").get<std::string>();
    n.external_url = j.at("external_url").get<std::string>();
    n.test = j.at("test").get<bool>();
    if (!ReadLabels(j.at("group_labels"), n.group_labels) ||
        !ReadLabels(j.at("common_labels"), n.common_labels) ||
        !ReadLabels(j.at("common_annotations"), n.common_annotations)) {
      return std::nullopt;
    }
    for (const Json& a : j.at("alerts")) {
      Alert alert;
      alert.firing = a.at("firing").get<bool>();
      if (!ReadLabels(a.at("labels"), alert.labels) ||
          !ReadLabels(a.at("annotations"), alert.annotations)) {
        return std::nullopt;
      }
      alert.starts_at = FromMillis(a.at("starts_at_ms").get<std::int64_t>());
      if (const Json& ends = a.at("ends_at_ms"); ends.is_number_integer()) {
        alert.ends_at = FromMillis(ends.get<std::int64_t>());
      }
      alert.generator_url = a.at("generator_url").get<std::string>();
      alert.fingerprint = a.at("fingerprint").get<std::string>();
      alert.figures = ReadFigures(a.at("figures"));
      n.alerts.push_back(std::move(alert));
    }
    if (const auto digest = j.find("digest"); digest != j.end()) n.digest = ReadDigest(*digest);
    return n;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace kpid::notify
