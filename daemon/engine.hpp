// The judged state of every KPI in the running config: its sample windows, its latest
// evaluation (status, progress, forecast, ...), the values of derived KPIs and the state of
// every alert. The daemon feeds collections and restored state in and calls Evaluate()
// every evaluation.interval; the engine does no I/O itself, so `kpid eval`, the service
// and tests drive it the same way. Exposed as the per-KPI metrics of DESIGN.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
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

// What the API, the metrics and `kpid eval` show of one KPI.
struct KpiView {
  const config::Kpi* config = nullptr;  // valid until the next Apply()
  rules::KpiSpec spec;
  std::optional<rules::Sample> latest;
  std::optional<collectors::CollectError> last_error;  // of the latest collection
  bool collected_once = false;
  rules::Evaluation evaluation;  // as of the last Evaluate()
  std::vector<AlertView> alerts;
};

class Engine : public VersionedCollectable {
 public:
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

  // Merges stored or backfilled samples (oldest first) into a KPI's windows.
  void Seed(const std::string& kpi, std::span<const rules::Sample> samples, TimePoint now);

  // Restores saved alert states; ids the config no longer has are ignored.
  void RestoreAlerts(std::span<const store::AlertRow> rows);

  // A collection of `kpi` finished. Returns the sample to persist when it is new (not
  // older than or equal in time to the latest one).
  std::optional<store::SampleRow> Record(const std::string& kpi,
                                         const collectors::CollectResult& result);

  struct Cycle {
    std::vector<store::SampleRow> samples;  // new derived-KPI samples, to persist
    std::vector<store::AlertRow> alerts;    // alert states that changed, to persist
    std::vector<AlertChange> changes;       // in KPI order
  };
  // Computes derived KPIs (in dependency order), judges every KPI at `now` and steps its
  // alerts. A KPI is judged once its first collection since start has finished (for a
  // derived KPI: those of all the KPIs it reads).
  Cycle Evaluate(TimePoint now);

  // In config order.
  [[nodiscard]] const std::vector<KpiView>& kpis() const { return views_; }
  [[nodiscard]] const KpiView* Find(std::string_view kpi) const;
  // Every alert id of the config, for dropping the saved states of others.
  [[nodiscard]] std::vector<std::string> AlertIds() const;

  std::vector<prometheus::MetricFamily> Collect() const override;
  // Changes whenever what Collect() returns may have changed.
  [[nodiscard]] std::uint64_t Version() const override { return version_; }

 private:
  struct Runtime;
  std::shared_ptr<const config::Config> config_;
  std::uint64_t version_ = 0;
  // Compiled expressions point into vars_; both are rebuilt by Apply().
  std::unique_ptr<rules::VariableSet> vars_;
  std::unique_ptr<rules::VariableSlots> slots_;     // the per-KPI variables in vars_
  std::vector<std::unique_ptr<Runtime>> runtimes_;  // parallel to views_
  std::vector<KpiView> views_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace kpid
