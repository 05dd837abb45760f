#include "tests/support/http_test_server.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <zlib.h>

#include "tests/support/process.hpp"

namespace kpid::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

auto Redirect(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

bool IEquals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::string HttpTestRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (IEquals(key, name)) return value;
  }
  return {};
}

HttpTestResponse HttpTestResponse::Json(std::string body, unsigned status) {
  HttpTestResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

HttpTestResponse HttpTestResponse::Text(std::string body, unsigned status) {
  HttpTestResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain");
  r.body = std::move(body);
  return r;
}

std::string Gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  // zlib's API is not const-correct; it does not write through next_in.
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

class HttpTestServer::Impl {
 public:
  Impl(HttpTestServer& owner, Handler handler, std::optional<Tls> tls, std::uint16_t port = 0)
      : owner_(owner), handler_(std::move(handler)) {
    if (tls) {
      ssl_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      ssl_->use_certificate_chain_file(tls->certificate.string());
      ssl_->use_private_key_file(tls->private_key.string(), asio::ssl::context::pem);
    }
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Impl() {
    asio::post(io_, [this] {
      error_code ignored;
      acceptor_.close(ignored);
    });
    io_.stop();
    thread_.join();
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(Redirect(ec));
      if (ec) {
        if (!acceptor_.is_open()) co_return;
        continue;
      }
      ++owner_.connection_count_;
      asio::co_spawn(io_, Session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    try {
      if (!ssl_) {
        co_await Exchange(socket);
        co_return;
      }
      asio::ssl::stream<tcp::socket> stream(std::move(socket), *ssl_);
      error_code ec;
      co_await stream.async_handshake(asio::ssl::stream_base::server, Redirect(ec));
      if (ec) co_return;  // e.g. the client did not trust the certificate
      co_await Exchange(stream);
    } catch (const std::exception&) {
      // A broken connection ends its session only.
    }
  }

  template <typename Stream>
  asio::awaitable<void> Exchange(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      error_code ec;
      co_await http::async_read(stream, buffer, request, Redirect(ec));
      if (ec) co_return;

      HttpTestRequest seen;
      seen.method = std::string(request.method_string());
      seen.target = std::string(request.target());
      for (const auto& field : request) {
        seen.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      seen.body = request.body();
      ++owner_.request_count_;
      const std::size_t now = ++owner_.in_flight_;
      std::size_t max = owner_.max_in_flight_.load();
      while (now > max && !owner_.max_in_flight_.compare_exchange_weak(max, now)) {
      }
      {
        const std::lock_guard lock(owner_.mutex_);
        owner_.requests_.push_back(seen);
      }

      HttpTestResponse answer;
      try {
        answer = handler_(seen);
      } catch (const std::exception& e) {
        answer = HttpTestResponse::Text(std::string("handler threw: ") + e.what(), 500);
      }
      asio::steady_timer timer(io_);
      if (answer.release) {
        const auto deadline = std::chrono::steady_clock::now() + answer.delay;
        while (!answer.release() && std::chrono::steady_clock::now() < deadline) {
          timer.expires_after(std::chrono::milliseconds(5));
          co_await timer.async_wait(Redirect(ec));
        }
      } else if (answer.delay > std::chrono::milliseconds::zero()) {
        timer.expires_after(answer.delay);
        co_await timer.async_wait(Redirect(ec));
      }
      --owner_.in_flight_;
      if (answer.close) co_return;

      http::response<http::string_body> response(static_cast<http::status>(answer.status),
                                                 request.version());
      response.set(http::field::server, "kpid-test");
      for (const auto& [name, value] : answer.headers) response.set(name, value);
      if (answer.gzip) {
        response.set(http::field::content_encoding, "gzip");
        response.body() = Gzip(answer.body);
      } else {
        response.body() = std::move(answer.body);
      }
      response.keep_alive(request.keep_alive());
      if (answer.chunked) {
        response.chunked(true);
      } else {
        response.prepare_payload();
      }
      co_await http::async_write(stream, response, Redirect(ec));
      if (ec || !request.keep_alive()) co_return;
    }
  }

  HttpTestServer& owner_;
  Handler handler_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::unique_ptr<asio::ssl::context> ssl_;
  std::uint16_t port_ = 0;
  std::thread thread_;  // last: started once everything above exists
};

HttpTestServer::HttpTestServer(Handler handler)
    : impl_(std::make_unique<Impl>(*this, std::move(handler), std::nullopt)) {
  port_ = impl_->port();
}

HttpTestServer::HttpTestServer(Handler handler, Tls tls)
    : tls_(true), impl_(std::make_unique<Impl>(*this, std::move(handler), std::move(tls))) {
  port_ = impl_->port();
}

HttpTestServer::HttpTestServer(Handler handler, std::uint16_t port)
    : impl_(std::make_unique<Impl>(*this, std::move(handler), std::nullopt, port)) {
  port_ = impl_->port();
}

HttpTestServer::~HttpTestServer() { impl_.reset(); }

std::string HttpTestServer::Url(std::string_view path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
         std::string(path);
}

std::vector<HttpTestRequest> HttpTestServer::Requests() const {
  const std::lock_guard lock(mutex_);
  return requests_;
}

bool MakeSelfSignedCertificate(const std::filesystem::path& dir, HttpTestServer::Tls& out,
                               std::string* error) {
  out.certificate = dir / "cert.pem";
  out.private_key = dir / "key.pem";
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
      " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
      out.private_key.string() + "' -out '" + out.certificate.string() + "' 2>&1";
  std::string output;
  const int status = RunCommand(command, &output);
  if (status != 0 && error != nullptr)
    *error = "openssl failed (" + std::to_string(status) + "): " + output;
  return status == 0;
}

}  // namespace kpid::testing
