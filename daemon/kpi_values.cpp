#include "daemon/kpi_values.hpp"

#include <algorithm>

#include <prometheus/metric_family.h>

namespace kpid {

void KpiValues::Apply(const config::Config& config) {
  retention_ = config.storage.retention;
  std::map<std::string, Entry, std::less<>> next;
  for (const config::Kpi& kpi : config.kpis) {
    Entry entry;
    entry.labels.emplace_back("kpi", kpi.name);
    entry.labels.insert(entry.labels.end(), kpi.labels.begin(), kpi.labels.end());
    if (auto it = kpis_.find(kpi.name); it != kpis_.end())
      entry.state = std::move(it->second.state);
    next.emplace(kpi.name, std::move(entry));
  }
  kpis_ = std::move(next);
}

void KpiValues::Record(const std::string& kpi, const collectors::CollectResult& result) {
  auto it = kpis_.find(kpi);
  if (it == kpis_.end()) return;  // removed by a reload while its collection ran
  KpiState& state = it->second.state;
  state.collected_once = true;
  if (const auto* sample = std::get_if<collectors::Sample>(&result)) {
    state.latest = *sample;
    state.last_error.reset();
    if (state.history.empty() || state.history.back().timestamp < sample->timestamp) {
      state.history.push_back(*sample);
    }
    Trim(state);
  } else {
    state.last_error = std::get<collectors::CollectError>(result);
  }
}

void KpiValues::Backfill(const std::string& kpi, const std::vector<collectors::Sample>& samples) {
  auto it = kpis_.find(kpi);
  if (it == kpis_.end() || samples.empty()) return;
  KpiState& state = it->second.state;
  std::vector<collectors::Sample> merged;
  merged.reserve(state.history.size() + samples.size());
  // Backfilled rows first so that, for equal timestamps, stable_sort + unique keep them.
  merged.insert(merged.end(), samples.begin(), samples.end());
  merged.insert(merged.end(), state.history.begin(), state.history.end());
  std::stable_sort(merged.begin(), merged.end(),
                   [](const auto& a, const auto& b) { return a.timestamp < b.timestamp; });
  merged.erase(std::unique(merged.begin(), merged.end(),
                           [](const auto& a, const auto& b) { return a.timestamp == b.timestamp; }),
               merged.end());
  state.history = std::move(merged);
  Trim(state);
  if (!state.history.empty() &&
      (!state.latest || state.latest->timestamp < state.history.back().timestamp)) {
    state.latest = state.history.back();
  }
}

void KpiValues::Trim(KpiState& state) const {
  if (state.history.empty() || retention_ <= config::Duration::zero()) return;
  auto cutoff = state.history.back().timestamp - retention_;
  auto first = std::find_if(state.history.begin(), state.history.end(),
                            [&](const auto& s) { return s.timestamp >= cutoff; });
  state.history.erase(state.history.begin(), first);
}

const KpiState* KpiValues::Find(const std::string& kpi) const {
  auto it = kpis_.find(kpi);
  return it == kpis_.end() ? nullptr : &it->second.state;
}

std::vector<prometheus::MetricFamily> KpiValues::Collect() const {
  prometheus::MetricFamily value;
  value.name = "kpi_value";
  value.help = "Latest collected value of the KPI.";
  value.type = prometheus::MetricType::Gauge;
  prometheus::MetricFamily timestamp;
  timestamp.name = "kpi_last_sample_timestamp_seconds";
  timestamp.help = "Timestamp of the KPI's latest sample.";
  timestamp.type = prometheus::MetricType::Gauge;
  for (const auto& [name, entry] : kpis_) {
    if (!entry.state.latest) continue;
    prometheus::ClientMetric metric;
    for (const auto& [k, v] : entry.labels) metric.label.push_back({k, v});
    metric.gauge.value = entry.state.latest->value;
    value.metric.push_back(metric);
    metric.gauge.value =
        std::chrono::duration<double>(entry.state.latest->timestamp.time_since_epoch()).count();
    timestamp.metric.push_back(std::move(metric));
  }
  return {std::move(value), std::move(timestamp)};
}

}  // namespace kpid
