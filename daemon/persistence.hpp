// The service's use of the state store, made failure-tolerant: a store that cannot be
// opened or written does not stop collection, evaluation or the API. Writes that fail are
// kept in memory (bounded) and retried every tick, the open is retried too, and the
// problem shows on /-/ready (via error()), in the log and in kpid_store_up /
// kpid_store_errors_total. Runs on the io thread.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "daemon/engine.hpp"
#include "daemon/store/store.hpp"

namespace kpid {

// A KPI's samples in `store`, which must outlive the lookup.
SampleLookup StoreLookup(const store::Store& store, const std::string& kpi);

// Restores the periods of the recurring goals among `kpis` from `store` into `engine`
// (Engine::RestorePeriods, closing with the stored samples what ended while the daemon was
// down). Returns the rows to save; logs what it cannot read.
std::vector<store::PeriodRow> RestorePeriods(const store::Store& store, Engine& engine,
                                             std::span<const std::string> kpis,
                                             store::TimePoint now);

class Persistence {
 public:
  // Samples kept in memory while the store cannot take them; beyond this the oldest go
  // (and are counted as errors), so an outage cannot exhaust memory.
  static constexpr std::size_t kMaxPendingSamples = 1'000'000;

  explicit Persistence(prometheus::Registry& registry);

  // Opens the store at `path`. false (and error() set) when it cannot; Tick() retries.
  bool Open(const std::string& path);

  // The store, while it is open; for reads.
  [[nodiscard]] store::Store* store() const { return store_.get(); }
  [[nodiscard]] const std::optional<std::string>& error() const { return error_; }

  void AppendSamples(std::vector<store::SampleRow> rows);
  void SaveAlerts(std::span<const store::AlertRow> rows);
  void RetainAlerts(std::span<const std::string> ids);
  void SavePeriods(std::span<const store::PeriodRow> rows);
  // Records goal events with the notifications that tell them and the notices those settle,
  // in one transaction (Store::RecordEvents), and returns the outbox ids. nullopt when the
  // store cannot take them: the events are then kept and written on a later tick, without
  // the notifications, which the caller sends from memory.
  std::optional<std::vector<std::int64_t>> RecordEvents(std::span<const store::EventRow> events,
                                                        std::span<const store::OutboxRow> outbox,
                                                        std::span<const store::NoticeRow> notices);

  // Records a restatement with the history's samples, the notifications that tell it and
  // the notices they settle, in one transaction (Store::RecordRestatement), and returns the
  // outbox ids. nullopt when the store cannot take it: the samples are then kept and
  // written on a later tick, the restatement is not recorded (the caller logs it) and the
  // notifications go from memory.
  std::optional<std::vector<std::int64_t>> RecordRestatement(
      const store::RestatementRow& restatement, std::vector<store::SampleRow> samples,
      std::span<const store::OutboxRow> outbox, std::span<const store::NoticeRow> notices);
  // Retries the open and what is pending; prunes samples older than `retention` once an
  // hour. Returns true when this call opened the store for the first time.
  bool Tick(store::TimePoint now, std::chrono::system_clock::duration retention);

  // Writes what is pending, if the store is there, before the daemon exits.
  void Flush();

  // Counts and reports a failed store operation of another part (silences, digests).
  void Failed(std::string_view operation, const store::Error& error);

 private:
  void Healthy();
  bool FlushPending();

  std::string path_;
  std::unique_ptr<store::Store> store_;
  std::optional<std::string> error_;
  bool opened_before_ = false;
  std::deque<store::SampleRow> pending_samples_;
  std::map<std::string, store::AlertRow> pending_alerts_;  // by id: the latest state wins
  std::optional<std::vector<std::string>> pending_retain_;
  std::vector<store::PeriodRow> pending_periods_;  // in order: a later row may close an earlier
  std::vector<store::EventRow> pending_events_;    // a few per goal and period: no bound needed
  std::optional<store::TimePoint> last_prune_;
  prometheus::Gauge& up_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Gauge& pending_;
};

}  // namespace kpid
