#include "daemon/service.hpp"

#include <csignal>

#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "daemon/load_config.hpp"
#include "daemon/log.hpp"

namespace kpid {
namespace {

namespace beast_http = boost::beast::http;
using Clock = std::chrono::steady_clock;

// Shutdown lets in-flight work finish for at most this long.
constexpr auto kShutdownGrace = std::chrono::seconds(5);

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Runs over the longer input whatever the content, so timing reveals only lengths.
  std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string JoinErrors(const std::vector<config::Diagnostic>& errors) {
  std::string out;
  for (const config::Diagnostic& d : errors) {
    if (!out.empty()) out += "; ";
    out += d.ToString();
  }
  return out;
}

}  // namespace

Service::Service(std::string config_path, config::Config initial)
    : config_path_(std::move(config_path)),
      config_(std::make_shared<const config::Config>(std::move(initial))),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      watchdog_timer_(io_),
      scheduler_(io_),
      collection_(io_, metrics_.registry()) {
  metrics_.ConfigLoaded(true, std::chrono::system_clock::now());
  metrics_.Add(values_);
  collection_.SetObserver(
      [this](const Collection::Outcome& outcome) { values_->Record(outcome.kpi, outcome.result); });
  collection_.SetHistoryObserver(
      [this](const std::string& kpi, const collectors::HistoryResult& result) {
        if (const auto* error = std::get_if<collectors::CollectError>(&result)) {
          log::Warn("history backfill failed", {{"kpi", kpi}, {"error", error->message}});
          return;
        }
        const auto& history = std::get<collectors::History>(result);
        if (history.bad_rows > 0) {
          log::Warn("history backfill skipped bad rows",
                    {{"kpi", kpi},
                     {"bad_rows", std::to_string(history.bad_rows)},
                     {"first", history.first_bad_row}});
        }
        values_->Backfill(kpi, history.samples);
        log::Info("history backfilled",
                  {{"kpi", kpi}, {"samples", std::to_string(history.samples.size())}});
      });
  SetupRoutes();
}

void Service::SetupRoutes() {
  router_.Add(beast_http::verb::get, "/metrics", [this](const http::Request& req, auto&) {
    return http::MakeResponse(req, beast_http::status::ok,
                              "text/plain; version=0.0.4; charset=utf-8", metrics_.Render());
  });
  router_.Add(beast_http::verb::get, "/-/healthy", [](const http::Request& req, auto&) {
    return http::MakeResponse(req, beast_http::status::ok, "text/plain; charset=utf-8",
                              "kpid is healthy.\n");
  });
  router_.Add(beast_http::verb::get, "/-/ready", [this](const http::Request& req, auto&) {
    if (!evaluated_once_ || stopping_) {
      return http::MakeResponse(req, beast_http::status::service_unavailable,
                                "text/plain; charset=utf-8", "kpid is not ready.\n");
    }
    return http::MakeResponse(req, beast_http::status::ok, "text/plain; charset=utf-8",
                              "kpid is ready.\n");
  });
  auto reload = [this](const http::Request& req, auto&) {
    if (!Authorized(req)) {
      http::Response res =
          http::JsonError(req, beast_http::status::unauthorized, "missing or wrong bearer token");
      res.set(beast_http::field::www_authenticate, "Bearer");
      return res;
    }
    if (std::optional<std::string> error = Reload("http")) {
      return http::JsonError(req, beast_http::status::internal_server_error,
                             "config rejected, the previous config keeps running: " + *error);
    }
    return http::JsonResponse(req, beast_http::status::ok, R"({"status":"success"})");
  };
  router_.Add(beast_http::verb::post, "/-/reload", reload);
  router_.Add(beast_http::verb::put, "/-/reload", reload);
}

bool Service::Authorized(const http::Request& req) const {
  if (!config_->server.auth_token) return true;
  auto header = req[beast_http::field::authorization];
  std::string_view value(header.data(), header.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (!value.starts_with(kBearer)) return false;
  return ConstantTimeEquals(value.substr(kBearer.size()), config_->server.auth_token->Reveal());
}

std::string Service::StatusLine() const {
  return std::to_string(config_->kpis.size()) + " KPIs, " +
         std::to_string(config_->sources.size()) + " sources";
}

int Service::Run() {
  const config::ServerConfig& server = config_->server;
  // An empty host means every interface; names (localhost) resolve once, here.
  boost::system::error_code ec;
  boost::asio::ip::tcp::resolver resolver(io_);
  auto endpoints =
      resolver.resolve(server.host.empty() ? "0.0.0.0" : server.host, std::to_string(server.port),
                       boost::asio::ip::tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    log::Error("cannot listen: cannot resolve [server] listen host",
               {{"listen", server.listen}, {"error", ec.message()}});
    return 1;
  }
  server_ = std::make_unique<http::Server>(io_, router_, http::ServerOptions{});
  if (auto listen_error = server_->Listen(endpoints.begin()->endpoint())) {
    log::Error("cannot listen", {{"listen", server.listen}, {"error", listen_error.message()}});
    return 1;
  }
  auto endpoint = server_->LocalEndpoint();
  log::Info("kpid started",
            {{"version", KPID_VERSION},
             {"config", config_path_},
             {"listen", endpoint.address().to_string() + ":" + std::to_string(endpoint.port())},
             {"kpis", std::to_string(config_->kpis.size())}});
  WaitForSignal();
  ApplyConfig();
  ArmWatchdog();

  io_.run();

  // BeginShutdown stopped the loop; let in-flight work finish, bounded.
  io_.restart();
  io_.run_for(kShutdownGrace);
  log::Info("kpid stopped");
  return 0;
}

void Service::ApplyConfig() {
  values_->Apply(*config_);
  collection_.Apply(*config_, &scheduler_);
  // The evaluation tick: first pass now, then every evaluation.interval.
  scheduler_.Every(
      "evaluation", std::chrono::duration_cast<Clock::duration>(config_->evaluation.interval),
      [this] { Evaluate(); }, Clock::duration::zero());
}

void Service::Evaluate() {
  auto started = Clock::now();
  // Goal evaluation plugs in here (rules engine); the tick, its timing and readiness are
  // already real.
  last_evaluation_ = std::chrono::system_clock::now();
  metrics_.EvaluationDone(Clock::now() - started);
  if (!evaluated_once_) {
    evaluated_once_ = true;
    systemd_.Ready(StatusLine());
    log::Info("ready", {{"kpis", std::to_string(config_->kpis.size())}});
  }
}

std::optional<std::string> Service::Reload(std::string_view trigger) {
  systemd_.Reloading();
  config::LoadResult result = LoadConfig(config_path_);
  if (!result.config) {
    metrics_.ConfigLoaded(false, std::chrono::system_clock::now());
    for (const config::Diagnostic& d : result.errors) {
      log::Error("config reload rejected", {{"error", d.ToString()}});
    }
    systemd_.Ready(StatusLine() + "; last reload failed");
    return JoinErrors(result.errors);
  }
  if (result.config->server.listen != config_->server.listen) {
    log::Warn("[server] listen changed; restart kpid to apply it",
              {{"listen", config_->server.listen}});
  }
  if (result.config->storage.path != config_->storage.path) {
    log::Warn("[storage] path changed; restart kpid to apply it",
              {{"path", config_->storage.path}});
  }
  // Keep settings that only take effect at start, so the running state stays coherent.
  result.config->server.listen = config_->server.listen;
  result.config->server.host = config_->server.host;
  result.config->server.port = config_->server.port;
  result.config->storage.path = config_->storage.path;
  config_ = std::make_shared<const config::Config>(std::move(*result.config));
  metrics_.ConfigLoaded(true, std::chrono::system_clock::now());
  ApplyConfig();
  log::Info("config reloaded",
            {{"trigger", std::string(trigger)}, {"kpis", std::to_string(config_->kpis.size())}});
  systemd_.Ready(StatusLine());
  return std::nullopt;
}

void Service::WaitForSignal() {
  signals_.async_wait([this](boost::system::error_code ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      (void)Reload("SIGHUP");
      WaitForSignal();
      return;
    }
    BeginShutdown(signo == SIGTERM ? "SIGTERM" : "SIGINT");
  });
}

void Service::BeginShutdown(std::string_view why) {
  if (stopping_) return;
  stopping_ = true;
  log::Info("stopping", {{"signal", std::string(why)}});
  systemd_.Stopping();
  scheduler_.Clear();
  collection_.Stop();
  watchdog_timer_.cancel();
  signals_.cancel();
  if (server_) server_->Stop();
  io_.stop();
}

void Service::ArmWatchdog() {
  auto interval = systemd_.watchdog_interval();
  if (!interval) return;
  systemd_.Watchdog();
  watchdog_timer_.expires_after(*interval);
  watchdog_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) ArmWatchdog();
  });
}

}  // namespace kpid
