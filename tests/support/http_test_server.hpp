// Test support: a real HTTP/1.1 server on 127.0.0.1 (Boost.Beast, its own thread and
// io_context), optionally over TLS, whose answers a test scripts per request: status,
// headers, body, delays, chunked and gzip bodies. Many slow requests are served at once
// (delays are timers, not sleeps). Used by the HTTP collector's tests and benchmark, and
// by anything else that needs a peer to talk HTTP to (webhook receivers).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kpid::testing {

struct HttpTestRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header of that name (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

struct HttpTestResponse {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Waits this long before answering. With `release`, waits until it returns true (polled
  // every 5 ms) or this long, whichever is first.
  std::chrono::milliseconds delay{0};
  std::function<bool()> release;
  bool chunked = false;  // Transfer-Encoding: chunked, no Content-Length
  bool gzip = false;     // the body is sent gzip-compressed with Content-Encoding: gzip
  bool close = false;    // close the connection without answering

  static HttpTestResponse Json(std::string body, unsigned status = 200);
  static HttpTestResponse Text(std::string body, unsigned status = 200);
};

class HttpTestServer {
 public:
  using Handler = std::function<HttpTestResponse(const HttpTestRequest&)>;

  struct Tls {
    std::filesystem::path certificate;  // PEM
    std::filesystem::path private_key;  // PEM
  };

  // Listens on 127.0.0.1 at a free port; `handler` runs on the server's thread.
  explicit HttpTestServer(Handler handler);
  HttpTestServer(Handler handler, Tls tls);
  // Listens on 127.0.0.1:`port` (plain HTTP): a receiver that comes back where a test had
  // nothing listening before. Throws if the port is taken.
  HttpTestServer(Handler handler, std::uint16_t port);
  // Stops serving, abandons open connections, joins the thread.
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" + path (https with TLS).
  std::string Url(std::string_view path = "/") const;

  std::size_t request_count() const { return request_count_.load(); }
  // Requests being handled right now (read, not yet answered) and the most seen at once.
  std::size_t in_flight() const { return in_flight_.load(); }
  std::size_t max_in_flight() const { return max_in_flight_.load(); }
  std::size_t connection_count() const { return connection_count_.load(); }
  std::vector<HttpTestRequest> Requests() const;

 private:
  class Impl;

  std::atomic<std::size_t> request_count_{0};
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> max_in_flight_{0};
  std::atomic<std::size_t> connection_count_{0};
  mutable std::mutex mutex_;
  std::vector<HttpTestRequest> requests_;  // guarded by mutex_
  bool tls_ = false;
  std::uint16_t port_ = 0;
  std::unique_ptr<Impl> impl_;
};

// A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI in
// `dir`. Returns false (with the tool's output in `error`) if openssl is missing or fails.
bool MakeSelfSignedCertificate(const std::filesystem::path& dir, HttpTestServer::Tls& out,
                               std::string* error = nullptr);

// gzip-compresses `data` (zlib), for handlers that send pre-encoded bodies.
std::string Gzip(std::string_view data);

}  // namespace kpid::testing
