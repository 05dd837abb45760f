// Turns a KPI's config into what rules/ judges (rules::KpiSpec): every date resolved to an
// instant in the evaluation zone, so rules/ never sees config syntax or time zones.
#pragma once

#include "daemon/config/config.hpp"
#include "rules/evaluator.hpp"
#include "rules/goal.hpp"

namespace date {
class time_zone;
}

namespace kpid {

// Dates resolve in `zone` (nullptr: UTC): `start` to the beginning of its day, `deadline`
// and each milestone's `at` to the end of theirs (DESIGN.md: a date means the end of that
// day; a milestone is an intermediate deadline: "500000 by 2026-11-15" holds through that
// day). Date-times resolve as written. A recurring goal (period) gets no start, deadline
// or, with carry, baseline (NaN) here: the engine sets them for each period. Expects a goal
// that config::Load() validated.
[[nodiscard]] rules::Goal BuildGoal(const config::Goal& goal, const date::time_zone* zone);

[[nodiscard]] rules::KpiSpec BuildKpiSpec(const config::Kpi& kpi, const date::time_zone* zone);

}  // namespace kpid
