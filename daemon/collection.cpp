#include "daemon/collection.hpp"

#include <set>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/config/duration.hpp"
#include "daemon/log.hpp"

namespace kpid {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The core's timeout backstop fires this long after the plugin's own timeout, which the
// plugin should have reported by then.
constexpr auto kBackstopGrace = std::chrono::seconds(2);
// First collections after start or reload are spread over at most this window.
constexpr auto kStartSpread = std::chrono::seconds(2);

std::string ResultLabel(const collectors::CollectResult& result) {
  if (std::holds_alternative<collectors::Sample>(result)) return "success";
  return std::string(collectors::ErrorKindName(std::get<collectors::CollectError>(result).kind));
}

}  // namespace

struct Collection::Source {
  std::string name;
  std::string type;
  std::chrono::milliseconds timeout{};
  int max_concurrency = 1;
  std::unique_ptr<collectors::Collector> collector;
  int in_flight = 0;
  std::deque<Job> queue;
  std::set<std::string> busy;          // KPIs queued or in flight
  std::set<std::string> history_busy;  // KPIs whose history read is in flight
  prometheus::Histogram* duration = nullptr;
};

Collection::Collection(boost::asio::io_context& io, prometheus::Registry& registry,
                       KindLookup lookup)
    : io_(io),
      lookup_(std::move(lookup)),
      runs_(prometheus::BuildCounter()
                .Name("kpid_collector_runs_total")
                .Help("Collections by source and result (success, timeout, connect, auth, "
                      "query, parse, empty, too_large, internal).")
                .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("kpid_collector_duration_seconds")
                    .Help("Time taken by one collection, by source.")
                    .Register(registry)),
      history_reads_(prometheus::BuildCounter()
                         .Name("kpid_history_reads_total")
                         .Help("History reads (history_query, CSV timestamp_column) by source and "
                               "result, as kpid_collector_runs_total.")
                         .Register(registry)) {}

Collection::~Collection() { Stop(); }

void Collection::Apply(const config::Config& config, Scheduler* scheduler) {
  for (const std::string& key : scheduled_) {
    if (scheduler_ != nullptr) scheduler_->Remove(key);
  }
  scheduled_.clear();
  Retire();
  scheduler_ = scheduler;
  kpis_.clear();

  for (const config::Source& s : config.sources) {
    // Every result of every source from the start, so that rate() sees the first failure.
    runs_.Add({{"source", s.name}, {"result", "success"}});
    for (collectors::ErrorKind k : collectors::kAllErrorKinds) {
      runs_.Add({{"source", s.name}, {"result", std::string(collectors::ErrorKindName(k))}});
    }
    const collectors::Kind* kind = lookup_(s.type);
    if (kind == nullptr) continue;  // the loader only accepts registered kinds
    auto source = std::make_shared<Source>();
    source->name = s.name;
    source->type = s.type;
    source->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(s.timeout);
    source->max_concurrency = s.max_concurrency;
    source->collector = kind->make(s, io_);
    source->duration = &duration_.Add(
        {{"source", s.name}}, prometheus::Histogram::BucketBoundaries{
                                  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
    sources_.emplace(s.name, std::move(source));
  }
  std::set<std::string> live;
  for (const config::Kpi& kpi : config.kpis) {
    if (kpi.source.empty()) continue;  // derived: computed by the evaluation
    live.insert(kpi.name);
    collectors::Target target{kpi.name, kpi.collect};
    kpis_[kpi.name] = {kpi.source, target};
    const bool has_history =
        history_observer_ && sources_.at(kpi.source)->collector->HasHistory(target);
    if (has_history) {
      // Every result of a source with a history from the start, as for collections.
      history_reads_.Add({{"source", kpi.source}, {"result", "success"}});
      for (collectors::ErrorKind k : collectors::kAllErrorKinds) {
        history_reads_.Add(
            {{"source", kpi.source}, {"result", std::string(collectors::ErrorKindName(k))}});
      }
      CollectHistoryNow(kpi.name);
    }
    if (scheduler == nullptr) continue;
    auto interval = std::chrono::duration_cast<SteadyClock::duration>(kpi.interval);
    std::string key = "collect/" + kpi.name;
    scheduler->Every(
        key, interval, [this, name = kpi.name] { CollectNow(name); },
        Scheduler::Offset(key, std::min<SteadyClock::duration>(interval, kStartSpread)));
    scheduled_.push_back(key);
    if (!has_history || kpi.history_interval == config::Duration::zero()) continue;
    // The history was just read above; the periodic reads start within the next interval,
    // spread by key, so that a thousand KPIs' reads do not land on the sources and the io
    // thread at the same moment every hour.
    auto history_interval = std::chrono::duration_cast<SteadyClock::duration>(kpi.history_interval);
    std::string history_key = "history/" + kpi.name;
    scheduler->Every(
        history_key, history_interval, [this, name = kpi.name] { CollectHistoryNow(name); },
        history_interval / 2 + Scheduler::Offset(history_key, history_interval / 2));
    scheduled_.push_back(std::move(history_key));
  }
  // Forget the failure state of KPIs that no longer exist.
  for (auto it = last_error_kind_.begin(); it != last_error_kind_.end();) {
    it = live.contains(it->first) ? std::next(it) : last_error_kind_.erase(it);
  }
}

void Collection::CollectNow(const std::string& kpi) {
  auto it = kpis_.find(kpi);
  if (it == kpis_.end()) return;
  auto source_it = sources_.find(it->second.first);
  if (source_it == sources_.end()) return;
  const std::shared_ptr<Source>& source = source_it->second;
  if (source->busy.contains(kpi)) {
    log::Debug("collection skipped: the previous one is still running",
               {{"kpi", kpi}, {"source", source->name}});
    return;
  }
  source->busy.insert(kpi);
  source->queue.push_back({kpi, it->second.second});
  Pump(source);
}

void Collection::CollectHistoryNow(const std::string& kpi) {
  if (!history_observer_) return;
  auto it = kpis_.find(kpi);
  if (it == kpis_.end()) return;
  auto source_it = sources_.find(it->second.first);
  if (source_it == sources_.end()) return;
  const std::shared_ptr<Source>& source = source_it->second;
  const collectors::Target& target = it->second.second;
  if (!source->collector->HasHistory(target)) return;
  if (source->history_busy.contains(kpi)) {
    log::Debug("history read skipped: the previous one is still running",
               {{"kpi", kpi}, {"source", source->name}});
    return;
  }
  source->history_busy.insert(kpi);
  // The in-flight mark lives in the Source, so a reload or Stop() drops it with the
  // collector, and a late result of a replaced collector is dropped here.
  std::weak_ptr<Source> weak = source;
  auto done = [this, weak, kpi](const collectors::HistoryResult& result) {
    auto s = weak.lock();
    if (!s) return;  // the source was replaced or stopped
    s->history_busy.erase(kpi);
    const auto* error = std::get_if<collectors::CollectError>(&result);
    history_reads_
        .Add({{"source", s->name},
              {"result", error ? std::string(collectors::ErrorKindName(error->kind)) : "success"}})
        .Increment();
    if (history_observer_) history_observer_(kpi, result);
  };
  source->collector->CollectHistory(target, source->timeout, std::move(done));
}

void Collection::Pump(const std::shared_ptr<Source>& source) {
  while (source->in_flight < source->max_concurrency && !source->queue.empty()) {
    Job job = std::move(source->queue.front());
    source->queue.pop_front();
    Start(source, job);
  }
}

void Collection::Start(const std::shared_ptr<Source>& source, const Job& job) {
  ++source->in_flight;
  auto started = SteadyClock::now();
  // Shared between the plugin's callback and the backstop timer: the first to fire
  // reports; the plugin's callback always frees the concurrency slot.
  struct Call {
    bool reported = false;
    boost::asio::steady_timer backstop;
    explicit Call(boost::asio::io_context& io) : backstop(io) {}
  };
  auto call = std::make_shared<Call>(io_);
  std::weak_ptr<Source> weak = source;
  call->backstop.expires_after(source->timeout + kBackstopGrace);
  call->backstop.async_wait([this, weak, call, kpi = job.kpi,
                             started](boost::system::error_code ec) {
    auto s = weak.lock();
    if (ec || !s || call->reported) return;
    call->reported = true;
    Finish(
        s, kpi,
        collectors::CollectError{collectors::ErrorKind::kTimeout,
                                 "source \"" + s->name + "\" (" + s->type + "): no answer within " +
                                     config::FormatDuration(s->timeout)},
        started);
  });
  source->collector->Collect(
      job.target, source->timeout,
      [this, weak, call, kpi = job.kpi, started](collectors::CollectResult result) {
        auto s = weak.lock();
        if (!s) return;  // the source was replaced or stopped
        call->backstop.cancel();
        --s->in_flight;
        s->busy.erase(kpi);
        if (!call->reported) {
          call->reported = true;
          Finish(s, kpi, std::move(result), started);
        }
        Pump(s);
      });
}

void Collection::Finish(const std::shared_ptr<Source>& source, const std::string& kpi,
                        collectors::CollectResult result, SteadyClock::time_point started) {
  auto took = SteadyClock::now() - started;
  runs_.Add({{"source", source->name}, {"result", ResultLabel(result)}}).Increment();
  source->duration->Observe(std::chrono::duration<double>(took).count());
  LogTransition(kpi, source->name, result);
  if (observer_) observer_(Outcome{kpi, source->name, std::move(result), took});
}

void Collection::LogTransition(const std::string& kpi, const std::string& source,
                               const collectors::CollectResult& result) {
  std::string& last = last_error_kind_[kpi];
  if (const auto* error = std::get_if<collectors::CollectError>(&result)) {
    std::string kind(collectors::ErrorKindName(error->kind));
    if (last != kind) {
      log::Warn("collection failing",
                {{"kpi", kpi}, {"source", source}, {"result", kind}, {"error", error->message}});
    }
    last = kind;
  } else if (!last.empty()) {
    log::Info("collection recovered", {{"kpi", kpi}, {"source", source}});
    last.clear();
  }
}

void Collection::Retire() {
  // Stop() makes in-flight blocking work end promptly (collector.hpp), so destroying the
  // collectors here, on the io thread, joins their threads without a long stall.
  for (auto& [name, source] : sources_) source->collector->Stop();
  sources_.clear();
}

void Collection::Stop() {
  for (const std::string& key : scheduled_) {
    if (scheduler_ != nullptr) scheduler_->Remove(key);
  }
  scheduled_.clear();
  Retire();
  kpis_.clear();
}

std::size_t Collection::pending() const {
  std::size_t n = 0;
  for (const auto& [name, source] : sources_) n += source->busy.size();
  return n;
}

}  // namespace kpid
