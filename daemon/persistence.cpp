#include "daemon/persistence.hpp"

#include <algorithm>

#include "daemon/log.hpp"

namespace kpid {
namespace {

constexpr auto kPruneEvery = std::chrono::hours(1);

}  // namespace

SampleLookup StoreLookup(const store::Store& store, const std::string& kpi) {
  SampleLookup lookup;
  lookup.at_or_before = [&store, kpi](store::TimePoint t) -> std::optional<rules::Sample> {
    // Samples() takes [since, until): until is the millisecond after t, as stored.
    auto rows = store.Samples(kpi, store::TimePoint::min(), t + std::chrono::milliseconds(1), 1);
    const auto* found = std::get_if<std::vector<rules::Sample>>(&rows);
    if (found == nullptr || found->empty()) return std::nullopt;
    return found->back();
  };
  lookup.first_from = [&store, kpi](store::TimePoint t) -> std::optional<rules::Sample> {
    auto first = store.FirstSample(kpi, t);
    const auto* found = std::get_if<std::optional<rules::Sample>>(&first);
    return found != nullptr ? *found : std::nullopt;
  };
  return lookup;
}

std::vector<store::PeriodRow> RestorePeriods(const store::Store& store, Engine& engine,
                                             std::span<const std::string> kpis,
                                             store::TimePoint now) {
  std::vector<store::PeriodRow> out;
  for (const std::string& kpi : kpis) {
    const KpiView* view = engine.Find(kpi);
    if (view == nullptr || !view->config->goal) continue;
    const auto* goal = std::get_if<config::DeadlineGoal>(&view->config->goal->kind);
    if (goal == nullptr || !goal->period) continue;
    auto stored = store.LoadPeriods(kpi, Engine::kMaxPastPeriods);
    if (auto* error = std::get_if<store::Error>(&stored)) {
      log::Error("cannot restore goal periods from the store",
                 {{"kpi", kpi}, {"error", error->message}});
      continue;
    }
    std::vector<store::PeriodRow> rows = engine.RestorePeriods(
        kpi, std::get<store::StoredPeriods>(stored), StoreLookup(store, kpi), now);
    out.insert(out.end(), std::make_move_iterator(rows.begin()),
               std::make_move_iterator(rows.end()));
  }
  return out;
}

Persistence::Persistence(prometheus::Registry& registry)
    : up_(prometheus::BuildGauge()
              .Name("kpid_store_up")
              .Help("1 when the state store is open and its last write succeeded.")
              .Register(registry)
              .Add({})),
      errors_(prometheus::BuildCounter()
                  .Name("kpid_store_errors_total")
                  .Help("State store operations that failed, by operation.")
                  .Register(registry)),
      pending_(prometheus::BuildGauge()
                   .Name("kpid_store_pending_writes")
                   .Help("Samples and alert states waiting for the store to take them.")
                   .Register(registry)
                   .Add({})) {
  // Every operation from the start, so that rate() sees the first failure.
  for (const char* operation :
       {"open", "append_samples", "dropped_sample", "save_alerts", "retain_alerts", "prune",
        "save_periods", "record_events", "record_restatement", "load_silences", "save_silence",
        "prune_silences", "load_digest_runs", "save_digest_run"}) {
    errors_.Add({{"operation", operation}});
  }
}

bool Persistence::Open(const std::string& path) {
  path_ = path;
  auto opened = store::Store::Open(path);
  if (auto* error = std::get_if<store::Error>(&opened)) {
    Failed("open", *error);
    return false;
  }
  store_ = std::move(std::get<std::unique_ptr<store::Store>>(opened));
  opened_before_ = true;
  log::Info("store opened",
            {{"path", path}, {"schema_version", std::to_string(store_->SchemaVersion())}});
  Healthy();
  return true;
}

void Persistence::Failed(std::string_view operation, const store::Error& error) {
  errors_.Add({{"operation", std::string(operation)}}).Increment();
  up_.Set(0);
  // One log line per distinct problem, not one per retry.
  if (error_ != error.message) {
    log::Error("state store failing; kpid keeps running and retries",
               {{"operation", std::string(operation)}, {"error", error.message}});
  }
  error_ = error.message;
}

void Persistence::Healthy() {
  if (error_ && store_) log::Info("state store recovered", {{"path", path_}});
  if (store_) {
    error_.reset();
    up_.Set(1);
  }
}

void Persistence::AppendSamples(std::vector<store::SampleRow> rows) {
  if (rows.empty()) return;
  if (store_ && pending_samples_.empty()) {
    if (auto error = store_->AppendSamples(rows)) {
      Failed("append_samples", *error);
    } else {
      Healthy();
      return;
    }
  }
  for (store::SampleRow& row : rows) pending_samples_.push_back(std::move(row));
  while (pending_samples_.size() > kMaxPendingSamples) {
    pending_samples_.pop_front();
    errors_.Add({{"operation", "dropped_sample"}}).Increment();
  }
  pending_.Set(static_cast<double>(pending_samples_.size() + pending_alerts_.size()));
}

void Persistence::SaveAlerts(std::span<const store::AlertRow> rows) {
  if (rows.empty()) return;
  if (store_ && pending_alerts_.empty()) {
    if (auto error = store_->SaveAlerts(rows)) {
      Failed("save_alerts", *error);
    } else {
      Healthy();
      return;
    }
  }
  for (const store::AlertRow& row : rows) pending_alerts_.insert_or_assign(row.id, row);
  pending_.Set(static_cast<double>(pending_samples_.size() + pending_alerts_.size()));
}

void Persistence::RetainAlerts(std::span<const std::string> ids) {
  std::vector<std::string> keep(ids.begin(), ids.end());
  std::erase_if(pending_alerts_, [&](const auto& entry) {
    return std::find(keep.begin(), keep.end(), entry.first) == keep.end();
  });
  if (store_ && !pending_retain_) {
    auto result = store_->RetainAlerts(keep);
    if (auto* error = std::get_if<store::Error>(&result)) {
      Failed("retain_alerts", *error);
    } else {
      return;
    }
  }
  pending_retain_ = std::move(keep);
}

void Persistence::SavePeriods(std::span<const store::PeriodRow> rows) {
  if (rows.empty()) return;
  if (store_ && pending_periods_.empty()) {
    if (auto error = store_->SavePeriods(rows)) {
      Failed("save_periods", *error);
    } else {
      Healthy();
      return;
    }
  }
  // A few rows per KPI and period: no bound needed.
  pending_periods_.insert(pending_periods_.end(), rows.begin(), rows.end());
}

std::optional<std::vector<std::int64_t>> Persistence::RecordEvents(
    std::span<const store::EventRow> events, std::span<const store::OutboxRow> outbox,
    std::span<const store::NoticeRow> notices) {
  if (store_) {
    auto ids = store_->RecordEvents(events, outbox, notices);
    if (auto* error = std::get_if<store::Error>(&ids)) {
      Failed("record_events", *error);
    } else {
      Healthy();
      return std::get<std::vector<std::int64_t>>(std::move(ids));
    }
  }
  pending_events_.insert(pending_events_.end(), events.begin(), events.end());
  return std::nullopt;
}

std::optional<std::vector<std::int64_t>> Persistence::RecordRestatement(
    const store::RestatementRow& restatement, std::vector<store::SampleRow> samples,
    std::span<const store::OutboxRow> outbox, std::span<const store::NoticeRow> notices) {
  if (store_ && pending_samples_.empty()) {
    auto ids = store_->RecordRestatement(restatement, samples, outbox, notices);
    if (auto* error = std::get_if<store::Error>(&ids)) {
      Failed("record_restatement", *error);
    } else {
      Healthy();
      return std::get<std::vector<std::int64_t>>(std::move(ids));
    }
  }
  AppendSamples(std::move(samples));
  return std::nullopt;
}

bool Persistence::FlushPending() {
  if (!store_) return false;
  if (!pending_events_.empty()) {
    auto recorded = store_->RecordEvents(pending_events_, {}, {});
    if (auto* error = std::get_if<store::Error>(&recorded)) {
      Failed("record_events", *error);
      return false;
    }
    pending_events_.clear();
  }
  if (!pending_periods_.empty()) {
    if (auto error = store_->SavePeriods(pending_periods_)) {
      Failed("save_periods", *error);
      return false;
    }
    pending_periods_.clear();
  }
  if (!pending_samples_.empty()) {
    std::vector<store::SampleRow> rows(pending_samples_.begin(), pending_samples_.end());
    if (auto error = store_->AppendSamples(rows)) {
      Failed("append_samples", *error);
      return false;
    }
    pending_samples_.clear();
  }
  if (!pending_alerts_.empty()) {
    std::vector<store::AlertRow> rows;
    for (auto& [id, row] : pending_alerts_) rows.push_back(row);
    if (auto error = store_->SaveAlerts(rows)) {
      Failed("save_alerts", *error);
      return false;
    }
    pending_alerts_.clear();
  }
  if (pending_retain_) {
    auto result = store_->RetainAlerts(*pending_retain_);
    if (auto* error = std::get_if<store::Error>(&result)) {
      Failed("retain_alerts", *error);
      return false;
    }
    pending_retain_.reset();
  }
  pending_.Set(0);
  return true;
}

bool Persistence::Tick(store::TimePoint now, std::chrono::system_clock::duration retention) {
  bool first_open = false;
  if (!store_ && !path_.empty()) {
    bool had_opened = opened_before_;
    if (!Open(path_)) return false;
    first_open = !had_opened;
  }
  if (!FlushPending()) return first_open;
  if (retention > std::chrono::system_clock::duration::zero() &&
      (!last_prune_ || now - *last_prune_ >= kPruneEvery)) {
    last_prune_ = now;
    auto pruned = store_->Prune(now - retention);
    if (auto* error = std::get_if<store::Error>(&pruned)) {
      Failed("prune", *error);
      return first_open;
    }
    if (std::get<std::size_t>(pruned) > 0) {
      log::Info("pruned samples past retention",
                {{"samples", std::to_string(std::get<std::size_t>(pruned))}});
    }
  }
  Healthy();
  return first_open;
}

void Persistence::Flush() {
  if (!store_) return;
  if (FlushPending()) return;
  log::Error("state store: pending writes lost at exit",
             {{"samples", std::to_string(pending_samples_.size())},
              {"alerts", std::to_string(pending_alerts_.size())}});
}

}  // namespace kpid
