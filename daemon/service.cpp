#include "daemon/service.hpp"

#include <charconv>
#include <csignal>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "daemon/api.hpp"
#include "daemon/config/duration.hpp"
#include "daemon/load_config.hpp"
#include "daemon/log.hpp"
#include "daemon/notify/registry.hpp"
#include "daemon/restatement.hpp"
#include "rules/annotation.hpp"

namespace kpid {
namespace {

namespace beast_http = boost::beast::http;
using Clock = std::chrono::steady_clock;

// Shutdown lets in-flight work finish for at most this long.
constexpr auto kShutdownGrace = std::chrono::seconds(5);

// A KPI's windows hold at most this many samples from the store at start.
constexpr std::size_t kMaxSeedSamples = 1'000'000;

// How long an evaluation waits after a new value, to catch others collected meanwhile; at
// least kEvaluateSoonCost evaluation costs, so that judging new values as they come costs
// at most about a tenth of a core however many KPIs there are.
constexpr auto kEvaluateSoonDelay = std::chrono::milliseconds(50);
constexpr int kEvaluateSoonCost = 10;

// Silence requests are a few hundred bytes; the server's limit is for config uploads.
constexpr std::size_t kMaxApiBody = 64 << 10;

// Samples per history answer of /api/v1/kpis/{name}?since=, by default and at most.
constexpr std::size_t kDefaultHistoryLimit = 10'000;
constexpr std::size_t kMaxHistoryLimit = 1'000'000;
// Restatements of GET /api/v1/kpis/{name} and the KPI page, and changed values of each,
// at most.
constexpr std::size_t kApiRestatements = 10;
constexpr std::size_t kApiRestatedValues = 100;
// Points of a ?step= answer at most, as Prometheus limits range queries.
constexpr std::size_t kMaxHistoryPoints = 11'000;
// A longer ?step= would overflow TimePoint (nanoseconds) in the stepping arithmetic.
constexpr auto kMaxHistoryStep = std::chrono::hours(24 * 3660);

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

std::string Dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The store's samples of `kpi` with `fresh` (a history read again, oldest first) in
// them, winning in the same millisecond: where a restated period finds its values.
SampleLookup WithHistory(const store::Store& store, const std::string& kpi,
                         std::span<const rules::Sample> fresh) {
  using std::chrono::milliseconds;
  const SampleLookup stored = StoreLookup(store, kpi);
  const auto ms = [](const rules::Sample& s) { return std::chrono::floor<milliseconds>(s.at); };
  SampleLookup out;
  out.at_or_before = [stored, fresh, ms](TimePoint t) -> std::optional<rules::Sample> {
    const auto it = std::upper_bound(fresh.begin(), fresh.end(), t,
                                     [](TimePoint v, const rules::Sample& s) { return v < s.at; });
    const std::optional<rules::Sample> b = stored.at_or_before(t);
    if (it == fresh.begin()) return b;
    const rules::Sample& a = *(it - 1);
    return b && ms(*b) > ms(a) ? *b : a;
  };
  out.first_from = [stored, fresh, ms](TimePoint t) -> std::optional<rules::Sample> {
    const auto it = std::lower_bound(fresh.begin(), fresh.end(), t,
                                     [](const rules::Sample& s, TimePoint v) { return s.at < v; });
    const std::optional<rules::Sample> b = stored.first_from(t);
    if (it == fresh.end()) return b;
    return b && ms(*b) < ms(*it) ? *b : *it;
  };
  return out;
}

}  // namespace

Service::Service(std::string config_path, config::Config initial)
    : config_path_(std::move(config_path)),
      config_(std::make_shared<const config::Config>(std::move(initial))),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      watchdog_timer_(io_),
      evaluate_soon_timer_(io_),
      scheduler_(io_),
      persistence_(metrics_.registry()),
      notifier_(io_, metrics_.registry(), persistence_, notify::MakeReceiver),
      collection_(io_, metrics_.registry()),
      basic_auth_(std::make_shared<const http::BasicAuth>(config_->server.basic_auth_users)) {
  metrics_.ConfigLoaded(true, std::chrono::system_clock::now());
  metrics_.Add(engine_);
  // Recurring goals close their periods with the stored samples; every collected sample is
  // written at the start of the evaluation that may close a period.
  engine_->SetHistorySource([this](const std::string& kpi) {
    const store::Store* store = persistence_.store();
    return store != nullptr ? StoreLookup(*store, kpi) : SampleLookup{};
  });
  collection_.SetObserver([this](const Collection::Outcome& outcome) {
    const KpiView* view = engine_->Find(outcome.kpi);
    const bool first = view != nullptr && !view->collected_once;
    bool fresh = false;
    if (auto row = engine_->Record(outcome.kpi, outcome.result)) {
      unwritten_samples_.push_back(std::move(*row));
      fresh = true;
    }
    // A new value is judged now, not at the next evaluation tick: an alert is as fresh as
    // its data. A KPI's first collection, even a failed one, starts its judging.
    if (fresh || first) EvaluateSoon();
  });
  collection_.SetHistoryObserver(
      [this](const std::string& kpi, const collectors::HistoryResult& result) {
        OnHistory(kpi, result);
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
    if (const auto& error = persistence_.error()) {
      return http::MakeResponse(req, beast_http::status::service_unavailable,
                                "text/plain; charset=utf-8",
                                "kpid is not ready: state store failing: " + *error + "\n");
    }
    return http::MakeResponse(req, beast_http::status::ok, "text/plain; charset=utf-8",
                              "kpid is ready.\n");
  });
  auto reload = [this](const http::Request& req, auto&) {
    if (!Authorized(req)) return Unauthorized(req);
    if (std::optional<std::string> error = Reload("http")) {
      return http::JsonError(req, beast_http::status::internal_server_error,
                             "config rejected, the previous config keeps running: " + *error);
    }
    return http::JsonResponse(req, beast_http::status::ok, R"({"status":"success"})");
  };
  router_.Add(beast_http::verb::post, "/-/reload", reload);
  router_.Add(beast_http::verb::put, "/-/reload", reload);
  SetupApiRoutes();
  SetupAlertRoutes();
  web::AddRoutes(router_, *this);
}

const std::vector<KpiView>& Service::Kpis() const { return engine_->kpis(); }

const KpiView* Service::Find(std::string_view kpi) const { return engine_->Find(kpi); }

std::vector<rules::Sample> Service::History(const std::string& kpi, TimePoint since,
                                            std::size_t limit) const {
  store::Store* store = persistence_.store();
  if (store == nullptr) return {};
  auto samples = store->Samples(kpi, since, limit);
  if (auto* rows = std::get_if<std::vector<rules::Sample>>(&samples)) return std::move(*rows);
  return {};
}

// Read from the store when asked: there are few, and nothing else needs them.
std::vector<store::RestatementRow> Service::Restatements(const std::string& kpi) const {
  const store::Store* store = persistence_.store();
  if (store == nullptr) return {};
  auto read = store->LoadRestatements(kpi, kApiRestatements, kApiRestatedValues);
  if (auto* error = std::get_if<store::Error>(&read)) {
    log::Error("cannot read restatements from the store",
               {{"kpi", kpi}, {"error", error->message}});
    return {};
  }
  return std::move(std::get<std::vector<store::RestatementRow>>(read));
}

std::vector<web::SilenceNote> Service::Silences(const KpiView& kpi, TimePoint now) const {
  std::vector<web::SilenceNote> notes;
  for (const AlertView& alert : kpi.alerts) {
    const auto labels = rules::AlertLabels(kpi.config->name, alert.id, alert.severity,
                                           alert.state.status, kpi.config->labels);
    for (const std::string& id : notifier_.silences().Matching(labels, now)) {
      const notify::Silence* s = notifier_.silences().Find(id);
      notes.push_back({s->id, alert.id, s->comment, s->created_by, s->ends});
    }
  }
  return notes;
}

std::optional<TimePoint> Service::EvaluatedAt() const {
  if (!evaluated_once_) return std::nullopt;
  return last_evaluation_;
}

std::chrono::seconds Service::RefreshInterval() const {
  return std::chrono::duration_cast<std::chrono::seconds>(config_->evaluation.interval);
}

const date::time_zone* Service::Zone() const { return config_->evaluation.zone; }

TimePoint Service::Now() const { return std::chrono::system_clock::now(); }

void Service::SetupApiRoutes() {
  router_.Add(beast_http::verb::get, "/api/v1/kpis", [this](const http::Request& req, auto&) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    const api::SilenceLookup silenced = SilenceLookup();
    for (const KpiView& view : engine_->kpis()) list.push_back(api::KpiJson(view, silenced));
    nlohmann::ordered_json body;
    body["evaluated_at"] =
        evaluated_once_ ? nlohmann::ordered_json(api::FormatTime(last_evaluation_)) : nullptr;
    body["kpis"] = std::move(list);
    return http::JsonResponse(req, beast_http::status::ok, Dump(body));
  });
  router_.Add(beast_http::verb::get, "/api/v1/kpis/{name}",
              [this](const http::Request& req, const http::PathParams& params) {
                const std::string& name = params.find("name")->second;
                const KpiView* view = engine_->Find(name);
                if (view == nullptr) {
                  return http::JsonError(req, beast_http::status::not_found,
                                         "no KPI named \"" + name + "\"");
                }
                std::optional<http::PathParams> query = http::QueryParams(req);
                if (!query) {
                  return http::JsonError(req, beast_http::status::bad_request,
                                         "malformed percent-encoding in the query string");
                }
                return KpiResponse(req, *view, *query);
              });
}

http::Response Service::KpiResponse(const http::Request& req, const KpiView& view,
                                    const http::PathParams& query) const {
  auto bad = [&req](const std::string& message) {
    return http::JsonError(req, beast_http::status::bad_request, message);
  };
  nlohmann::ordered_json body = api::KpiJson(view, SilenceLookup());
  body["past_periods"] = api::PastPeriodsJson(view);
  body["restatements"] = api::RestatementsJson(Restatements(view.config->name));
  auto since = query.find("since");
  if (since == query.end()) {
    for (std::string_view key : {"until", "step", "limit"}) {
      if (query.contains(key)) return bad(std::string(key) + ": needs since");
    }
    return http::JsonResponse(req, beast_http::status::ok, Dump(body));
  }
  std::optional<TimePoint> from = api::ParseTime(since->second);
  if (!from) {
    return bad("since: \"" + since->second +
               "\" is not an RFC 3339 time like 2026-11-01T00:00:00Z");
  }
  TimePoint to = std::chrono::system_clock::now();
  if (auto until = query.find("until"); until != query.end()) {
    std::optional<TimePoint> parsed = api::ParseTime(until->second);
    if (!parsed) {
      return bad("until: \"" + until->second +
                 "\" is not an RFC 3339 time like 2026-12-01T00:00:00Z");
    }
    to = *parsed;
  }
  if (to < *from) return bad("until: must not be before since");
  std::optional<std::chrono::milliseconds> step;
  if (auto s = query.find("step"); s != query.end()) {
    step = config::ParseDuration(s->second);
    if (!step || *step <= std::chrono::milliseconds::zero()) {
      return bad("step: \"" + s->second + "\" is not a positive duration like 1h or 15m");
    }
    if (*step > kMaxHistoryStep) return bad("step: \"" + s->second + "\" is longer than 10 years");
    if ((to - *from) / *step >= static_cast<std::int64_t>(kMaxHistoryPoints)) {
      return bad("step: more than " + std::to_string(kMaxHistoryPoints) +
                 " points between since and until; use a larger step");
    }
  }
  std::size_t limit = kDefaultHistoryLimit;
  if (auto l = query.find("limit"); l != query.end()) {
    std::size_t parsed = 0;
    auto [end, ec] = std::from_chars(l->second.data(), l->second.data() + l->second.size(), parsed);
    if (ec != std::errc() || end != l->second.data() + l->second.size() || parsed == 0 ||
        parsed > kMaxHistoryLimit) {
      return bad("limit: expected a whole number from 1 to " + std::to_string(kMaxHistoryLimit));
    }
    limit = parsed;
  }
  store::Store* store = persistence_.store();
  if (store == nullptr) {
    return http::JsonError(
        req, beast_http::status::service_unavailable,
        "history unavailable: state store failing: " + persistence_.error().value_or("not open"));
  }
  const std::string& name = view.config->name;
  constexpr auto kMs = std::chrono::milliseconds(1);
  std::vector<rules::Sample> rows;
  bool truncated = false;
  if (step) {
    // One point per step: the newest sample in (t - step, t], stamped at t; none for an
    // empty interval, so nothing is made up.
    for (TimePoint t = *from; t <= to && rows.size() < limit; t += *step) {
      auto newest = store->Samples(name, t - *step + kMs, t + kMs, 1);
      if (auto* error = std::get_if<store::Error>(&newest)) {
        return http::JsonError(req, beast_http::status::internal_server_error, error->message);
      }
      const auto& got = std::get<std::vector<rules::Sample>>(newest);
      if (!got.empty()) rows.push_back({t, got.front().value});
    }
    truncated = rows.size() == limit;
  } else {
    auto samples = store->Samples(name, *from, to + kMs, limit);
    if (auto* error = std::get_if<store::Error>(&samples)) {
      return http::JsonError(req, beast_http::status::internal_server_error, error->message);
    }
    rows = std::get<std::vector<rules::Sample>>(std::move(samples));
    truncated = rows.size() == limit;
  }
  body["history"] = api::HistoryJson(rows);
  body["history_truncated"] = truncated;
  return http::JsonResponse(req, beast_http::status::ok, Dump(body));
}

api::SilenceLookup Service::SilenceLookup() const {
  return
      [this, now = std::chrono::system_clock::now()](const KpiView& view, const AlertView& alert) {
        return notifier_.silences().Matching(
            rules::AlertLabels(view.config->name, alert.id, alert.severity, alert.state.status,
                               view.config->labels),
            now);
      };
}

void Service::SetupAlertRoutes() {
  router_.Add(beast_http::verb::get, "/api/v1/alerts", [this](const http::Request& req, auto&) {
    const api::SilenceLookup silenced = SilenceLookup();
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const KpiView& view : engine_->kpis()) {
      for (const AlertView& alert : view.alerts) {
        if (alert.state.phase == rules::AlertPhase::kPending ||
            alert.state.phase == rules::AlertPhase::kFiring) {
          list.push_back(api::ActiveAlertJson(view, alert, silenced));
        }
      }
    }
    nlohmann::ordered_json body;
    body["evaluated_at"] =
        evaluated_once_ ? nlohmann::ordered_json(api::FormatTime(last_evaluation_)) : nullptr;
    body["alerts"] = std::move(list);
    return http::JsonResponse(req, beast_http::status::ok, Dump(body));
  });

  router_.Add(beast_http::verb::get, "/api/v1/silences", [this](const http::Request& req, auto&) {
    const TimePoint now = std::chrono::system_clock::now();
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const notify::Silence* s : notifier_.silences().All()) {
      list.push_back(notify::SilenceJson(*s, now));
    }
    return http::JsonResponse(req, beast_http::status::ok,
                              Dump(nlohmann::ordered_json{{"silences", std::move(list)}}));
  });
  router_.Add(beast_http::verb::get, "/api/v1/silences/{id}",
              [this](const http::Request& req, const http::PathParams& params) {
                const std::string& id = params.find("id")->second;
                const notify::Silence* s = notifier_.silences().Find(id);
                if (s == nullptr) {
                  return http::JsonError(req, beast_http::status::not_found,
                                         "no silence with id \"" + id + "\"");
                }
                return http::JsonResponse(
                    req, beast_http::status::ok,
                    Dump(notify::SilenceJson(*s, std::chrono::system_clock::now())));
              });
  router_.Add(beast_http::verb::post, "/api/v1/silences", [this](const http::Request& req, auto&) {
    if (!Authorized(req)) return Unauthorized(req);
    if (req.body().size() > kMaxApiBody) {
      return http::JsonError(req, beast_http::status::payload_too_large,
                             "request body larger than " + std::to_string(kMaxApiBody) + " bytes");
    }
    auto body = nlohmann::json::parse(req.body(), nullptr, false);
    if (body.is_discarded()) {
      return http::JsonError(req, beast_http::status::bad_request,
                             "request body is not valid JSON");
    }
    const TimePoint now = std::chrono::system_clock::now();
    auto parsed = notify::ParseSilence(body, now);
    if (auto* error = std::get_if<std::string>(&parsed)) {
      return http::JsonError(req, beast_http::status::bad_request, *error);
    }
    auto added = notifier_.silences().Add(std::get<notify::Silence>(std::move(parsed)), now);
    if (added.index() == 1) {
      return http::JsonError(req, beast_http::status::service_unavailable, std::get<1>(added));
    }
    const std::string& id = std::get<0>(added);
    const notify::Silence* s = notifier_.silences().Find(id);
    log::Info("silence created",
              {{"silence", id}, {"created_by", s->created_by}, {"ends", api::FormatTime(s->ends)}});
    http::Response res =
        http::JsonResponse(req, beast_http::status::created, Dump(notify::SilenceJson(*s, now)));
    res.set(beast_http::field::location, "/api/v1/silences/" + id);
    return res;
  });
  router_.Add(beast_http::verb::delete_, "/api/v1/silences/{id}",
              [this](const http::Request& req, const http::PathParams& params) {
                if (!Authorized(req)) return Unauthorized(req);
                return ExpireSilence(req, params.find("id")->second);
              });
}

http::Response Service::ExpireSilence(const http::Request& req, const std::string& id) {
  const TimePoint now = std::chrono::system_clock::now();
  std::string error;
  switch (notifier_.silences().Expire(id, now, &error)) {
    case notify::Silences::ExpireResult::kNotFound:
      return http::JsonError(req, beast_http::status::not_found,
                             "no silence with id \"" + id + "\"");
    case notify::Silences::ExpireResult::kFromConfig:
      return http::JsonError(
          req, beast_http::status::conflict,
          "silence \"" + id + "\" is defined in the config file; remove it there and reload");
    case notify::Silences::ExpireResult::kStoreFailed:
      return http::JsonError(req, beast_http::status::service_unavailable, error);
    case notify::Silences::ExpireResult::kExpired:
      break;
  }
  log::Info("silence expired", {{"silence", id}});
  // What it held back is due now, not at the next evaluation.
  notifier_.Reconcile(now);
  return http::JsonResponse(req, beast_http::status::ok,
                            Dump(notify::SilenceJson(*notifier_.silences().Find(id), now)));
}

http::Response Service::Unauthorized(const http::Request& req) {
  http::Response res =
      http::JsonError(req, beast_http::status::unauthorized, "missing or wrong bearer token");
  res.set(beast_http::field::www_authenticate, "Bearer");
  return res;
}

http::GateResult Service::Gate(const http::Request& req) const {
  if (!basic_auth_ || basic_auth_->empty()) return {};
  const std::string_view target(req.target().data(), req.target().size());
  // Health checks (load balancers, systemd, Kubernetes probes) carry no credentials and
  // learn nothing but "up" from it.
  if (target.substr(0, target.find('?')) == "/-/healthy") return {};
  const auto header = req[beast_http::field::authorization];
  const std::string_view value(header.data(), header.size());
  // The API token also opens the door, so that one header serves mutating calls.
  if (config_->server.auth_token && value.starts_with("Bearer ") && Authorized(req)) return {};
  const std::optional<bool> cached = basic_auth_->VerifyCached(value);
  if (cached == true) return {};
  http::Response refusal =
      http::JsonError(req, beast_http::status::unauthorized, "missing or wrong credentials");
  refusal.set(beast_http::field::www_authenticate, "Basic realm=\"kpid\"");
  if (cached == false) return refusal;
  // bcrypt, on the server's worker thread. The check owns the users it was given, so a
  // reload that replaces them meanwhile changes nothing under it.
  return http::DeferredCheck{
      .passes = [auth = basic_auth_, value = std::string(value)] { return auth->Verify(value); },
      .refusal = std::move(refusal)};
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
  http::ServerOptions options;
  if (!server.tls_cert_file.empty()) {
    std::string error;
    options.tls = http::MakeTlsContext(server.tls_cert_file, server.tls_key_file, &error);
    if (!options.tls) {
      log::Error("cannot listen: [server] TLS", {{"listen", server.listen}, {"error", error}});
      return 1;
    }
  }
  options.gate = [this](const http::Request& req) { return Gate(req); };
  server_ = std::make_unique<http::Server>(io_, router_, std::move(options));
  if (auto listen_error = server_->Listen(endpoints.begin()->endpoint())) {
    log::Error("cannot listen", {{"listen", server.listen}, {"error", listen_error.message()}});
    return 1;
  }
  auto endpoint = server_->LocalEndpoint();
  log::Info("kpid started",
            {{"version", KPID_VERSION},
             {"config", config_path_},
             {"listen", endpoint.address().to_string() + ":" + std::to_string(endpoint.port())},
             {"tls", server.tls_cert_file.empty() ? "off" : "on"},
             {"basic_auth", server.basic_auth_users.empty() ? "off" : "on"},
             {"kpis", std::to_string(config_->kpis.size())}});
  WaitForSignal();
  bool store_open = persistence_.Open(config_->storage.path);
  ApplyConfig();
  if (store_open) {
    Restore({}, /*alerts=*/true);
    notifier_.Restore();
  }
  ArmWatchdog();

  io_.run();

  // BeginShutdown stopped the loop; let in-flight work finish, bounded.
  io_.restart();
  io_.run_for(kShutdownGrace);
  persistence_.AppendSamples(std::exchange(unwritten_samples_, {}));
  persistence_.Flush();
  log::Info("kpid stopped");
  return 0;
}

void Service::ApplyConfig() {
  std::vector<std::string> reseed = engine_->Apply(config_);
  if (persistence_.store() != nullptr) Restore(reseed, /*alerts=*/false);
  std::vector<std::string> ids = engine_->AlertIds();
  persistence_.RetainAlerts(ids);
  collection_.Apply(*config_, &scheduler_);
  notifier_.Apply(config_, *engine_);
  // The evaluation tick: first pass now, then every evaluation.interval.
  scheduler_.Every(
      "evaluation", std::chrono::duration_cast<Clock::duration>(config_->evaluation.interval),
      [this] { Evaluate(); }, Clock::duration::zero());
}

void Service::Restore(const std::vector<std::string>& kpis, bool alerts) {
  store::Store* store = persistence_.store();
  if (store == nullptr) return;
  const auto now = std::chrono::system_clock::now();
  std::vector<std::string> all;
  if (alerts) {
    for (const KpiView& view : engine_->kpis()) all.push_back(view.config->name);
  }
  std::size_t restored = 0;
  for (const std::string& kpi : alerts ? all : kpis) {
    auto samples = store->Samples(kpi, engine_->HistoryStart(kpi, now), kMaxSeedSamples);
    if (auto* error = std::get_if<store::Error>(&samples)) {
      log::Error("cannot read history from the store", {{"kpi", kpi}, {"error", error->message}});
      continue;
    }
    auto& rows = std::get<std::vector<rules::Sample>>(samples);
    if (rows.size() < 2) {
      // Latest and previous count however old they are.
      auto last = store->Samples(kpi, rules::TimePoint::min(), 2);
      if (auto* last_rows = std::get_if<std::vector<rules::Sample>>(&last)) rows = *last_rows;
    }
    restored += rows.size();
    engine_->Seed(kpi, rows, now);
  }
  // Periods after the samples: a carried baseline may be found in the seeded windows.
  std::vector<store::PeriodRow> periods =
      RestorePeriods(*store, *engine_, alerts ? all : kpis, now);
  for (const store::PeriodRow& row : periods) LogPeriod(row);
  persistence_.SavePeriods(periods);
  if (alerts) {
    // Goal events told before: not told again.
    auto events = store->LoadEvents();
    if (auto* error = std::get_if<store::Error>(&events)) {
      log::Error("cannot restore goal events from the store", {{"error", error->message}});
    } else {
      engine_->RestoreEvents(std::get<std::vector<store::EventRow>>(events));
    }
    auto saved = store->LoadAlerts();
    if (auto* error = std::get_if<store::Error>(&saved)) {
      log::Error("cannot restore alert states from the store", {{"error", error->message}});
    } else {
      const auto& rows = std::get<std::vector<store::AlertRow>>(saved);
      engine_->RestoreAlerts(rows);
      log::Info("state restored",
                {{"samples", std::to_string(restored)}, {"alerts", std::to_string(rows.size())}});
    }
  }
}

void Service::OnHistory(const std::string& kpi, const collectors::HistoryResult& result) {
  if (const auto* error = std::get_if<collectors::CollectError>(&result)) {
    log::Warn("history backfill failed", {{"kpi", kpi}, {"error", error->message}});
    return;
  }
  const auto& history = std::get<collectors::History>(result);
  if (history.bad_rows > 0) {
    log::Warn("history backfill skipped bad rows", {{"kpi", kpi},
                                                    {"bad_rows", std::to_string(history.bad_rows)},
                                                    {"first", history.first_bad_row}});
  }
  std::vector<rules::Sample> samples;
  std::vector<store::SampleRow> rows;
  samples.reserve(history.samples.size());
  for (const collectors::Sample& s : history.samples) {
    samples.push_back({s.timestamp, s.value});
    rows.push_back({kpi, samples.back()});
  }
  std::sort(samples.begin(), samples.end(),
            [](const auto& a, const auto& b) { return a.at < b.at; });
  const auto now = std::chrono::system_clock::now();
  // What the store holds at the history's times, before the history replaces it. Without
  // a store every row counts as new.
  HistoryDiff diff{.restated = {}, .added = samples.size()};
  if (store::Store* store = persistence_.store(); store != nullptr && !samples.empty()) {
    std::vector<TimePoint> times;
    times.reserve(samples.size());
    for (const rules::Sample& sample : samples) times.push_back(sample.at);
    auto stored = store->SamplesAt(kpi, times);
    if (auto* rows_read = std::get_if<std::vector<rules::Sample>>(&stored)) {
      diff = DiffHistory(*rows_read, samples);
    } else {
      log::Error("cannot read history from the store",
                 {{"kpi", kpi}, {"error", std::get<store::Error>(stored).message}});
    }
  }
  if (diff.restated.empty() && diff.added == 0) {
    // The store and the windows seeded from it hold this history already.
    log::Debug("history unchanged", {{"kpi", kpi}, {"samples", std::to_string(samples.size())}});
    return;
  }
  const std::size_t restated = diff.restated.size();
  if (restated == 0) {
    persistence_.AppendSamples(std::move(rows));
  } else {
    Restate(kpi, samples, std::move(rows), std::move(diff.restated), now);
  }
  // The window is the backfill (first, so it wins on equal timestamps) plus what the store
  // holds. Without a store only the backfill and the latest two samples are left in it
  // until the store returns and the next restart seeds it again.
  std::vector<rules::Sample> window = samples;
  if (store::Store* store = persistence_.store()) {
    auto stored = store->Samples(kpi, engine_->HistoryStart(kpi, now), kMaxSeedSamples);
    if (auto* rows_read = std::get_if<std::vector<rules::Sample>>(&stored)) {
      window.insert(window.end(), rows_read->begin(), rows_read->end());
    } else {
      log::Error("cannot read history from the store",
                 {{"kpi", kpi}, {"error", std::get<store::Error>(stored).message}});
    }
  }
  engine_->Seed(kpi, window, now);
  log::Info("history backfilled", {{"kpi", kpi},
                                   {"samples", std::to_string(samples.size())},
                                   {"new", std::to_string(diff.added)},
                                   {"restated", std::to_string(restated)}});
}

void Service::Restate(const std::string& kpi, std::span<const rules::Sample> fresh,
                      std::vector<store::SampleRow> rows,
                      std::vector<store::RestatedValue> restated, TimePoint now) {
  store::RestatementRow row;
  row.kpi = kpi;
  row.detected = now;
  row.values = restated.size();
  row.first = restated.front().at;
  row.last = restated.back().at;
  if (restated.size() > store::Store::kMaxRestatedValues) {
    restated.resize(store::Store::kMaxRestatedValues);
  }
  row.changes = std::move(restated);
  // The past statuses, replayed over what the store holds (the values before) and over
  // the same with this history in it (after).
  // Open: the restated values were just read from it.
  const store::Store& store = *persistence_.store();
  bool unreadable = false;
  const HistoryReader before = [&store, &unreadable](const std::string& k, TimePoint from,
                                                     TimePoint until) {
    auto read = store.Samples(k, from, until + std::chrono::milliseconds(1), kMaxSeedSamples);
    if (auto* error = std::get_if<store::Error>(&read)) {
      log::Error("cannot read history from the store", {{"kpi", k}, {"error", error->message}});
      unreadable = true;
      return std::vector<rules::Sample>{};
    }
    return std::move(std::get<std::vector<rules::Sample>>(read));
  };
  const HistoryReader after = [&](const std::string& k, TimePoint from, TimePoint until) {
    std::vector<rules::Sample> old = before(k, from, until);
    if (k != kpi) return old;
    // The history's samples in [from, until] win over stored ones in the same millisecond.
    const auto ms = [](const rules::Sample& s) {
      return std::chrono::floor<std::chrono::milliseconds>(s.at);
    };
    std::vector<rules::Sample> merged;
    merged.reserve(old.size() + fresh.size());
    auto o = old.begin();
    for (const rules::Sample& f : fresh) {
      if (f.at < from || f.at > until) continue;
      for (; o != old.end() && ms(*o) < ms(f); ++o) merged.push_back(*o);
      if (o != old.end() && ms(*o) == ms(f)) ++o;
      merged.push_back(f);
    }
    merged.insert(merged.end(), o, old.end());
    return merged;
  };
  row.statuses = CompareStatuses(config_, kpi, before, after, row.first, now);
  if (unreadable) {
    // A replay over a history the store could not give would invent differences.
    log::Error("past statuses not compared: the store could not be read", {{"kpi", kpi}});
    row.statuses.clear();
  }
  if (const config::Kpi* restated_kpi = config_->FindKpi(kpi)) {
    auto stored = store.LoadPeriods(kpi, kMaxRejudgedPeriods);
    if (auto* periods = std::get_if<store::StoredPeriods>(&stored)) {
      row.periods =
          RejudgePeriods(*restated_kpi, *periods, WithHistory(store, kpi, fresh), row.first);
    } else {
      log::Error("cannot read goal periods from the store",
                 {{"kpi", kpi}, {"error", std::get<store::Error>(stored).message}});
    }
  }

  log::Warn("history restated", {{"kpi", kpi},
                                 {"values", std::to_string(row.values)},
                                 {"first", api::FormatTime(row.first)},
                                 {"last", api::FormatTime(row.last)},
                                 {"status_changes", std::to_string(row.statuses.size())}});
  for (const store::RestatedPeriod& p : row.periods) {
    log::Warn("goal period judged again after a restatement",
              {{"kpi", kpi},
               {"start", api::FormatTime(p.after.start)},
               {"result_before", p.before.result.empty() ? "open" : p.before.result},
               {"result_after", p.after.result.empty() ? "open" : p.after.result},
               {"final_before",
                p.before.final_value ? rules::FormatNumber(*p.before.final_value) : "none"},
               {"final_after",
                p.after.final_value ? rules::FormatNumber(*p.after.final_value) : "none"}});
  }
  for (const store::StatusChange& c : row.statuses) {
    log::Warn("past status changed by a restatement",
              {{"kpi", c.kpi},
               {"restated_kpi", kpi},
               {"from", api::FormatTime(c.from)},
               {"until", api::FormatTime(c.until)},
               {"before", c.before.empty() ? "none" : c.before},
               {"after", c.after.empty() ? "none" : c.after}});
  }
  metrics_.Restated(kpi, row.values);

  // One notice per KPI whose past status or period changed, routed as its goal alert.
  std::vector<GoalEvent> events;
  const auto event_of = [&](const std::string& k) -> GoalEvent* {
    for (GoalEvent& e : events) {
      if (e.kpi == k) return &e;
    }
    const KpiView* view = engine_->Find(k);
    if (view == nullptr) return nullptr;
    GoalEvent& e = events.emplace_back();
    e.kind = GoalEvent::Kind::kRestated;
    e.kpi = k;
    e.key = "restated@" + api::FormatTime(now);
    e.name = "restated";
    e.at = now;
    if (view->latest) e.value = view->latest->value;
    if (k != kpi) {
      const config::Kpi* source = config_->FindKpi(kpi);
      e.restated_title = source != nullptr && !source->title.empty() ? source->title : kpi;
    }
    e.restated_values = row.values;
    e.restated_first = row.first;
    e.restated_last = row.last;
    return &e;
  };
  for (const store::StatusChange& c : row.statuses) {
    if (GoalEvent* e = event_of(c.kpi)) e->status_changes.push_back(c);
  }
  if (!row.periods.empty()) {
    if (GoalEvent* e = event_of(kpi)) e->period_changes = row.periods;
  }
  notify::Notifier::Announcement announcement = notifier_.Prepare(events, now);
  std::optional<std::vector<std::int64_t>> ids = persistence_.RecordRestatement(
      row, std::move(rows), announcement.outbox, announcement.settled);
  if (!ids) {
    log::Error("restatement not recorded: the state store cannot take it",
               {{"kpi", kpi}, {"notices", std::to_string(announcement.outbox.size())}});
  }
  notifier_.Send(std::move(announcement), ids);
  if (ids && !row.periods.empty()) {
    // The engine's past periods, counts and open period as the store holds them now.
    const std::vector<std::string> kpis = {kpi};
    std::vector<store::PeriodRow> periods = RestorePeriods(store, *engine_, kpis, now);
    persistence_.SavePeriods(periods);
  }
  EvaluateSoon();
}

void Service::Evaluate() {
  auto started = Clock::now();
  const auto now = std::chrono::system_clock::now();
  if (persistence_.Tick(now, config_->storage.retention)) {
    // The store opened late: what it holds counts, and what happened since is written.
    Restore({}, /*alerts=*/true);
    notifier_.Restore();
  }
  persistence_.AppendSamples(std::exchange(unwritten_samples_, {}));
  Engine::Cycle cycle = engine_->Evaluate(now);
  persistence_.AppendSamples(std::move(cycle.samples));
  persistence_.SaveAlerts(cycle.alerts);
  for (const store::PeriodRow& row : cycle.periods) LogPeriod(row);
  persistence_.SavePeriods(cycle.periods);
  for (const AlertChange& change : cycle.changes) LogChange(change);
  // Events first: an achieved goal's message settles what Reconcile() would resolve.
  notifier_.Announce(cycle.events, now);
  notifier_.Reconcile(now);
  last_evaluation_ = now;
  last_evaluation_cost_ = Clock::now() - started;
  metrics_.EvaluationDone(last_evaluation_cost_, now);
  if (!evaluated_once_) {
    evaluated_once_ = true;
    systemd_.Ready(StatusLine());
    log::Info("ready", {{"kpis", std::to_string(config_->kpis.size())}});
  }
}

void Service::EvaluateSoon() {
  if (evaluate_soon_pending_ || stopping_) return;
  evaluate_soon_pending_ = true;
  evaluate_soon_timer_.expires_after(
      std::max<Clock::duration>(kEvaluateSoonDelay, kEvaluateSoonCost * last_evaluation_cost_));
  evaluate_soon_timer_.async_wait([this](boost::system::error_code ec) {
    evaluate_soon_pending_ = false;
    if (!ec && !stopping_) Evaluate();
  });
}

void Service::LogPeriod(const store::PeriodRow& row) const {
  if (row.result.empty()) return;  // opening one is the other side of a closing
  const KpiView* view = engine_->Find(row.kpi);
  std::string label;
  if (view != nullptr) {
    for (const PastPeriod& past : view->past_periods) {
      if (past.row.start == row.start) label = past.label;
    }
  }
  log::Info("goal period closed",
            {{"kpi", row.kpi},
             {"period", label},
             {"start", api::FormatTime(row.start)},
             {"end", api::FormatTime(row.end)},
             {"result", row.result},
             {"final_value", row.final_value ? rules::FormatNumber(*row.final_value) : "none"},
             {"progress", row.progress ? rules::FormatNumber(*row.progress) : "none"}});
}

void Service::LogChange(const AlertChange& change) const {
  const rules::Transition& t = change.transition;
  std::vector<log::Field> fields = {{"alert", change.alert},
                                    {"event", std::string(rules::AlertEventName(t.event))},
                                    {"from", std::string(rules::AlertPhaseName(t.from))},
                                    {"to", std::string(rules::AlertPhaseName(t.to))},
                                    {"severity", std::string(rules::SeverityName(t.severity))}};
  fields.push_back({"kpi", change.kpi});
  if (t.status) fields.push_back({"status", std::string(rules::StatusName(*t.status))});
  if (!change.summary.empty()) fields.push_back({"summary", change.summary});
  log::Write(rules::Notifies(t.event) ? log::Level::kWarn : log::Level::kInfo,
             "alert " + std::string(rules::AlertEventName(t.event)), fields);
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
  if (result.config->server.tls_cert_file != config_->server.tls_cert_file ||
      result.config->server.tls_key_file != config_->server.tls_key_file) {
    log::Warn("[server] tls_cert_file or tls_key_file changed; restart kpid to apply it",
              {{"tls_cert_file", config_->server.tls_cert_file},
               {"tls_key_file", config_->server.tls_key_file}});
  }
  // Keep settings that only take effect at start, so the running state stays coherent.
  result.config->server.tls_cert_file = config_->server.tls_cert_file;
  result.config->server.tls_key_file = config_->server.tls_key_file;
  result.config->server.listen = config_->server.listen;
  result.config->server.host = config_->server.host;
  result.config->server.port = config_->server.port;
  result.config->storage.path = config_->storage.path;
  if (result.config->server.basic_auth_users != config_->server.basic_auth_users) {
    basic_auth_ = std::make_shared<const http::BasicAuth>(result.config->server.basic_auth_users);
  }
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
  notifier_.Stop();
  watchdog_timer_.cancel();
  evaluate_soon_timer_.cancel();
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
