#include "daemon/notify/alertmanager/receiver.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include <curl/curl.h>

#include "daemon/notify/alertmanager/settings.hpp"
#include "daemon/notify/webhook/receiver.hpp"

namespace kpid::notify::alertmanager {
namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::system_clock;

constexpr std::string_view kAlertsPath = "/api/v2/alerts";

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using Url = std::unique_ptr<CURLU, UrlDeleter>;

Json LabelObject(const Labels& labels, bool skip_empty) {
  std::map<std::string, std::string, std::less<>> sorted;
  for (const auto& [name, value] : labels) {
    if (!skip_empty || !value.empty()) sorted.emplace(name, value);
  }
  Json out = Json::object();
  for (auto& [name, value] : sorted) out[name] = value;
  return out;
}

// The base URL with kAlertsPath appended to its path (query and userinfo kept); "" when
// it does not parse, which the poster reports.
std::string AlertsUrl(const std::string& base) {
  const Url url(curl_url());
  if (!url || curl_url_set(url.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) return {};
  char* text = nullptr;
  std::string path;
  if (curl_url_get(url.get(), CURLUPART_PATH, &text, 0) == CURLUE_OK && text != nullptr) {
    path = text;
  }
  curl_free(text);
  while (!path.empty() && path.back() == '/') path.pop_back();
  path += kAlertsPath;
  if (curl_url_set(url.get(), CURLUPART_PATH, path.c_str(), 0) != CURLUE_OK) return {};
  text = nullptr;
  if (curl_url_get(url.get(), CURLUPART_URL, &text, 0) != CURLUE_OK || text == nullptr) return {};
  std::string out(text);
  curl_free(text);
  return out;
}

class AlertmanagerReceiver final : public Receiver {
 public:
  AlertmanagerReceiver(webhook::Endpoint endpoint, const ReceiverContext& context)
      : poster_(std::move(endpoint), context) {}

  void Send(const Notification& n, Done done) override {
    poster_.Post(AlertsBody(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                 std::move(done));
  }

 private:
  webhook::JsonPoster poster_;
};

}  // namespace

nlohmann::ordered_json AlertsBody(const Notification& n) {
  Json alerts = Json::array();
  for (const Alert& a : n.alerts) {
    Json alert{{"labels", LabelObject(a.labels, true)},
               {"annotations", LabelObject(a.annotations, true)},
               {"startsAt", FormatTime(a.starts_at)}};
    // A goal event is firing with an end; it goes without endsAt: Alertmanager notifies it
    // once and resolves it itself after resolve_timeout, since kpid does not re-send it. An
    // end in the past would arrive resolved, and Alertmanager tells no resolve of an alert
    // it never told firing.
    if (!a.firing) {
      // Alertmanager rejects an end before the start; an unknown end is now.
      alert["endsAt"] = FormatTime(std::max(a.starts_at, a.ends_at.value_or(Clock::now())));
    }
    // Alertmanager validates it as a URI when present.
    if (!a.generator_url.empty()) alert["generatorURL"] = a.generator_url;
    alerts.push_back(std::move(alert));
  }
  return alerts;
}

std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context) {
  webhook::Endpoint endpoint;
  endpoint.type = "alertmanager";
  endpoint.name = config.name;
  endpoint.timeout = config.timeout;
  // Without settings the URL stays empty and every Send() reports it.
  if (const auto* s = dynamic_cast<const Settings*>(config.settings.get())) {
    // An unparsable base URL is kept: the poster reports it.
    const std::string url = AlertsUrl(s->url.Reveal());
    endpoint.url = url.empty() ? s->url : config::Secret(url);
    endpoint.bearer_token = s->bearer_token;
    endpoint.ca_file = s->ca_file;
    endpoint.insecure_skip_verify = s->insecure_skip_verify;
  }
  return std::make_unique<AlertmanagerReceiver>(std::move(endpoint), context);
}

}  // namespace kpid::notify::alertmanager
