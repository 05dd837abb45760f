#include "daemon/goal_builder.hpp"

#include <limits>
#include <variant>

#include "rules/time_spec.hpp"

namespace kpid {
namespace {

rules::TimePoint Instant(const rules::TimeSpec& spec, const date::time_zone* zone,
                         rules::DayBound bound) {
  return rules::Resolve(spec, zone, bound);
}

rules::DeadlineGoal Build(const config::DeadlineGoal& g, const date::time_zone* zone) {
  rules::DeadlineGoal out;
  out.baseline = g.baseline;
  out.target = g.target;
  if (g.period) {
    // The engine sets start, deadline and (with carry) baseline for the current period.
    if (g.carry_baseline) out.baseline = std::numeric_limits<double>::quiet_NaN();
  } else {
    out.start = Instant(g.start, zone, rules::DayBound::kStart);
    out.deadline = Instant(g.deadline, zone, rules::DayBound::kEnd);
  }
  out.at_risk = g.at_risk;
  out.off_track = g.off_track;
  out.forecast_window = g.forecast_window;
  out.use_forecast = g.use_forecast;
  out.milestones.reserve(g.milestones.size());
  for (const config::Milestone& m : g.milestones) {
    out.milestones.push_back({Instant(m.at, zone, rules::DayBound::kEnd), m.value});
  }
  return out;
}

rules::BandGoal Build(const config::BandGoal& g, const date::time_zone* /*zone*/) {
  return {g.min, g.max, g.warn_min, g.warn_max};
}

}  // namespace

rules::Goal BuildGoal(const config::Goal& goal, const date::time_zone* zone) {
  rules::Goal out;
  out.kind = std::visit(
      [&](const auto& kind) -> std::variant<rules::DeadlineGoal, rules::BandGoal> {
        return Build(kind, zone);
      },
      goal.kind);
  out.notify_on = goal.notify_on;
  out.for_duration = goal.for_duration;
  return out;
}

rules::KpiSpec BuildKpiSpec(const config::Kpi& kpi, const date::time_zone* zone) {
  rules::KpiSpec spec;
  spec.stale_after = kpi.stale_after;
  if (kpi.goal) spec.goal = BuildGoal(*kpi.goal, zone);
  return spec;
}

}  // namespace kpid
