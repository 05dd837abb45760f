#include "daemon/notify/digest.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "daemon/log.hpp"
#include "daemon/notify/figures.hpp"
#include "rules/status.hpp"

namespace kpid::notify {
namespace {

// Most urgent first; KPIs without a status come last.
int Severity(const std::optional<rules::Status>& status) {
  return status ? rules::UrgencyRank(*status) : static_cast<int>(rules::kStatusesByUrgency.size());
}

bool Matches(const config::Digest& digest, const config::Kpi& kpi) {
  config::Labels labels = {{"kpi", kpi.name}};
  labels.insert(labels.end(), kpi.labels.begin(), kpi.labels.end());
  return config::MatchesAll(digest.matchers, labels);
}

}  // namespace

Digests::Digests(Persistence& persistence) : persistence_(persistence) {}

void Digests::Apply(std::shared_ptr<const config::Config> config, const Engine& engine) {
  config_ = std::move(config);
  engine_ = &engine;
}

bool Digests::LoadRuns() {
  if (runs_) return true;
  store::Store* store = persistence_.store();
  if (store == nullptr) return false;
  auto runs = store->LoadDigestRuns();
  if (auto* error = std::get_if<store::Error>(&runs)) {
    persistence_.Failed("load_digest_runs", *error);
    return false;
  }
  runs_ = std::get<std::map<std::string, TimePoint, std::less<>>>(std::move(runs));
  return true;
}

void Digests::MarkRun(const std::string& digest, TimePoint now) {
  (*runs_)[digest] = now;
  if (store::Store* store = persistence_.store()) {
    if (auto error = store->SaveDigestRun(digest, now)) {
      persistence_.Failed("save_digest_run", *error);
    }
  }
}

std::vector<Digests::Run> Digests::Due(TimePoint now, std::optional<TimePoint>& wake) {
  std::vector<Run> due;
  if (!config_ || engine_ == nullptr || config_->digests.empty() || !LoadRuns()) return due;
  const auto now_s = std::chrono::floor<std::chrono::seconds>(now);
  if (!started_) started_ = now;
  const bool grace = now - *started_ < kStartGrace;
  for (const config::Digest& d : config_->digests) {
    if (!d.schedule) continue;
    auto last = runs_->find(d.name);
    if (last == runs_->end()) {
      MarkRun(d.name, now);  // first seen: the schedule counts from here
      last = runs_->find(d.name);
    }
    auto next = d.schedule->Next(std::chrono::floor<std::chrono::seconds>(last->second),
                                 config_->evaluation.zone);
    const bool waiting =
        grace && std::any_of(engine_->kpis().begin(), engine_->kpis().end(), [&](const KpiView& v) {
          return Matches(d, *v.config) && !v.evaluation.judged;
        });
    if (next && *next <= now_s && !waiting) {
      Run run{d.name, {}};
      for (const std::string& receiver : d.receivers) {
        run.notifications.push_back(Build(d, receiver, now));
      }
      due.push_back(std::move(run));
      next = d.schedule->Next(now_s, config_->evaluation.zone);
    }
    // A digest waiting for its KPIs is retried by the evaluations; no timer for it.
    if (next && *next > now_s) wake = std::min(wake.value_or(TimePoint(*next)), TimePoint(*next));
  }
  return due;
}

std::vector<double> Digests::Trend(const KpiView& view, TimePoint now) const {
  std::vector<double> trend;
  store::Store* store = persistence_.store();
  if (store != nullptr) {
    const std::string& kpi = view.config->name;
    // The last value of each day: one indexed read per day, however dense the history.
    for (int day = kTrendDays; day > 0; --day) {
      const TimePoint from = now - std::chrono::days(day);
      auto samples = store->Samples(kpi, from, from + std::chrono::days(1), 1);
      const auto* rows = std::get_if<std::vector<rules::Sample>>(&samples);
      trend.push_back(rows == nullptr || rows->empty() ? kNoValue : rows->back().value);
    }
  }
  if (view.latest) trend.push_back(view.latest->value);
  // Days before the history began are not a gap worth drawing.
  const auto first =
      std::find_if(trend.begin(), trend.end(), [](double v) { return !std::isnan(v); });
  trend.erase(trend.begin(), first);
  return trend;
}

Notification Digests::Build(const config::Digest& digest, const std::string& receiver,
                            TimePoint now) const {
  Notification n;
  n.receiver = receiver;
  n.group_key = "digest/" + digest.name;
  n.external_url = config_->server.external_url;
  DigestReport report;
  report.name = digest.name;
  report.title = digest.title.empty() ? "KPI digest: " + digest.name : digest.title;
  report.at = now;
  std::vector<const KpiView*> kpis;
  for (const KpiView& view : engine_->kpis()) {
    if (Matches(digest, *view.config)) kpis.push_back(&view);
  }
  std::stable_sort(kpis.begin(), kpis.end(), [](const KpiView* a, const KpiView* b) {
    return Severity(a->evaluation.status) < Severity(b->evaluation.status);
  });
  for (const KpiView* view : kpis) {
    DigestKpi kpi;
    kpi.kpi = view->config->name;
    if (view->evaluation.status) kpi.status = rules::StatusName(*view->evaluation.status);
    kpi.figures = KpiFigures(*view, config_->evaluation.zone);
    if (kpi.figures.title.empty()) kpi.figures.title = kpi.kpi;
    kpi.trend = Trend(*view, now);
    if (!n.external_url.empty()) kpi.link = n.external_url + "/kpi/" + kpi.kpi;
    report.kpis.push_back(std::move(kpi));
  }
  n.digest = std::move(report);
  return n;
}

}  // namespace kpid::notify
