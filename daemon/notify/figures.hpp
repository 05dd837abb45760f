// The figures of a KPI that messages show (value, goal, expected, forecast, days left...),
// taken from the engine's view of it. Shared by alerts and digests.
#pragma once

#include <string>

#include <date/tz.h>

#include "daemon/engine.hpp"
#include "daemon/notify/message.hpp"
#include "daemon/notify/notification.hpp"

namespace kpid::notify {

// The goal in words: "1200000 EUR by 2026-12-31" (the deadline's day in `zone`),
// "between 0.01 and 0.03", "at most 0.03 %", "" without a goal.
[[nodiscard]] std::string GoalText(const rules::KpiSpec& spec, const std::string& unit,
                                   const date::time_zone* zone);

// The KPI's figures as of its last evaluation.
[[nodiscard]] Figures KpiFigures(const KpiView& view, const date::time_zone* zone);

// What a goal event of `view`'s KPI says, for EventSummary(); times in `zone`.
[[nodiscard]] EventFacts GoalEventFacts(const GoalEvent& event, const KpiView& view,
                                        const date::time_zone* zone);

}  // namespace kpid::notify
