// HTTP/1.1 listener on Boost.Beast, plain or over TLS: accepts connections, enforces
// limits and timeouts, keeps connections alive and hands each parsed request to a Router.
// Knows nothing about KPIs.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "daemon/http/listen_address.hpp"
#include "daemon/http/router.hpp"

namespace kpid::http {

// A check too slow for the io thread (bcrypt): `passes` runs on the server's worker thread,
// owning or borrowing only what outlives the request; `refusal` is sent when it fails.
struct DeferredCheck {
  std::function<bool()> passes;
  Response refusal;
};

// A gate's answer: let the request through (monostate), refuse it with this response, or
// decide on the worker thread.
using GateResult = std::variant<std::monostate, Response, DeferredCheck>;

struct ServerOptions {
  std::size_t max_body_bytes = 1 << 20;     // larger request bodies get 413
  std::size_t max_header_bytes = 16 << 10;  // larger request line + headers get 431
  // The whole request must arrive within this, counted from its first byte (from accept
  // for a connection's first request): the slowloris defence.
  std::chrono::milliseconds request_timeout{10000};
  // A keep-alive connection waiting for its next request is closed after this.
  std::chrono::milliseconds idle_timeout{60000};
  // The whole response must be sent within this (a client that stops reading).
  std::chrono::milliseconds write_timeout{30000};
  // Connections beyond this are accepted and closed at once.
  std::size_t max_connections = 512;
  // When set, the listener speaks only TLS (see MakeTlsContext); the handshake counts
  // against request_timeout. A plain HTTP request gets a 400 that says so. Shared, not
  // changed once the Server runs.
  std::shared_ptr<boost::asio::ssl::context> tls = nullptr;
  // Runs on the io thread before routing, for every request, and must be quick: a check
  // that takes long is returned as a DeferredCheck. Must not throw.
  std::function<GateResult(const Request&)> gate = nullptr;
  // Deferred checks run one at a time on one worker thread, so a flood of wrong passwords
  // costs at most one core; beyond this many waiting, requests get 429 at once.
  std::size_t max_deferred_checks = 32;
};

// A server context for a PEM certificate chain and private key: TLS 1.2 or newer, no
// compression, no renegotiation. nullptr with `error` set (naming the file, never key
// material) when a file cannot be read or the key does not match the certificate.
std::shared_ptr<boost::asio::ssl::context> MakeTlsContext(const std::string& cert_file,
                                                          const std::string& key_file,
                                                          std::string* error);

// One listening socket and its connections, all on one io_context. Listen(),
// LocalEndpoint() and the destructor run on the io thread or while the io_context is not
// running; Stop() may be called from any thread. Several Servers may share an io_context.
class Server {
 public:
  // `router` is borrowed and must outlive the Server.
  Server(boost::asio::io_context& io, const Router& router, ServerOptions options);
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens, then accepts as the io_context runs. Returns the error (address in
  // use, permission denied, ...) instead of throwing. On "::" it also accepts IPv4 where
  // the system allows. Call once; a second call or a call after Stop() fails.
  [[nodiscard]] boost::system::error_code Listen(const boost::asio::ip::tcp::endpoint& endpoint);

  // The bound address, e.g. the actual port after listening on port 0; default-constructed
  // when not listening.
  [[nodiscard]] boost::asio::ip::tcp::endpoint LocalEndpoint() const;

  // Stops accepting and closes connections that wait for or read a request; a response
  // being written is finished, then its connection closes. Final. Runs on the io thread:
  // immediately when called there, otherwise once the io_context gets to it.
  void Stop();

 private:
  struct Impl;
  // Shared with the connection coroutines, which may outlive the Server until the
  // io_context has run their last handlers.
  std::shared_ptr<Impl> impl_;
};

}  // namespace kpid::http
