// The JSON shapes of the KPI API (GET /api/v1/kpis, /api/v1/kpis/{name}), shared with
// `kpid eval --format json` so that both show a KPI the same way. Numbers without a value
// (no sample yet, no forecast, a band goal's trajectory) are null.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/engine.hpp"

namespace kpid::api {

// RFC 3339 in UTC, with milliseconds only when the instant has them.
[[nodiscard]] std::string FormatTime(TimePoint t);

// Parses RFC 3339: a date-time with "Z" or an offset, fractional seconds allowed; a date
// or a date-time without offset is read in UTC.
[[nodiscard]] std::optional<TimePoint> ParseTime(std::string_view text);

// The ids of the silences that cover an alert now.
using SilenceLookup = std::function<std::vector<std::string>(const KpiView&, const AlertView&)>;

// One KPI: name, title, unit, owner, labels, source/expr, value, timestamp, status, goal,
// progress, expected, expected_progress, gap, forecast, forecast_progress, days_left,
// period (a recurring goal's current period and counts of closed ones, else null),
// error and alerts (each with silenced_by, from `silenced` when given).
[[nodiscard]] nlohmann::ordered_json KpiJson(const KpiView& view,
                                             const SilenceLookup& silenced = nullptr);

// A recurring goal's closed periods, newest first (at most Engine::kMaxPastPeriods): label,
// start, deadline, result, final_value, progress, baseline, target. An empty array for
// other KPIs.
[[nodiscard]] nlohmann::ordered_json PastPeriodsJson(const KpiView& view);

// A KPI's restatements, newest first: detected_at, values (how many changed), first and
// last (the oldest and newest changed), changes ([{timestamp, before, after}], at most the
// first 100), status_changes ([{kpi, from, until, before, after}]) and periods (a
// recurring goal's periods judged again: [{start, deadline, before, after}], each side with
// result, final_value and baseline).
[[nodiscard]] nlohmann::ordered_json RestatementsJson(std::span<const store::RestatementRow> rows);

// One pending or firing alert for GET /api/v1/alerts: its KPI, its labels, state, timers
// (fires_at: when a pending alert fires if its condition keeps holding), annotations and
// silenced_by.
[[nodiscard]] nlohmann::ordered_json ActiveAlertJson(const KpiView& view, const AlertView& alert,
                                                     const SilenceLookup& silenced);

// [{"timestamp": ..., "value": ...}, ...], oldest first.
[[nodiscard]] nlohmann::ordered_json HistoryJson(std::span<const rules::Sample> samples);

}  // namespace kpid::api
