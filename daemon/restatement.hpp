// Restated data (README "Restated data"): a history read again may change values the store
// holds, as when a finance system corrects a month after closing it. These find the values
// that changed and what that changes of the goals' past statuses; the service records both
// and tells the goals' owners.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "daemon/backtest.hpp"
#include "daemon/config/config.hpp"
#include "daemon/engine.hpp"
#include "daemon/store/store.hpp"
#include "rules/series.hpp"

namespace kpid {

// Values this close, relative to the larger, are the same: a database may sum the same rows
// in another order from one query to the next.
inline constexpr double kRestatedTolerance = 1e-9;

// What a history read again says against the store.
struct HistoryDiff {
  // The values of `fresh` whose time, to the millisecond as the store keeps it, the store
  // holds with another value, oldest first.
  std::vector<store::RestatedValue> restated;
  // How many of `fresh`'s times the store does not hold: new rows. Times only the store
  // holds (samples collected between the history's rows, rows the source dropped) count
  // as neither.
  std::size_t added = 0;
};

// Compares `fresh` with what the store holds (`stored`: at least the samples at fresh's
// times); both oldest first.
[[nodiscard]] HistoryDiff DiffHistory(std::span<const rules::Sample> stored,
                                      std::span<const rules::Sample> fresh);

// A comparison judges at most this many times: every evaluation.interval, or less often
// over a long span, so that a restated year costs milliseconds, not seconds.
inline constexpr std::size_t kMaxRestatementEvaluations = 10'000;

// Replays the goals of `kpi` and of the KPIs replayed with it (ReplayGroup) from `since` to
// `until`, once over the history `before` reads and once over what `after` reads, and
// returns the spans where a status differs, in config order and then by time.
[[nodiscard]] std::vector<store::StatusChange> CompareStatuses(
    const std::shared_ptr<const config::Config>& config, const std::string& kpi,
    const HistoryReader& before, const HistoryReader& after, TimePoint since, TimePoint until);

// The spans where two status timelines of one KPI, judged on the same steps up to `until`,
// differ.
[[nodiscard]] std::vector<store::StatusChange> DiffTimelines(const std::string& kpi,
                                                             std::span<const BacktestStatus> before,
                                                             std::span<const BacktestStatus> after,
                                                             TimePoint until);

// Closed periods a restatement looks at, newest first, at most.
inline constexpr std::size_t kMaxRejudgedPeriods = 1'000;

// The periods of `kpi`'s recurring goal (none for other goals) judged again over `after`,
// the values with the restatement, as Engine::RollPeriod judged them: the closed ones in
// `stored` that end at or after `since`, the oldest restated time, and with a carried
// baseline the open one. Only those that come out different, oldest first.
[[nodiscard]] std::vector<store::RestatedPeriod> RejudgePeriods(const config::Kpi& kpi,
                                                                const store::StoredPeriods& stored,
                                                                const SampleLookup& after,
                                                                TimePoint since);

}  // namespace kpid
