// `kpid backtest`: replays the goals and rules of a config over stored history, as the
// daemon would have judged them every `step`, and reports per KPI the status timeline,
// every notification that would have been sent (and to which receivers), and flaps.
// Sends nothing and writes nothing: how a leader tunes at_risk, off_track and `for`
// before going live.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "daemon/config/config.hpp"
#include "rules/series.hpp"

namespace kpid {

using TimePoint = rules::TimePoint;

struct BacktestOptions {
  TimePoint since;
  TimePoint until;
  // Evaluations happen at since, since + step, ... up to until, as the daemon's do every
  // evaluation.interval; a coarser step is faster and sees `for` only to the step.
  rules::Duration step = std::chrono::minutes(1);
  // The KPIs to report; empty: every KPI. Those they read, and those that read them, are
  // replayed too; no other KPI's history is read.
  std::vector<std::string> kpis;
};

struct BacktestStatus {
  TimePoint at;
  std::string status;  // "" before the KPI has a value to judge
};

struct BacktestNotification {
  TimePoint at;
  std::string alert;
  // "firing", "changed" (status or severity while firing), "resolved", or a goal event:
  // "progress_50", "milestone_met", "milestone_missed", "achieved" (severity "info").
  std::string event;
  std::string status;
  std::string severity;
  double value = 0;  // the KPI's value then (NaN: none)
  std::string summary;
  std::vector<std::string> receivers;  // of the routes it matches; empty: unrouted
};

// A status that lasted less than the flap window before it changed again.
struct BacktestFlap {
  TimePoint at;  // when the short-lived status began
  std::string status;
  rules::Duration lasted{};
};

struct BacktestKpi {
  std::string kpi;
  std::size_t samples = 0;  // replayed, inside [since, until]
  std::vector<BacktestStatus> timeline;
  std::vector<BacktestNotification> notifications;
  rules::Duration flap_window{};  // the goal's `for`, or 3 steps when it is zero
  // Set when the history is sparser than stale_after (daily backfill, say, against a
  // 15-minute collection): the replay then reads stale_after as this, 3 times the
  // history's median gap, so that the KPI is judged rather than no_data throughout.
  std::optional<rules::Duration> stale_after;
  std::vector<BacktestFlap> flaps;
};

struct BacktestReport {
  TimePoint since;
  TimePoint until;
  rules::Duration step{};
  std::size_t evaluations = 0;
  std::vector<BacktestKpi> kpis;  // in config order
};

// The KPIs replayed together with `kpi` (itself included), in config order: those it
// reads and those that read it, transitively.
[[nodiscard]] std::vector<std::string> ReplayGroup(const config::Config& config,
                                                   std::string_view kpi);

// The CLI's --since (a duration back from `now`, or a time), --until (a time; empty: now)
// and --step (a duration; empty: evaluation.interval), already checked by cli::Parse.
// Times without an offset are read in evaluation.timezone, dates as the start of the day.
[[nodiscard]] BacktestOptions ResolveBacktestOptions(const std::string& since,
                                                     const std::string& until,
                                                     const std::string& step,
                                                     const std::string& only_kpi,
                                                     const config::Config& config, TimePoint now);

// The samples of one KPI in [from, until], oldest first.
using HistoryReader = std::function<std::vector<rules::Sample>(const std::string& kpi,
                                                               TimePoint from, TimePoint until)>;

// Replays `config` over the history. Each KPI starts with the history its windows need
// before `since` (forecast window, 7-day stats) and counts as collected from there. A
// derived KPI takes the largest stale_after raised for a collected one replayed with it.
[[nodiscard]] BacktestReport Backtest(const std::shared_ptr<const config::Config>& config,
                                      const HistoryReader& history, const BacktestOptions& options);

void PrintBacktestText(const BacktestReport& report, std::ostream& out);
void PrintBacktestJson(const BacktestReport& report, std::ostream& out);

// The CLI command: history from the daemon's store ([storage] path), read-only. Returns the
// exit code: 0 done, 1 when the store cannot be read or `options.kpis` names an unknown KPI.
int RunBacktest(const config::Config& config, const BacktestOptions& options, bool json,
                std::ostream& out, std::ostream& err);

}  // namespace kpid
