// The collector of a `type = "http"` source: one GET of the source's URL per collection,
// on the io_context's shared CurlMulti (no thread of its own). KPIs of the source that are
// collected while a request is in flight share its response ("single flight"), each picking
// its own value (json_pointer, or format = "text"). See collectors/http/README.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "collectors/collector.hpp"
#include "collectors/http/curl_multi.hpp"
#include "collectors/http/json_value.hpp"
#include "collectors/http/settings.hpp"
#include "daemon/config/config.hpp"

namespace kpid::collectors::http {

// The URL as messages may show it: scheme://host[:port]/path, without userinfo, query or
// fragment (they carry tokens). "<invalid URL>" when it does not parse.
std::string DisplayUrl(const std::string& url);

// Must be destroyed before its io_context. All calls on the io thread.
class HttpCollector final : public Collector {
 public:
  HttpCollector(const config::Source& source, boost::asio::io_context& io);
  ~HttpCollector() override;
  HttpCollector(const HttpCollector&) = delete;
  HttpCollector& operator=(const HttpCollector&) = delete;

  void Collect(const Target& target, std::chrono::milliseconds timeout, Done done) override;
  bool HasHistory(const Target& target) const override;
  void CollectHistory(const Target& target, std::chrono::milliseconds timeout,
                      HistoryDone done) override;
  void Stop() override;

  // HTTP requests started so far (several KPIs may share one).
  std::uint64_t requests() const { return requests_; }

 private:
  struct Waiter {
    Target target;
    Done done;
  };
  struct Response;

  void Start(std::chrono::milliseconds timeout);
  void Finish(CURLcode code, CURL* easy, Response& response);
  std::optional<CollectError> TransportError(CURLcode code, CURL* easy,
                                             const Response& response) const;
  CollectResult ValueFor(const Target& target, const Response& response,
                         const nlohmann::json* document,
                         const std::optional<ValueError>& json_error,
                         Clock::time_point completed) const;
  void Fail(Done done, CollectError error);
  CollectError Error(ErrorKind kind, const std::string& what) const;
  // Replaces every secret this source holds (URL parts, credentials, header values).
  std::string Redact(std::string text) const;
  // Excerpt() of redacted text: redacting before cutting leaves no half secret behind.
  std::string SafeExcerpt(std::string_view text) const;

  std::string name_;
  std::shared_ptr<const SourceSettings> settings_;
  std::chrono::milliseconds default_timeout_;
  std::string display_url_;
  std::vector<std::string> secrets_;  // longest first
  ExcerptFn excerpt_;                 // SafeExcerpt
  Slist headers_;                     // outlives every request (requests die in Stop())
  boost::asio::io_context& io_;
  CurlMulti& multi_;
  // False after Stop() or destruction: queued callbacks check it.
  std::shared_ptr<bool> live_ = std::make_shared<bool>(true);
  std::optional<CurlMulti::RequestId> in_flight_;
  std::vector<Waiter> waiters_;  // of the request in flight
  std::uint64_t requests_ = 0;
};

std::unique_ptr<Collector> Make(const config::Source& source, boost::asio::io_context& io);

}  // namespace kpid::collectors::http
