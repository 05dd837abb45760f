#include "daemon/notify/figures.hpp"

#include <chrono>

#include "rules/annotation.hpp"

namespace kpid::notify {
// A day in `zone` ("2026-12-31") for an end-of-day instant: the day that ends there.
namespace {

std::string EndDay(TimePoint end, const date::time_zone* zone) {
  auto last = std::chrono::floor<std::chrono::seconds>(end) - std::chrono::seconds(1);
  if (zone == nullptr) return date::format("%F", last);
  return date::format("%F", date::make_zoned(zone, last));
}

std::string Local(TimePoint t, const char* format, const date::time_zone* zone) {
  const auto s = std::chrono::floor<std::chrono::seconds>(t);
  if (zone == nullptr) return date::format(format, s);
  return date::format(format, date::make_zoned(zone, s));
}

std::string StatusOrNone(const std::string& status) {
  return status.empty() ? "not judged" : StatusWords(status);
}

}  // namespace

std::string GoalText(const rules::KpiSpec& spec, const std::string& unit,
                     const date::time_zone* zone) {
  if (!spec.goal) return "";
  const std::string u = unit.empty() ? "" : " " + unit;
  if (const auto* d = std::get_if<rules::DeadlineGoal>(&spec.goal->kind)) {
    return rules::FormatNumber(d->target) + u + " by " + EndDay(d->deadline, zone);
  }
  const auto& band = std::get<rules::BandGoal>(spec.goal->kind);
  if (band.min && band.max) {
    return "between " + rules::FormatNumber(*band.min) + u + " and " +
           rules::FormatNumber(*band.max) + u;
  }
  if (band.max) return "at most " + rules::FormatNumber(*band.max) + u;
  if (band.min) return "at least " + rules::FormatNumber(*band.min) + u;
  return "";
}

Figures KpiFigures(const KpiView& view, const date::time_zone* zone) {
  const config::Kpi& kpi = *view.config;
  const rules::Variables& v = view.evaluation.variables;
  Figures f;
  f.title = kpi.title;
  f.unit = kpi.unit;
  f.owner = kpi.owner;
  f.goal = GoalText(view.spec, kpi.unit, zone);
  f.value = view.latest ? view.latest->value : kNoValue;
  f.target = v.target;
  f.baseline = v.baseline;
  f.expected = v.expected;
  f.progress = v.progress;
  f.expected_progress = v.expected_progress;
  f.forecast = v.forecast;
  f.days_left = v.days_left;
  f.forecast_lower = v.forecast_lower;
  f.forecast_upper = v.forecast_upper;
  f.likelihood = v.likelihood;
  f.required_rate = v.required_rate;
  f.current_rate = v.current_rate;
  f.projected_hit = view.evaluation.projected_hit;
  if (view.spec.goal) {
    if (const auto* d = std::get_if<rules::DeadlineGoal>(&view.spec.goal->kind)) {
      f.deadline = d->deadline;
    }
  }
  return f;
}

EventFacts GoalEventFacts(const GoalEvent& event, const KpiView& view,
                          const date::time_zone* zone) {
  const config::Kpi& kpi = *view.config;
  EventFacts f;
  f.event = event.name;
  f.title = kpi.title.empty() ? kpi.name : kpi.title;
  f.unit = kpi.unit;
  f.value = event.value.value_or(kNoValue);
  if (view.spec.goal) {
    if (const auto* d = std::get_if<rules::DeadlineGoal>(&view.spec.goal->kind)) {
      f.target = d->target;
      f.baseline = d->baseline;
    }
  }
  if (event.kind == GoalEvent::Kind::kProgress) f.threshold = event.threshold;
  f.milestone_day = event.milestone_day;
  if (!event.milestone_day.empty()) f.milestone_value = event.milestone_value;
  if (event.ahead) f.ahead = std::chrono::duration_cast<std::chrono::seconds>(*event.ahead);
  if (event.kind == GoalEvent::Kind::kRestated) {
    f.restated_title = event.restated_title;
    f.restated_values = event.restated_values;
    f.restated_first_day = Local(event.restated_first, "%F", zone);
    f.restated_last_day = Local(event.restated_last, "%F", zone);
    for (const store::StatusChange& c : event.status_changes) {
      f.status_changes.push_back("was " + StatusOrNone(c.before) + ", now " +
                                 StatusOrNone(c.after) + " from " + Local(c.from, "%F %R", zone) +
                                 " to " + Local(c.until, "%F %R", zone));
    }
    const auto* goal = kpi.goal ? std::get_if<config::DeadlineGoal>(&kpi.goal->kind) : nullptr;
    const auto amount = [&](std::optional<double> v) {
      return v ? Quantity(*v, kpi.unit) : std::string("no value");
    };
    for (const store::RestatedPeriod& p : event.period_changes) {
      std::string text =
          goal != nullptr && goal->period
              ? rules::PeriodLabel(*goal->period, goal->fiscal_year_start, zone, p.after.start)
              : Local(p.after.start, "%F", zone);
      if (p.after.result.empty()) {
        text += ": baseline was " + amount(p.before.baseline) + ", now " + amount(p.after.baseline);
      } else {
        text += ": was " + p.before.result + " at " + amount(p.before.final_value) + ", now " +
                p.after.result + " at " + amount(p.after.final_value);
      }
      f.period_changes.push_back(std::move(text));
    }
  }
  return f;
}

}  // namespace kpid::notify
