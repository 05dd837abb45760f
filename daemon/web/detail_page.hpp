// GET /kpi/{name}: one KPI in full — a chart with history, trajectory, milestones, target
// and forecast, every figure in a table, its goal, alerts with their timers, silences,
// labels and the latest samples.
#pragma once

#include <string>
#include <string_view>

#include "daemon/web/status_page.hpp"

namespace kpid::web {

// The whole HTML document for `view`.
[[nodiscard]] std::string RenderDetail(const PageSource& source, const KpiView& view);

// The document of the 404 page for a KPI name the config does not have.
[[nodiscard]] std::string RenderNotFound(const PageSource& source, std::string_view name);

// A page for a request the pages cannot serve (e.g. a malformed query), with `message`.
[[nodiscard]] std::string RenderBadRequest(const PageSource& source, std::string_view message);

}  // namespace kpid::web
