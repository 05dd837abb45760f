// The running daemon: one io_context thread that owns the HTTP listener, the scheduler,
// signals and the current config. Collection and evaluation plug into the scheduler.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/api.hpp"
#include "daemon/collection.hpp"
#include "daemon/config/config.hpp"
#include "daemon/engine.hpp"
#include "daemon/http/basic_auth.hpp"
#include "daemon/http/router.hpp"
#include "daemon/http/server.hpp"
#include "daemon/metrics.hpp"
#include "daemon/notify/notifier.hpp"
#include "daemon/persistence.hpp"
#include "daemon/scheduler.hpp"
#include "daemon/systemd_notify.hpp"
#include "daemon/web/status_page.hpp"

namespace kpid {

// Serves the status pages as their PageSource.
class Service : private web::PageSource {
 public:
  // `initial` is a config that loaded without errors from `config_path`.
  Service(std::string config_path, config::Config initial);
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Listens, runs until SIGTERM/SIGINT, then stops gracefully. Returns the exit code:
  // 0 after a clean stop, 1 when the listener cannot start.
  int Run();

 private:
  void SetupRoutes();
  void SetupApiRoutes();
  void SetupAlertRoutes();
  // GET /api/v1/kpis/{name} with its query: since, until, step, limit.
  http::Response KpiResponse(const http::Request& req, const KpiView& view,
                             const http::PathParams& query) const;
  http::Response ExpireSilence(const http::Request& req, const std::string& id);
  static http::Response Unauthorized(const http::Request& req);
  [[nodiscard]] api::SilenceLookup SilenceLookup() const;
  void ApplyConfig();
  // Seeds the engine's windows of `kpis` and restores alert states from the store.
  void Restore(const std::vector<std::string>& kpis, bool alerts);
  void Evaluate();
  void EvaluateSoon();
  void OnHistory(const std::string& kpi, const collectors::HistoryResult& result);
  // A history read again changed stored values (`restated`): compares the past statuses,
  // then records the restatement with the history's `rows` and tells the owners of the goals
  // whose past status changed, in one store transaction.
  void Restate(const std::string& kpi, std::span<const rules::Sample> fresh,
               std::vector<store::SampleRow> rows, std::vector<store::RestatedValue> restated,
               TimePoint now);
  void LogChange(const AlertChange& change) const;
  void LogPeriod(const store::PeriodRow& row) const;
  // Loads the config file again and swaps it in when valid. Returns an error text when
  // the new config is rejected; the running config stays in place.
  std::optional<std::string> Reload(std::string_view trigger);
  void WaitForSignal();
  void BeginShutdown(std::string_view why);
  void ArmWatchdog();
  bool Authorized(const http::Request& req) const;
  // Basic auth in front of every route when [server.basic_auth_users] is set: admits a
  // request, refuses it with a 401, or defers a bcrypt run to the server's worker thread.
  http::GateResult Gate(const http::Request& req) const;
  std::string StatusLine() const;

  // web::PageSource
  [[nodiscard]] const std::vector<KpiView>& Kpis() const override;
  [[nodiscard]] const KpiView* Find(std::string_view kpi) const override;
  [[nodiscard]] std::vector<rules::Sample> History(const std::string& kpi, TimePoint since,
                                                   std::size_t limit) const override;
  [[nodiscard]] std::vector<store::RestatementRow> Restatements(
      const std::string& kpi) const override;
  [[nodiscard]] std::vector<web::SilenceNote> Silences(const KpiView& kpi,
                                                       TimePoint now) const override;
  [[nodiscard]] std::optional<TimePoint> EvaluatedAt() const override;
  [[nodiscard]] std::chrono::seconds RefreshInterval() const override;
  [[nodiscard]] const date::time_zone* Zone() const override;
  [[nodiscard]] TimePoint Now() const override;

  std::string config_path_;
  std::shared_ptr<const config::Config> config_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer evaluate_soon_timer_;
  bool evaluate_soon_pending_ = false;
  // Samples collected since the last evaluation pass, which writes them in one transaction:
  // a transaction per collection cost more CPU than judging the sample.
  std::vector<store::SampleRow> unwritten_samples_;
  Scheduler scheduler_;
  Metrics metrics_;
  std::shared_ptr<Engine> engine_ = std::make_shared<Engine>();
  Persistence persistence_;
  notify::Notifier notifier_;
  Collection collection_;
  SystemdNotifier systemd_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  // From config_->server.basic_auth_users; replaced on reload only when the users change,
  // so its cache of verified passwords survives other reloads.
  std::shared_ptr<const http::BasicAuth> basic_auth_;
  bool evaluated_once_ = false;
  bool stopping_ = false;
  std::chrono::system_clock::time_point last_evaluation_;
  std::chrono::steady_clock::duration last_evaluation_cost_{};
};

}  // namespace kpid
