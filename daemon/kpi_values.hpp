// The latest collected value and collection state of every KPI, in memory, on the io
// thread; exposed as kpi_value and kpi_last_sample_timestamp_seconds.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "collectors/collector.hpp"
#include "daemon/config/config.hpp"

namespace kpid {

struct KpiState {
  std::optional<collectors::Sample> latest;
  std::optional<collectors::CollectError> last_error;  // of the latest collection, if it failed
  bool collected_once = false;  // a collection (success or failure) has finished since start
  std::vector<collectors::Sample> history;  // oldest first, within retention
};

class KpiValues : public prometheus::Collectable {
 public:
  // Keeps the state of KPIs that still exist, adds new ones, forgets removed ones (their
  // series disappear from /metrics).
  void Apply(const config::Config& config);

  void Record(const std::string& kpi, const collectors::CollectResult& result);
  // Merges backfilled rows into the history (by timestamp; a row for an existing timestamp
  // replaces it) and updates `latest` when the history holds a newer sample.
  void Backfill(const std::string& kpi, const std::vector<collectors::Sample>& samples);

  const KpiState* Find(const std::string& kpi) const;

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  void Trim(KpiState& state) const;

  struct Entry {
    config::Labels labels;  // kpi label first, then the KPI's own labels
    KpiState state;
  };
  std::map<std::string, Entry, std::less<>> kpis_;
  config::Duration retention_ = config::Duration::zero();
};

}  // namespace kpid
