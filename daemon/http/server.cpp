#include "daemon/http/server.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <limits>
#include <list>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>

#include "daemon/http/tls_files.hpp"

namespace kpid::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::size_t kReadChunk = 4096;
// Longest we drain a client's unread input before closing after a response (see
// LingeringClose).
constexpr std::chrono::milliseconds kMaxLinger{1000};
// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

auto Redirect(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// What Stop() needs of a connection, plain or TLS.
struct Tracked {
  beast::tcp_stream* tcp = nullptr;  // the lowest layer of the connection's stream
  // From a complete request until its response is sent; Stop() lets such a connection
  // finish instead of closing it.
  bool responding = false;
};

// Counts itself in `count` while it lives.
class CountWhileAlive {
 public:
  explicit CountWhileAlive(std::size_t& count) : count_(count) { ++count_; }
  ~CountWhileAlive() { --count_; }
  CountWhileAlive(const CountWhileAlive&) = delete;
  CountWhileAlive& operator=(const CountWhileAlive&) = delete;

 private:
  std::size_t& count_;
};

// Stream is beast::tcp_stream or TlsStream.
template <class Stream>
struct Connection : Tracked {
  template <class... Args>
  explicit Connection(Args&&... args) : stream(std::forward<Args>(args)...) {
    tcp = &beast::get_lowest_layer(stream);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Stream stream;
};

// Keeps a connection in the server's list for as long as its coroutine frame lives.
class Registration {
 public:
  Registration(std::list<Tracked*>& list, Tracked* connection)
      : list_(list), it_(list.insert(list.end(), connection)) {}
  ~Registration() { list_.erase(it_); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  std::list<Tracked*>& list_;
  std::list<Tracked*>::iterator it_;
};

// The response for a request that could not be read, or nullopt to just close (the peer
// went away or timed out).
std::optional<bhttp::status> StatusForReadError(const error_code& ec) {
  if (ec == bhttp::error::header_limit) return bhttp::status::request_header_fields_too_large;
  if (ec == bhttp::error::body_limit) return bhttp::status::payload_too_large;
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
      ec == bhttp::error::short_read) {
    return std::nullopt;
  }
  if (ec.category() == error_code(bhttp::error::bad_method).category()) {
    return bhttp::status::bad_request;
  }
  return std::nullopt;
}

std::string ReadErrorMessage(const error_code& ec, const ServerOptions& options) {
  if (ec == bhttp::error::header_limit) {
    return "request headers exceed " + std::to_string(options.max_header_bytes) + " bytes";
  }
  if (ec == bhttp::error::body_limit) {
    return "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes";
  }
  return "malformed request: " + ec.message();
}

bool ExpectsContinue(const Request& req) {
  return req.version() >= 11 && beast::iequals(req[bhttp::field::expect], "100-continue");
}

bool MustNotHaveBody(bhttp::status status) {
  return bhttp::to_status_class(status) == bhttp::status_class::informational ||
         status == bhttp::status::no_content || status == bhttp::status::not_modified;
}

// IMF-fixdate (RFC 9110 5.6.7), independent of the process locale.
std::string HttpDate(std::chrono::system_clock::time_point when) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t time = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&time, &tm);
  std::array<char, 40> text{};
  const int n = std::snprintf(text.data(), text.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                              kDays.at(static_cast<std::size_t>(tm.tm_wday)), tm.tm_mday,
                              kMonths.at(static_cast<std::size_t>(tm.tm_mon)), tm.tm_year + 1900,
                              tm.tm_hour, tm.tm_min, tm.tm_sec);
  return {text.data(), n > 0 ? static_cast<std::size_t>(n) : 0};
}

// Adds what every response carries: version, Server, Date, Connection and Content-Length.
void Finalize(const Request& req, Response& res, bool keep_alive) {
  res.version(req.version() == 10 ? 10 : 11);
  res.keep_alive(keep_alive);
  if (!keep_alive) res.set(bhttp::field::connection, "close");
  res.set(bhttp::field::server, "kpid");
  if (res.count(bhttp::field::date) == 0) {
    res.set(bhttp::field::date, HttpDate(std::chrono::system_clock::now()));
  }
  if (MustNotHaveBody(res.result())) res.body().clear();
  if (req.method() != bhttp::verb::head) {
    res.prepare_payload();
  } else if (!res.body().empty()) {
    res.content_length(res.body().size());
    res.body().clear();
  }
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, const Router& borrowed_router, ServerOptions server_options)
      : io(io_context),
        router(borrowed_router),
        options(std::move(server_options)),
        acceptor(io_context) {}

  error_code Listen(const tcp::endpoint& endpoint);
  void StopNow();
  asio::awaitable<Response> Answer(const Request& req);

  static asio::awaitable<void> AcceptLoop(std::shared_ptr<Impl> self);
  static asio::awaitable<void> Session(std::shared_ptr<Impl> self, tcp::socket socket);
  // The rest are awaited only from Session, whose frame owns the connection.
  // Serves requests until the connection ends; its timer is already set for the first.
  template <class Stream>
  asio::awaitable<void> Serve(Connection<Stream>& conn, beast::flat_buffer& buffer);
  template <class Stream>
  asio::awaitable<void> SendErrorAndClose(Stream& stream, bhttp::status status,
                                          std::string message);
  template <class Stream>
  asio::awaitable<void> LingeringClose(Stream& stream);

  asio::io_context& io;
  const Router& router;
  const ServerOptions options;
  tcp::acceptor acceptor;
  bool stopped = false;
  std::list<Tracked*> connections;
  std::size_t deferred_checks = 0;  // waiting for or running on `worker`
  // Declared last: destroyed (joined) first, before anything its checks might use.
  asio::thread_pool worker{1};
};

error_code Server::Impl::Listen(const tcp::endpoint& endpoint) {
  if (stopped) return asio::error::operation_aborted;
  if (acceptor.is_open()) return asio::error::already_open;
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
    error_code ignored;  // dual-stack is a bonus; IPv6-only systems refuse it
    acceptor.set_option(asio::ip::v6_only(false), ignored);
  }
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(tcp::socket::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    acceptor.close(ignored);
    return ec;
  }
  asio::co_spawn(io, AcceptLoop(shared_from_this()), [](const std::exception_ptr&) {});
  return {};
}

void Server::Impl::StopNow() {
  if (stopped) return;
  stopped = true;
  error_code ignored;
  acceptor.close(ignored);
  for (Tracked* conn : connections) {
    if (!conn->responding) conn->tcp->close();
  }
}

// GCC 12 with -O1 and sanitizers wrongly reports -Wmismatched-new-delete where a coroutine
// frame is freed through asio's sized operator delete.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

asio::awaitable<Response> Server::Impl::Answer(const Request& req) {
  try {
    GateResult verdict = options.gate ? options.gate(req) : GateResult{};
    if (Response* refused = std::get_if<Response>(&verdict)) co_return std::move(*refused);
    if (DeferredCheck* check = std::get_if<DeferredCheck>(&verdict)) {
      if (deferred_checks >= options.max_deferred_checks) {
        Response busy =
            JsonError(req, bhttp::status::too_many_requests, "too many credential checks waiting");
        busy.set(bhttp::field::retry_after, "1");
        co_return busy;
      }
      const CountWhileAlive waiting(deferred_checks);
      // On the worker thread; the completion resumes this coroutine on the io thread.
      const bool passes = co_await asio::co_spawn(
          worker, [&check]() -> asio::awaitable<bool> { co_return check->passes(); },
          asio::use_awaitable);
      if (!passes) co_return std::move(check->refusal);
    }
    co_return router.Dispatch(req);
  } catch (...) {
    // The handler's failure stays with this request; the daemon keeps serving.
  }
  co_return JsonError(req, bhttp::status::internal_server_error, "internal error");
}

asio::awaitable<void> Server::Impl::AcceptLoop(std::shared_ptr<Impl> self) {
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await self->acceptor.async_accept(Redirect(ec));
    if (self->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      asio::steady_timer backoff(self->io, kAcceptBackoff);
      co_await backoff.async_wait(Redirect(ec));
      continue;
    }
    if (self->connections.size() >= self->options.max_connections) {
      socket.close(ec);
      continue;
    }
    // Pipelined responses would otherwise wait for the client's delayed ACK.
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(self->io, Session(self, std::move(socket)), [](const std::exception_ptr&) {});
  }
}

asio::awaitable<void> Server::Impl::Session(std::shared_ptr<Impl> self, tcp::socket socket) {
  if (self->stopped) co_return;
  beast::flat_buffer buffer;
  if (!self->options.tls) {
    Connection<beast::tcp_stream> conn(std::move(socket));
    const Registration registration(self->connections, &conn);
    conn.tcp->expires_after(self->options.request_timeout);
    co_await self->Serve(conn, buffer);
    co_return;
  }
  Connection<TlsStream> conn(std::move(socket), *self->options.tls);
  const Registration registration(self->connections, &conn);
  // The handshake and the first request share request_timeout: a client that opens a
  // connection and never finishes the handshake is the TLS form of slowloris.
  conn.tcp->expires_after(self->options.request_timeout);
  error_code ec;
  const bool tls = co_await beast::async_detect_ssl(*conn.tcp, buffer, Redirect(ec));
  if (ec || self->stopped) co_return;
  if (!tls) {
    co_await self->SendErrorAndClose(
        *conn.tcp, bhttp::status::bad_request,
        "this port speaks HTTPS; the request was plain HTTP (use https://)");
    co_return;
  }
  const std::size_t used = co_await conn.stream.async_handshake(asio::ssl::stream_base::server,
                                                                buffer.data(), Redirect(ec));
  if (ec || self->stopped) co_return;
  buffer.consume(used);
  co_await self->Serve(conn, buffer);
}

template <class Stream>
asio::awaitable<void> Server::Impl::Serve(Connection<Stream>& conn, beast::flat_buffer& buffer) {
  const ServerOptions& opts = options;
  for (bool first = true;; first = false) {
    error_code ec;
    if (!first) {
      if (buffer.size() == 0) {
        // Keep-alive: the next request may take idle_timeout to start.
        conn.tcp->expires_after(opts.idle_timeout);
        const std::size_t n =
            co_await conn.stream.async_read_some(buffer.prepare(kReadChunk), Redirect(ec));
        if (ec || stopped) co_return;
        buffer.commit(n);
      }
      conn.tcp->expires_after(opts.request_timeout);
    }

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(opts.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(static_cast<std::uint64_t>(opts.max_body_bytes));
    co_await bhttp::async_read_header(conn.stream, buffer, parser, Redirect(ec));
    if (!ec && !parser.is_done() && ExpectsContinue(parser.get())) {
      bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
      co_await bhttp::async_write(conn.stream, go_on, Redirect(ec));
    }
    if (!ec && !parser.is_done()) {
      co_await bhttp::async_read(conn.stream, buffer, parser, Redirect(ec));
    }
    if (stopped) co_return;
    if (ec) {
      if (const std::optional<bhttp::status> status = StatusForReadError(ec)) {
        co_await SendErrorAndClose(conn.stream, *status, ReadErrorMessage(ec, opts));
      }
      co_return;
    }

    conn.responding = true;
    const Request req = parser.release();
    Response res = co_await Answer(req);
    const bool keep_alive = req.keep_alive() && res.keep_alive() && !stopped;
    Finalize(req, res, keep_alive);
    conn.tcp->expires_after(opts.write_timeout);
    co_await bhttp::async_write(conn.stream, res, Redirect(ec));
    conn.responding = false;
    if (ec || stopped) co_return;
    if (!keep_alive) {
      co_await LingeringClose(conn.stream);
      co_return;
    }
  }
}

template <class Stream>
asio::awaitable<void> Server::Impl::SendErrorAndClose(Stream& stream, bhttp::status status,
                                                      std::string message) {
  const Request placeholder{bhttp::verb::get, "/", 11};
  Response res = JsonError(placeholder, status, message);
  Finalize(placeholder, res, false);
  error_code ec;
  beast::get_lowest_layer(stream).expires_after(options.write_timeout);
  co_await bhttp::async_write(stream, res, Redirect(ec));
  if (!ec) co_await LingeringClose(stream);
}

// Closing a socket with unread input makes the kernel send RST, which can destroy the
// response still in flight to the client (e.g. a 413 while the client is still sending
// its body). So: send FIN, then discard input until the client closes or kMaxLinger.
// Over TLS, close_notify first, so the client can tell the end from a truncation.
template <class Stream>
asio::awaitable<void> Server::Impl::LingeringClose(Stream& stream) {
  error_code ec;
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  tcp.expires_after(std::min(options.request_timeout, kMaxLinger));
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    // Waits for the client's close_notify (or its close) within the same bound.
    co_await stream.async_shutdown(Redirect(ec));
    if (!tcp.socket().is_open()) co_return;
    ec = {};
  }
  tcp.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  std::array<char, kReadChunk> sink;
  while (!ec) {
    co_await tcp.async_read_some(asio::buffer(sink), Redirect(ec));
  }
}

#pragma GCC diagnostic pop

std::shared_ptr<asio::ssl::context> MakeTlsContext(const std::string& cert_file,
                                                   const std::string& key_file,
                                                   std::string* error) {
  // The same checks as the config validator, for its clear messages.
  if (std::optional<TlsFileError> bad = CheckTlsFiles(cert_file, key_file)) {
    *error = bad->message;
    return nullptr;
  }
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression |
                   asio::ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (!ec) ctx->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec || SSL_CTX_check_private_key(native) != 1) {
    *error = "cannot load TLS certificate \"" + cert_file + "\" and key \"" + key_file + "\"";
    return nullptr;
  }
  return ctx;
}

Server::Server(asio::io_context& io, const Router& router, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, router, std::move(options))) {}

Server::~Server() { impl_->StopNow(); }

error_code Server::Listen(const tcp::endpoint& endpoint) { return impl_->Listen(endpoint); }

tcp::endpoint Server::LocalEndpoint() const {
  error_code ec;
  tcp::endpoint endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? tcp::endpoint() : endpoint;
}

void Server::Stop() {
  asio::dispatch(impl_->io, [impl = impl_] { impl->StopNow(); });
}

}  // namespace kpid::http
