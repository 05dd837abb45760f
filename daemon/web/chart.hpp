// Inline SVG for the status pages: the progress bar and the history chart (a sparkline on
// the overview, a larger chart with axes on the detail page). Colours come from the
// stylesheet through classes, so the SVG needs no style attributes.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <date/tz.h>

#include "daemon/engine.hpp"

namespace kpid::web {

// A horizontal bar of the progress p (clamped to 0..1) with a mark at the expected
// progress; "" for a KPI without a deadline goal or without a value.
[[nodiscard]] std::string ProgressBar(const KpiView& view);

struct ChartOptions {
  double width = 300;  // viewBox units; the stylesheet scales the SVG to its box
  double height = 48;
  std::size_t max_points = 80;            // of the history line, after thinning
  bool detailed = false;                  // axes, target line, milestones, forecast, "now"
  const date::time_zone* zone = nullptr;  // evaluation.timezone, for dates; null: UTC
};

// The time range a KPI's chart covers: start to deadline (or the latest sample, if
// later) for a deadline goal; the last 30 days up to `now` otherwise.
struct ChartRange {
  TimePoint from;
  TimePoint to;
};
[[nodiscard]] ChartRange RangeOf(const KpiView& view, TimePoint now);

// The history line of `history` (oldest first) with the trajectory (baseline to target
// through the milestones) or the band, as an <svg role="img"> with a text alternative.
[[nodiscard]] std::string Chart(const KpiView& view, std::span<const rules::Sample> history,
                                TimePoint now, const ChartOptions& options);

// At most `max_points` samples of `samples` (oldest first) that keep its shape: the lowest
// and highest of each of max_points / 2 runs of equally many samples, in time order.
[[nodiscard]] std::vector<rules::Sample> Thin(std::span<const rules::Sample> samples,
                                              std::size_t max_points);

}  // namespace kpid::web
