// HTML building blocks shared by the status pages: escaping, number and time wording,
// status names and colours, and the page frame. Every string from the config or from
// collected data passes through Escape() (or an Append* helper that escapes) before it
// reaches the page.
#pragma once

#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <date/tz.h>

#include "daemon/engine.hpp"
#include "daemon/web/escape.hpp"

namespace kpid::web {

// Percent-encodes everything except RFC 3986 unreserved characters: for query values and
// path segments.
[[nodiscard]] std::string UrlEncode(std::string_view text);

// "—" (an em dash) for a missing number everywhere on the pages, never "nan".
inline constexpr std::string_view kNoValue = "\u2014";
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Like rules::FormatNumber ("0.025", "66.6667", no trailing zeros, never fewer digits than
// the integer part, scientific below 1e-4 and from 1e15 on) with `significant` digits and
// digit groups (narrow no-break spaces) from 10 000 on; kNoValue for NaN and infinities.
// Collected values show 6 digits; computed ones (expected, forecast, averages) fewer, since
// their last digits mean nothing.
inline constexpr int kExactDigits = 6;
inline constexpr int kRoundedDigits = 4;
[[nodiscard]] std::string FormatValue(double value, int significant = kExactDigits);
// FormatValue plus " unit" when the value is finite and the unit set.
[[nodiscard]] std::string FormatQuantity(double value, std::string_view unit,
                                         int significant = kExactDigits);
// Short axis labels: 1250000 -> "1.25M", 64000 -> "64k", 0.025 -> "0.025".
[[nodiscard]] std::string FormatCompact(double value);
// A ratio as a percentage with at most one decimal: 0.543 -> "54.3 %".
[[nodiscard]] std::string FormatPercent(double ratio);
// "12 days", "less than 1 day", "deadline passed", kNoValue for NaN.
[[nodiscard]] std::string FormatDaysLeft(double days);
// A change per day: "+1 250 EUR a day", "-0.2 a day"; kNoValue for NaN.
[[nodiscard]] std::string FormatRate(double per_day, std::string_view unit);
// When the forecast line reaches the target: "2027-01-15 at this rate", "not at this rate",
// "reached" once achieved; kNoValue without a forecast line.
[[nodiscard]] std::string FormatProjectedHit(const KpiView& view, const date::time_zone* zone);
// In evaluation.timezone (`zone`; UTC when null), which the goals' dates are in:
// "2026-11-15 13:00 CET"; with seconds when they are not zero ("2026-11-15 13:00:07 CET").
[[nodiscard]] std::string FormatTime(TimePoint t, const date::time_zone* zone);
// <time datetime="RFC 3339">FormatTime</time>.
[[nodiscard]] std::string TimeElement(TimePoint t, const date::time_zone* zone);
// A deadline or milestone: the day it ends, as configured ("2026-12-31" for the instant
// 2027-01-01 00:00), when it falls on a local midnight; else FormatTime.
[[nodiscard]] std::string FormatEnd(TimePoint end, const date::time_zone* zone);
// <time datetime="RFC 3339">FormatEnd</time>.
[[nodiscard]] std::string EndElement(TimePoint end, const date::time_zone* zone);

// What a KPI's status cell says. A KPI without a goal and a KPI not judged yet (its first
// collection still running) have no rules::Status; they get their own words and rank.
struct StatusInfo {
  std::string_view key;    // CSS class suffix and ?status= value: "off_track", "no_goal", ...
  std::string_view words;  // "Off track"
  int rank = 0;            // display order: 0 is the most urgent
};
[[nodiscard]] StatusInfo StatusOf(const KpiView& view);
// Every key StatusOf() can return, in rank order.
inline constexpr std::string_view kStatusKeys[] = {"missed",   "off_track", "at_risk", "no_data",
                                                   "on_track", "achieved",  "no_goal", "pending"};
[[nodiscard]] std::string_view StatusWordsOf(std::string_view key);

// <span class="badge st-KEY">Words</span>: colour and text together.
[[nodiscard]] std::string StatusBadge(const StatusInfo& status);

// The KPI's title for people (its name when the config has none); escaped by the caller.
[[nodiscard]] std::string_view TitleOf(const KpiView& view);
// "1 200 000 EUR by 2026-12-31", "at most 0.03", "" without a goal. Dates in UTC.
[[nodiscard]] std::string GoalText(const KpiView& view, const date::time_zone* zone);

// A whole HTML document: head with title, viewport, stylesheet and script (served under
// /static/), then `body` (already HTML) inside <body>. `refresh` > 0 makes the page
// refresh itself every `refresh` seconds (the script swaps <main>; without script a
// <noscript> meta refresh reloads the page).
[[nodiscard]] std::string Document(std::string_view title, std::string_view body,
                                   std::chrono::seconds refresh);

}  // namespace kpid::web
