#include "daemon/api.hpp"

#include <cmath>

#include <date/date.h>

#include "rules/time_spec.hpp"

namespace kpid::api {
namespace {

using Json = nlohmann::ordered_json;

Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json Optional(const std::optional<double>& v) { return v ? Number(*v) : Json(nullptr); }

Json Time(const std::optional<TimePoint>& t) { return t ? Json(FormatTime(*t)) : Json(nullptr); }

Json GoalJson(const rules::KpiSpec& spec) {
  if (!spec.goal) return nullptr;
  Json goal;
  if (const auto* d = std::get_if<rules::DeadlineGoal>(&spec.goal->kind)) {
    goal["type"] = "deadline";
    goal["baseline"] = d->baseline;
    goal["target"] = d->target;
    goal["start"] = FormatTime(d->start);
    goal["deadline"] = FormatTime(d->deadline);
    goal["at_risk"] = d->at_risk;
    goal["off_track"] = d->off_track;
    goal["use_forecast"] = d->use_forecast;
    Json milestones = Json::array();
    for (const rules::Milestone& m : d->milestones) {
      milestones.push_back({{"at", FormatTime(m.at)}, {"value", m.value}});
    }
    goal["milestones"] = std::move(milestones);
  } else {
    const auto& b = std::get<rules::BandGoal>(spec.goal->kind);
    goal["type"] = "band";
    goal["min"] = Optional(b.min);
    goal["max"] = Optional(b.max);
    goal["warn_min"] = Optional(b.warn_min);
    goal["warn_max"] = Optional(b.warn_max);
  }
  Json notify_on = Json::array();
  for (rules::Status s : spec.goal->notify_on) notify_on.push_back(rules::StatusName(s));
  goal["notify_on"] = std::move(notify_on);
  return goal;
}

Json PeriodJson(const KpiView& view) {
  if (!view.period) return nullptr;
  const PeriodView& p = *view.period;
  const auto& goal = std::get<config::DeadlineGoal>(view.config->goal->kind);
  return {{"period", rules::PeriodKindName(p.kind)},
          {"label", p.label},
          {"start", FormatTime(p.period.start)},
          {"deadline", FormatTime(p.period.end)},
          {"baseline", Optional(p.baseline)},
          {"baseline_from", goal.carry_baseline ? "carry" : "config"},
          {"achieved", view.periods_achieved},
          {"missed", view.periods_missed}};
}

Json SilencedBy(const KpiView& view, const AlertView& alert, const SilenceLookup& silenced) {
  Json ids = Json::array();
  if (silenced) {
    for (std::string& id : silenced(view, alert)) ids.push_back(std::move(id));
  }
  return ids;
}

// The alert's `for`: how long its condition must hold before it fires.
rules::Duration ForDuration(const config::Kpi& kpi, const AlertView& alert) {
  if (alert.rule == "goal")
    return kpi.goal ? rules::Duration(kpi.goal->for_duration) : rules::Duration::zero();
  for (const config::Rule& r : kpi.rules) {
    if (r.name == alert.rule) return std::chrono::duration_cast<rules::Duration>(r.for_duration);
  }
  return rules::Duration::zero();
}

Json AlertJson(const KpiView& view, const AlertView& alert, const SilenceLookup& silenced) {
  const rules::AlertState& s = alert.state;
  return {{"id", alert.id},
          {"rule", alert.rule},
          {"state", rules::AlertPhaseName(s.phase)},
          {"severity", rules::SeverityName(alert.severity)},
          {"status", s.status ? Json(rules::StatusName(*s.status)) : Json(nullptr)},
          {"active_since", Time(s.active_since)},
          {"fired_at", Time(s.fired_at)},
          {"resolved_at", Time(s.resolved_at)},
          {"summary", alert.summary},
          {"description", alert.description},
          {"silenced_by", SilencedBy(view, alert, silenced)}};
}

}  // namespace

std::string FormatTime(TimePoint t) {
  auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  if (ms.time_since_epoch() % std::chrono::seconds(1) == std::chrono::milliseconds::zero()) {
    return date::format("%FT%TZ", std::chrono::floor<std::chrono::seconds>(ms));
  }
  return date::format("%FT%TZ", ms);
}

std::optional<TimePoint> ParseTime(std::string_view text) {
  auto parsed = rules::ParseTimeSpec(text);
  const auto* spec = std::get_if<rules::TimeSpec>(&parsed);
  if (spec == nullptr) return std::nullopt;
  // A date or a time without offset is read in UTC, as API times are written.
  return rules::Resolve(*spec, nullptr, rules::DayBound::kStart);
}

Json KpiJson(const KpiView& view, const SilenceLookup& silenced) {
  const config::Kpi& kpi = *view.config;
  const rules::Variables& v = view.evaluation.variables;
  Json j;
  j["name"] = kpi.name;
  j["title"] = kpi.title;
  j["unit"] = kpi.unit;
  j["owner"] = kpi.owner;
  Json labels = Json::object();
  for (const auto& [k, value] : kpi.labels) labels[k] = value;
  j["labels"] = std::move(labels);
  j["source"] = kpi.source.empty() ? Json(nullptr) : Json(kpi.source);
  j["expr"] = kpi.expr ? Json(kpi.expr->text) : Json(nullptr);
  j["value"] = view.latest ? Number(view.latest->value) : Json(nullptr);
  j["timestamp"] = view.latest ? Json(FormatTime(view.latest->at)) : Json(nullptr);
  j["status"] =
      view.evaluation.status ? Json(rules::StatusName(*view.evaluation.status)) : Json(nullptr);
  j["judged"] = view.evaluation.judged;
  j["goal"] = GoalJson(view.spec);
  j["progress"] = Number(v.progress);
  j["expected"] = Number(v.expected);
  j["expected_progress"] = Number(v.expected_progress);
  j["gap"] = Number(v.gap);
  j["forecast"] = Number(v.forecast);
  j["forecast_progress"] = Number(v.forecast_progress);
  j["days_left"] = Number(v.days_left);
  j["forecast_lower"] = Number(v.forecast_lower);
  j["forecast_upper"] = Number(v.forecast_upper);
  j["likelihood"] = Number(v.likelihood);
  j["required_rate_per_day"] = Number(v.required_rate);
  j["required_rate_per_week"] = Number(7 * v.required_rate);
  j["current_rate_per_day"] = Number(v.current_rate);
  j["current_rate_per_week"] = Number(7 * v.current_rate);
  j["days_to_target"] = Number(v.days_to_target);
  j["projected_hit"] = view.evaluation.projected_hit
                           ? Json(FormatTime(*view.evaluation.projected_hit))
                           : Json(nullptr);
  j["period"] = PeriodJson(view);
  j["age_seconds"] = Number(v.age_seconds);
  j["delta"] = Number(v.delta);
  j["avg_7d"] = Number(v.avg_7d);
  j["min_7d"] = Number(v.min_7d);
  j["max_7d"] = Number(v.max_7d);
  if (view.last_error) {
    j["error"] = {{"kind", collectors::ErrorKindName(view.last_error->kind)},
                  {"message", view.last_error->message}};
  } else {
    j["error"] = nullptr;
  }
  Json alerts = Json::array();
  for (const AlertView& alert : view.alerts) alerts.push_back(AlertJson(view, alert, silenced));
  j["alerts"] = std::move(alerts);
  return j;
}

Json ActiveAlertJson(const KpiView& view, const AlertView& alert, const SilenceLookup& silenced) {
  const config::Kpi& kpi = *view.config;
  const rules::AlertState& s = alert.state;
  Json labels = Json::object();
  for (const auto& [k, v] :
       rules::AlertLabels(kpi.name, alert.id, alert.severity, s.status, kpi.labels)) {
    labels[k] = v;
  }
  Json j = AlertJson(view, alert, silenced);
  j["kpi"] = kpi.name;
  j["labels"] = std::move(labels);
  std::optional<TimePoint> fires_at;
  if (s.phase == rules::AlertPhase::kPending && s.active_since) {
    fires_at = *s.active_since + ForDuration(kpi, alert);
  }
  j["fires_at"] = Time(fires_at);
  return j;
}

Json PastPeriodsJson(const KpiView& view) {
  Json out = Json::array();
  for (const PastPeriod& past : view.past_periods) {
    const store::PeriodRow& row = past.row;
    out.push_back({{"label", past.label},
                   {"start", FormatTime(row.start)},
                   {"deadline", FormatTime(row.end)},
                   {"result", row.result},
                   {"final_value", Optional(row.final_value)},
                   {"progress", Optional(row.progress)},
                   {"baseline", Optional(row.baseline)},
                   {"target", Number(row.target)}});
  }
  return out;
}

Json RestatementsJson(std::span<const store::RestatementRow> rows) {
  Json out = Json::array();
  const auto status = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  for (const store::RestatementRow& row : rows) {
    Json changes = Json::array();
    for (const store::RestatedValue& v : row.changes) {
      changes.push_back({{"timestamp", FormatTime(v.at)},
                         {"before", Number(v.before)},
                         {"after", Number(v.after)}});
    }
    Json statuses = Json::array();
    for (const store::StatusChange& c : row.statuses) {
      statuses.push_back({{"kpi", c.kpi},
                          {"from", FormatTime(c.from)},
                          {"until", FormatTime(c.until)},
                          {"before", status(c.before)},
                          {"after", status(c.after)}});
    }
    Json periods = Json::array();
    for (const store::RestatedPeriod& p : row.periods) {
      const auto side = [](const store::PeriodRow& r) {
        return Json{{"result", r.result.empty() ? Json(nullptr) : Json(r.result)},
                    {"final_value", Optional(r.final_value)},
                    {"baseline", Optional(r.baseline)}};
      };
      periods.push_back({{"start", FormatTime(p.after.start)},
                         {"deadline", FormatTime(p.after.end)},
                         {"before", side(p.before)},
                         {"after", side(p.after)}});
    }
    out.push_back({{"detected_at", FormatTime(row.detected)},
                   {"values", row.values},
                   {"first", FormatTime(row.first)},
                   {"last", FormatTime(row.last)},
                   {"changes", std::move(changes)},
                   {"status_changes", std::move(statuses)},
                   {"periods", std::move(periods)}});
  }
  return out;
}

Json HistoryJson(std::span<const rules::Sample> samples) {
  Json out = Json::array();
  for (const rules::Sample& s : samples) {
    out.push_back({{"timestamp", FormatTime(s.at)}, {"value", Number(s.value)}});
  }
  return out;
}

}  // namespace kpid::api
