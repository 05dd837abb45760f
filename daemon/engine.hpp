// The judged state of every KPI in the running config: its sample windows, its latest
// evaluation (status, progress, forecast, ...), the values of derived KPIs and the state of
// every alert. The daemon feeds collections and restored state in and calls Evaluate()
// every evaluation.interval; the engine does no I/O itself, so `kpid eval`, the service
// and tests drive it the same way. Exposed as the per-KPI metrics of DESIGN.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "collectors/collector.hpp"
#include "daemon/config/config.hpp"
#include "daemon/metrics.hpp"
#include "daemon/store/store.hpp"
#include "rules/alert.hpp"
#include "rules/evaluator.hpp"
#include "rules/expression.hpp"
#include "rules/series.hpp"
#include "rules/template.hpp"

namespace kpid {

using TimePoint = rules::TimePoint;

// One alert of a KPI: its goal (`<kpi>/goal`) or one of its rules (`<kpi>/<rule>`).
struct AlertView {
  std::string id;
  std::string rule;  // "goal" for the goal alert
  rules::AlertState state;
  rules::Severity severity = rules::Severity::kWarning;  // current or, inactive, configured
  std::string summary;                                   // as rendered at the last transition
  std::string description;                               // ditto; empty without a template
};

// A transition of one alert, for the log now and for notifications (a later layer).
struct AlertChange {
  std::string kpi;
  std::string alert;
  rules::Transition transition;
  rules::Labels labels;  // DESIGN.md alert labels
  std::string summary;
  std::string description;
  rules::Variables variables;  // of the KPI when it happened
};

// A recurring goal's current period.
struct PeriodView {
  rules::PeriodKind kind = rules::PeriodKind::kMonth;
  std::string label;  // rules::PeriodLabel()
  rules::Period period;
  std::optional<double> baseline;  // nullopt: carried, and no value seen yet
};

// A closed period of a recurring goal, as the store keeps it, with its label.
struct PastPeriod {
  std::string label;
  store::PeriodRow row;
};

// Where the engine reads a KPI's samples when it closes periods. Its windows keep sums, not
// samples, so these come from the store (Engine::SetHistorySource) or a backtest's history.
struct SampleLookup {
  // The newest sample with timestamp <= t.
  std::function<std::optional<rules::Sample>(TimePoint t)> at_or_before;
  // The oldest sample with timestamp >= t.
  std::function<std::optional<rules::Sample>(TimePoint t)> first_from;
};

// A deadline goal's event (README "Goal events"): progress first reaching one of the goal's
// progress_events, a milestone's date passing (met or missed), the goal achieved. Each
// happens once per goal and, for a recurring goal, per period; Engine::Evaluate() reports
// it in the pass that finds it and never again (RestoreEvents() carries that across
// restarts). The notifier records it in the store with the notifications that tell it.
//
// A restatement (kRestated) is told the same way, by the service rather than the engine:
// a history read again changed past values, and with them the KPI's past statuses.
struct GoalEvent {
  enum class Kind { kProgress, kMilestoneMet, kMilestoneMissed, kAchieved, kJudged, kRestated };
  Kind kind = Kind::kProgress;
  std::string kpi;
  std::string period;  // the period label of a recurring goal; "" for other goals
  // Once per (kpi, period, key): "progress_50", "milestone@2026-11-15T23:00:00Z",
  // "achieved", "judged" (the goal's first judgement: only marks what was past then).
  std::string key;
  std::string name;      // the alert's event label: progress_50, milestone_met, achieved, ...
  TimePoint at;          // the pass that found it
  double threshold = 0;  // kProgress: the fraction of the goal reached, e.g. 0.5
  // Milestone events: the milestone's date (its day in evaluation.timezone) and value, and
  // the KPI's latest value at or before its `at` (nullopt: none by then).
  std::string milestone_day;
  double milestone_value = 0;
  std::optional<double> value;  // other events: the KPI's latest value
  double progress = 0;          // of `value`, when there is one
  // How far ahead of the trajectory (negative: behind) the latest value is: when the
  // trajectory reaches its progress, minus now. nullopt outside the goal's time span.
  std::optional<rules::Duration> ahead;
  // kRestated: the title of the KPI whose history changed when it is another one this KPI
  // reads ("" when it is this one), how many values changed and when the oldest and newest
  // were, the spans where this KPI's status differs now, and its periods judged again.
  std::string restated_title;
  std::size_t restated_values = 0;
  TimePoint restated_first;
  TimePoint restated_last;
  std::vector<store::StatusChange> status_changes;
  std::vector<store::RestatedPeriod> period_changes;  // of this KPI's recurring goal
  // Recorded without telling anyone: already past at the goal's first judgement (so that
  // starting kpid on a half-done goal does not replay old crossings), or said by another
  // event of the same pass (progress_100 is said by achieved).
  bool silent = false;
};

// What the API, the metrics and `kpid eval` show of one KPI.
struct KpiView {
  const config::Kpi* config = nullptr;  // valid until the next Apply()
  rules::KpiSpec spec;
  std::optional<rules::Sample> latest;
  std::optional<collectors::CollectError> last_error;  // of the latest collection
  bool collected_once = false;
  rules::Evaluation evaluation;  // as of the last Evaluate()
  std::vector<AlertView> alerts;
  // Recurring goals only: the current period, from the first Evaluate() or RestorePeriods()
  // on; closed periods, newest first, at most Engine::kMaxPastPeriods; and how many closed
  // achieved or missed, all of them.
  std::optional<PeriodView> period;
  std::vector<PastPeriod> past_periods;
  std::uint64_t periods_achieved = 0;
  std::uint64_t periods_missed = 0;
};

class Engine : public VersionedCollectable {
 public:
  static constexpr std::size_t kMaxPastPeriods = 24;

  Engine();
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Takes a (new) config: KPIs that still exist keep their samples, collection state and
  // alerts (alerts by id; a KPI whose goal's forecast window changed is reported for
  // reseeding), new ones start empty, removed ones are forgotten and their series leave
  // /metrics. Returns the KPIs whose history must be seeded (Seed()) from the store.
  std::vector<std::string> Apply(std::shared_ptr<const config::Config> config);

  // The history window a KPI's evaluation needs: samples since this instant, plus the last
  // two however old (latest and previous).
  [[nodiscard]] TimePoint HistoryStart(const std::string& kpi, TimePoint now) const;

  // Replaces a KPI's windows with `samples` (oldest first: a stored or backfilled
  // history), keeping its latest and previous sample where `samples` lacks their time.
  // The windows hold sums, not samples, so merging history into them means passing the
  // whole window: what the store holds plus what is new.
  void Seed(const std::string& kpi, std::span<const rules::Sample> samples, TimePoint now);

  // Restores saved alert states; ids the config no longer has are ignored.
  void RestoreAlerts(std::span<const store::AlertRow> rows);

  // Adds recorded goal events (the store's): they are not reported again. A goal whose KPI
  // has none (no "judged" row) is judged for the first time at the next Evaluate().
  void RestoreEvents(std::span<const store::EventRow> rows);

  // Takes what the store holds of a recurring goal's periods: past results and counts, and
  // the open period unless the engine has opened a later one (the store opened late; the
  // same one is taken: a restatement may have changed its carried baseline). Then
  // closes every period that ended before `now` — the daemon was down across a rollover —
  // with the samples `history` finds. Returns the period rows to save. No-op for a KPI
  // without a recurring goal.
  std::vector<store::PeriodRow> RestorePeriods(const std::string& kpi,
                                               const store::StoredPeriods& stored,
                                               const SampleLookup& history, TimePoint now);

  // Where a recurring goal's rollover finds samples older than the KPI's latest two: the
  // store in the daemon, the replayed history in a backtest. Without one it sees only
  // those two.
  using HistorySource = std::function<SampleLookup(const std::string& kpi)>;
  void SetHistorySource(HistorySource source) { history_source_ = std::move(source); }

  // A collection of `kpi` finished. Returns the sample to persist when it is new (not
  // older than or equal in time to the latest one).
  std::optional<store::SampleRow> Record(const std::string& kpi,
                                         const collectors::CollectResult& result);
  // Record() of a successful collection by position in kpis(), for a replay (kpid
  // backtest): no lookup by name, nothing to persist.
  void RecordReplayed(std::size_t kpi, const rules::Sample& sample);

  struct Cycle {
    std::vector<store::SampleRow> samples;  // new derived-KPI samples, to persist
    std::vector<store::AlertRow> alerts;    // alert states that changed, to persist
    std::vector<AlertChange> changes;       // in KPI order
    // Periods of recurring goals opened, changed (a carried baseline found) or closed, to
    // save; a closed one has its result set.
    std::vector<store::PeriodRow> periods;
    std::vector<GoalEvent> events;  // goal events found in this pass, in KPI order
  };
  // Computes derived KPIs (in dependency order), rolls recurring goals over to the period
  // holding `now` (recording the closing result of each period that ended: the last
  // sample at or before its end), judges every KPI at `now` and steps its alerts. A KPI is judged
  // once its first collection since start has finished (for a derived KPI: those of all the KPIs it
  // reads).
  Cycle Evaluate(TimePoint now);
  // Evaluate() of only `kpis` (positions in kpis(), ascending), for a replay that steps a
  // few KPIs at a time through the whole history, which keeps their state in the CPU's
  // caches. `kpis` must hold every KPI any of them reads: a derived KPI's inputs and the
  // KPIs named in its rules' expressions and templates. The others are left as they are.
  Cycle Evaluate(TimePoint now, std::span<const std::size_t> kpis);

  // In config order.
  [[nodiscard]] const std::vector<KpiView>& kpis() const { return views_; }
  [[nodiscard]] const KpiView* Find(std::string_view kpi) const;
  // Every alert id of the config, for dropping the saved states of others.
  [[nodiscard]] std::vector<std::string> AlertIds() const;

  // The per-KPI series (engine_metrics.cpp); RenderText() writes the same as text.
  std::vector<prometheus::MetricFamily> Collect() const override;
  void RenderText(std::vector<std::string>& pieces) const override;
  // Changes whenever what Collect() returns may have changed.
  [[nodiscard]] std::uint64_t Version() const override { return version_; }

 private:
  struct Runtime;
  // Opens the period holding `now` if there is none, closes the ones that ended (each
  // closing goes to `out`) and finds a carried baseline.
  void RollPeriod(KpiView& view, TimePoint now, const SampleLookup& history,
                  std::vector<store::PeriodRow>& out);
  // Finds the goal events of views_[i] as of `now` (after it was judged) and appends them.
  void DetectEvents(std::size_t i, TimePoint now, std::vector<GoalEvent>& out);
  std::shared_ptr<const config::Config> config_;
  HistorySource history_source_;
  std::uint64_t version_ = 0;
  // Compiled expressions point into vars_; both are rebuilt by Apply().
  std::unique_ptr<rules::VariableSet> vars_;
  std::unique_ptr<rules::VariableSlots> slots_;     // the per-KPI variables in vars_
  std::vector<std::unique_ptr<Runtime>> runtimes_;  // parallel to views_
  std::vector<KpiView> views_;
  std::map<std::string, std::size_t, std::less<>> index_;
  // Goal events reported or restored, per KPI ("<period>\n<key>"), kept across Apply().
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> events_;
  // Per views_[i], what its next goal event can be, so that a pass with nothing new costs
  // a few comparisons per KPI. Cleared by Apply() and RestoreEvents(); refilled lazily.
  struct EventSlot {
    std::set<std::string, std::less<>>* told = nullptr;  // its entry of events_
    bool cached = false;                                 // the fields below hold for `period`
    std::string period;
    double next_threshold = 0;                // the lowest progress event not told
    std::optional<TimePoint> next_milestone;  // the first milestone not told
    bool achieved = false;                    // told
  };
  std::vector<EventSlot> event_slots_;
};

}  // namespace kpid
