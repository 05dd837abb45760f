// The `webhook` receiver: POSTs the Alertmanager webhook payload (payload.hpp) as JSON.
// JsonPoster, the HTTP half, is shared with the `alertmanager` receiver.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "collectors/http/curl_multi.hpp"
#include "daemon/config/config.hpp"
#include "daemon/notify/receiver.hpp"

namespace kpid::notify::webhook {

// Where and how to POST.
struct Endpoint {
  std::string type;  // receiver type and name, for messages: webhook "ops-hook"
  std::string name;
  config::Secret url;
  std::vector<std::pair<std::string, config::Secret>> headers;  // override the defaults
  std::optional<config::Secret> bearer_token;                   // replaces an Authorization header
  std::string ca_file;
  bool insecure_skip_verify = false;
  std::chrono::milliseconds timeout{10000};  // whole attempt, connecting included
};

// POSTs JSON bodies to one endpoint on the shared CurlMulti and classifies the answer:
// 2xx delivered; 408, 429, 5xx and transport errors (timeout, refused, reset, TLS, DNS)
// retry, with the Retry-After of a 429/503; other statuses (3xx: redirects are not
// followed) fail. Messages name the peer by host:port only: the URL's path, query and
// userinfo and the header values can carry tokens. At most 64 KiB of a response is read.
// io thread only; `context.curl` must outlive it. Destroying it abandons requests in
// flight without calling their `done`.
class JsonPoster {
 public:
  JsonPoster(Endpoint endpoint, const ReceiverContext& context);
  ~JsonPoster();
  JsonPoster(const JsonPoster&) = delete;
  JsonPoster& operator=(const JsonPoster&) = delete;

  // Calls `done` exactly once, from the io loop (never from inside Post()).
  void Post(std::string body, Receiver::Done done);

 private:
  struct Transfer;

  void PostLater(Receiver::Done done, Delivery delivery);
  Delivery Classify(CURLcode code, CURL* easy, const Transfer& transfer) const;
  std::string Redact(std::string text) const;

  Endpoint endpoint_;
  boost::asio::io_context& io_;
  collectors::http::CurlMulti& curl_;
  std::string label_;                   // webhook "ops-hook"
  std::string peer_;                    // host:port, all that messages show of the URL
  std::optional<std::string> invalid_;  // why no request can be made, set at construction
  std::vector<std::string> secrets_;    // longest first, for Redact()
  collectors::http::Slist headers_;
  std::unordered_set<collectors::http::CurlMulti::RequestId> in_flight_;
  // Posted completions check it: they must not run after this poster is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The Retry-After header's wait: delay-seconds or an HTTP-date (then relative to `now`);
// nullopt when unparsable. A date in the past is zero.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now);

// `config.settings` must be webhook::Settings; otherwise every Send() fails.
std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context);

}  // namespace kpid::notify::webhook
