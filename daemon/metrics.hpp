// The daemon's own metrics and the /metrics text rendering (prometheus-cpp core registry
// and text serializer, format 0.0.4). Per-KPI series come from their own Collectable,
// registered by the parts that own them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_type.h>
#include <prometheus/registry.h>

namespace kpid {

// process_* metrics read from /proc/self, as the Prometheus client libraries expose them.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

// A Collectable whose series change only when Version() does, so that /metrics reuses their
// rendered text between changes: 10,000 KPIs are some 160,000 series, too many to format
// again for every scrape when they change once per evaluation.
class VersionedCollectable : public prometheus::Collectable {
 public:
  [[nodiscard]] virtual std::uint64_t Version() const = 0;
  // Collect() in the text format, as pieces that /metrics concatenates in order. `pieces`
  // holds the previous rendering, whose strings' capacity can be reused. This default goes
  // through prometheus-cpp's serializer; a collectable with many series writes its text
  // directly instead.
  virtual void RenderText(std::vector<std::string>& pieces) const;
};

// Pieces of the text exposition format 0.0.4, for collectables that write it directly.
namespace exposition {
// "# HELP name help\n# TYPE name type\n".
void AppendHeader(std::string& out, std::string_view name, std::string_view help,
                  prometheus::MetricType type);
// name="value", the value escaped (backslash, double quote, line feed).
void AppendLabel(std::string& out, std::string_view name, std::string_view value);
// The shortest text that reads back as `value`; NaN, +Inf and -Inf as Prometheus spells them.
void AppendValue(std::string& out, double value);
}  // namespace exposition

class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  prometheus::Registry& registry() { return *registry_; }
  // Adds a source of series rendered after the registry's (e.g. the per-KPI series,
  // built from current state at every scrape so removed KPIs leave no series).
  void Add(std::weak_ptr<prometheus::Collectable> collectable);

  void ConfigLoaded(bool ok, std::chrono::system_clock::time_point when);
  // An evaluation pass that started at `at` took `took`.
  void EvaluationDone(std::chrono::duration<double> took, std::chrono::system_clock::time_point at);

  // A history read again restated `values` of a KPI's stored values.
  void Restated(const std::string& kpi, std::size_t values);

  // Collects every registered Collectable (a VersionedCollectable only when its version
  // changed). Runs on the io thread.
  std::string Render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ProcessCollector> process_;
  std::vector<std::weak_ptr<prometheus::Collectable>> extra_;
  struct Rendered {
    std::optional<std::uint64_t> version;
    std::vector<std::string> pieces;
  };
  mutable std::vector<Rendered> rendered_;  // parallel to extra_
  prometheus::Gauge& reload_successful_;
  prometheus::Gauge& reload_success_timestamp_;
  prometheus::Histogram& evaluation_duration_;
  prometheus::Gauge& last_evaluation_;
  prometheus::Family<prometheus::Counter>& restatements_;
  prometheus::Family<prometheus::Counter>& restated_values_;
};

}  // namespace kpid
