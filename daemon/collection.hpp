// Runs every KPI's collection against its source's collector: on a schedule for the
// service, or once for `kpid eval`. Owns one collector per source, holds each source to
// its max_concurrency, times every call, enforces the timeout as a backstop, counts
// kpid_collector_runs_total / kpid_collector_duration_seconds / kpid_history_reads_total
// and logs a KPI's failures once per change of state. Everything runs on the io thread.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "collectors/collector.hpp"
#include "collectors/registry.hpp"
#include "daemon/config/config.hpp"
#include "daemon/scheduler.hpp"

namespace kpid {

class Collection {
 public:
  struct Outcome {
    std::string kpi;
    std::string source;
    collectors::CollectResult result;
    std::chrono::steady_clock::duration took{};
  };
  using Observer = std::function<void(const Outcome&)>;
  using HistoryObserver =
      std::function<void(const std::string& kpi, const collectors::HistoryResult&)>;

  // Finds the collector kind of a source type; the registry's by default (tests inject
  // their own kinds).
  using KindLookup = std::function<const collectors::Kind*(std::string_view type)>;

  Collection(boost::asio::io_context& io, prometheus::Registry& registry,
             KindLookup lookup = collectors::FindKind);
  ~Collection();
  Collection(const Collection&) = delete;
  Collection& operator=(const Collection&) = delete;

  void SetObserver(Observer observer) { observer_ = std::move(observer); }
  void SetHistoryObserver(HistoryObserver observer) { history_observer_ = std::move(observer); }

  // Builds a collector per source of `config` (replacing the previous ones; their pending
  // results are dropped) and, with a scheduler, collects each KPI every `interval`,
  // starting within a couple of seconds. Reads each history now and, with a scheduler,
  // again every `history_interval` (unless "never"), so that restated values are seen.
  void Apply(const config::Config& config, Scheduler* scheduler);

  // Collects one KPI now, unless it is already in flight or queued.
  void CollectNow(const std::string& kpi);

  // Reads one KPI's history now, for the history observer, unless a read of it is in
  // flight or the KPI has no history (or there is no observer). The read goes straight to
  // the collector, outside the source's queue and max_concurrency.
  void CollectHistoryNow(const std::string& kpi);

  // Abandons in-flight work and releases every collector.
  void Stop();

  std::size_t pending() const;  // collections queued or in flight, over all sources

 private:
  struct Source;
  struct Job {
    std::string kpi;
    collectors::Target target;
  };

  void Start(const std::shared_ptr<Source>& source, const Job& job);
  void Pump(const std::shared_ptr<Source>& source);
  void Finish(const std::shared_ptr<Source>& source, const std::string& kpi,
              collectors::CollectResult result, std::chrono::steady_clock::time_point started);
  void LogTransition(const std::string& kpi, const std::string& source,
                     const collectors::CollectResult& result);
  void Retire();

  boost::asio::io_context& io_;
  KindLookup lookup_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& history_reads_;
  Observer observer_;
  HistoryObserver history_observer_;
  std::map<std::string, std::shared_ptr<Source>> sources_;                  // by source name
  std::map<std::string, std::pair<std::string, collectors::Target>> kpis_;  // kpi -> source
  std::map<std::string, std::string> last_error_kind_;  // kpi -> "" when healthy
  std::vector<std::string> scheduled_;
  Scheduler* scheduler_ = nullptr;
};

}  // namespace kpid
