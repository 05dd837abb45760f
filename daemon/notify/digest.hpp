// Scheduled digests ([[digest]]): on a 5-field cron schedule in evaluation.timezone, one
// message per receiver summarising every matching KPI (status, value against goal,
// progress against expected, forecast, days left and a trend). When each digest last ran
// is kept in the state store: after a restart a run that fell due while kpid was down is
// sent once, late, and one already sent is not sent again. A digest seen for the first
// time starts counting from then (no back-fill of past runs).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config/config.hpp"
#include "daemon/engine.hpp"
#include "daemon/notify/notification.hpp"
#include "daemon/persistence.hpp"

namespace kpid::notify {

class Digests {
 public:
  // After a start, a due digest waits this long at most for its KPIs' first collections,
  // so that it does not report them as unknown.
  static constexpr std::chrono::minutes kStartGrace{5};

  // Trend points per KPI: the last value of each of the last 28 days, then the latest.
  static constexpr int kTrendDays = 28;

  explicit Digests(Persistence& persistence);

  // Takes a (new) config; `engine` must outlive this.
  void Apply(std::shared_ptr<const config::Config> config, const Engine& engine);

  struct Run {
    std::string digest;
    std::vector<Notification> notifications;  // one per receiver
  };
  // The digests due at `now`. Call MarkRun() once their notifications are queued. Sets
  // `wake` to the next time one falls due, if earlier. Nothing runs before the store has
  // said when each digest last ran.
  std::vector<Run> Due(TimePoint now, std::optional<TimePoint>& wake);
  void MarkRun(const std::string& digest, TimePoint now);

  // The digest `digest` would send to `receiver` at `now` (also for notify-test).
  [[nodiscard]] Notification Build(const config::Digest& digest, const std::string& receiver,
                                   TimePoint now) const;

 private:
  bool LoadRuns();
  [[nodiscard]] std::vector<double> Trend(const KpiView& view, TimePoint now) const;

  Persistence& persistence_;
  std::shared_ptr<const config::Config> config_;
  const Engine* engine_ = nullptr;
  std::optional<std::map<std::string, TimePoint, std::less<>>> runs_;  // set once loaded
  std::optional<TimePoint> started_;                                   // the first Due()
};

}  // namespace kpid::notify
