// The status page (GET /) and the per-KPI detail page (GET /kpi/{name}): server-rendered
// HTML with its stylesheet and script served from the daemon itself, so the pages work
// offline under a strict Content-Security-Policy. The pages read the daemon through
// PageSource, so they render the same from the service and from tests.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <date/tz.h>

#include "daemon/engine.hpp"
#include "daemon/http/router.hpp"
#include "daemon/store/store.hpp"

namespace kpid::web {

// A silence that matches one of a KPI's alerts now.
struct SilenceNote {
  std::string id;
  std::string alert;  // the alert id it matches, e.g. "revenue/goal"
  std::string comment;
  std::string created_by;
  TimePoint ends_at;
};

// How much of a KPI's restatements its page shows: the newest restatements, and the
// oldest changed values of each (the rest are counted).
inline constexpr std::size_t kRestatementsShown = 5;
inline constexpr std::size_t kRestatedValuesShown = 10;

// What the pages read of the running daemon. Called on the io thread, per request.
class PageSource {
 public:
  virtual ~PageSource() = default;
  // Every KPI of the running config, in config order.
  [[nodiscard]] virtual const std::vector<KpiView>& Kpis() const = 0;
  [[nodiscard]] virtual const KpiView* Find(std::string_view kpi) const = 0;
  // Stored samples of `kpi` from `since` on, oldest first, at most `limit`; empty when the
  // store is unavailable.
  [[nodiscard]] virtual std::vector<rules::Sample> History(const std::string& kpi, TimePoint since,
                                                           std::size_t limit) const = 0;
  // Silences that match one of the KPI's alerts at `now`.
  [[nodiscard]] virtual std::vector<SilenceNote> Silences(const KpiView& kpi,
                                                          TimePoint now) const = 0;
  // The KPI's latest restatements, newest first (the page shows at most kRestatementsShown,
  // with kRestatedValuesShown values each); empty when the store is unavailable.
  [[nodiscard]] virtual std::vector<store::RestatementRow> Restatements(
      const std::string& kpi) const = 0;
  // The last evaluation, nullopt before the first.
  [[nodiscard]] virtual std::optional<TimePoint> EvaluatedAt() const = 0;
  // evaluation.interval: how often the pages refresh themselves.
  [[nodiscard]] virtual std::chrono::seconds RefreshInterval() const = 0;
  // evaluation.timezone: the pages show times and dates in it, as the goals are set in it.
  [[nodiscard]] virtual const date::time_zone* Zone() const = 0;
  [[nodiscard]] virtual TimePoint Now() const = 0;
};

// Adds GET / (overview), GET /kpi/{name} (detail) and the static assets under /static/.
// `source` must outlive the router.
void AddRoutes(http::Router& router, const PageSource& source);

}  // namespace kpid::web
