// Pieces both status pages show: the page header, a KPI's recent history, its alerts and
// silences, its labels.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/web/status_page.hpp"

namespace kpid::web {

// The samples of the KPI's chart range (RangeOf), oldest first, at most `limit`, ending
// with the newest. PageSource::History may keep the oldest `limit` of a longer result;
// then a second query asks for a span as long as the first one covered, ending with the
// newest sample, so a dense history shows its recent part rather than its beginning. At
// most two queries per KPI.
[[nodiscard]] std::vector<rules::Sample> ChartHistory(const PageSource& source, const KpiView& view,
                                                      TimePoint now, std::size_t limit);

// <header class="top"> with the page heading (already HTML), the evaluation time and, if the
// page `refreshes` itself, how often.
[[nodiscard]] std::string PageHeader(std::string_view heading_html, const PageSource& source,
                                     bool refreshes);

// The refresh interval of the pages: RefreshInterval(), at least 5 s.
[[nodiscard]] std::chrono::seconds RefreshOf(const PageSource& source);

// <ul class="alerts"> of the firing and pending alerts, "" when there are none.
[[nodiscard]] std::string ActiveAlerts(const KpiView& view, const date::time_zone* zone);

// One <p class="silence"> per silence, "" when there are none.
[[nodiscard]] std::string SilenceNotes(const std::vector<SilenceNote>& silences,
                                       const date::time_zone* zone);

// <ul class="labels"> with a link that filters the overview by each label; "" without labels.
[[nodiscard]] std::string LabelLinks(const KpiView& view);

// <p class="error"> about the latest collection's failure, "" when it succeeded.
[[nodiscard]] std::string CollectError(const KpiView& view);

}  // namespace kpid::web
