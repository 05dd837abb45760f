#include "daemon/http/server.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <boost/asio/buffer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/time.h>

namespace kpid::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

// Beast's SyncReadStream over a socket with SO_RCVTIMEO, so a misbehaving server fails
// the test instead of hanging it (asio's own sync reads would wait forever).
class TimedReader {
 public:
  explicit TimedReader(int fd) : fd_(fd) {}

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, error_code& ec) {
    const asio::mutable_buffer buffer = *asio::buffer_sequence_begin(buffers);
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n > 0) {
      ec = {};
      return static_cast<std::size_t>(n);
    }
    ec =
        n == 0 ? error_code(asio::error::eof) : error_code(errno, boost::system::system_category());
    return 0;
  }

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  int fd_;
};

// A raw HTTP client that can send anything, including malformed and partial requests.
class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(io_) {
    error_code ec;
    socket_.connect({asio::ip::address_v4::loopback(), port}, ec);
    connected_ = !ec;
    if (!connected_) return;
    const timeval timeout{5, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }

  [[nodiscard]] bool connected() const { return connected_; }

  void Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(socket_.native_handle(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;  // the server may have closed; the next read tells
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads one response; with `head` its body is not expected.
  std::optional<Response> Read(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(head);
    parser.body_limit(64 << 20);
    TimedReader reader(socket_.native_handle());
    error_code ec;
    bhttp::read(reader, buffer_, parser, ec);
    if (ec) {
      ADD_FAILURE() << "reading response: " << ec.message();
      return std::nullopt;
    }
    return parser.release();
  }

  std::optional<Response> RoundTrip(std::string_view raw, bool head = false) {
    Send(raw);
    return Read(head);
  }

  // True once the server has closed the connection (EOF or reset); false if it is still
  // open after the receive timeout. Discards whatever arrives first.
  bool WaitForClose() {
    char sink[4096];
    for (;;) {
      const ssize_t n = ::recv(socket_.native_handle(), sink, sizeof sink, 0);
      if (n == 0) return true;
      if (n > 0) continue;
      if (errno == EINTR) continue;
      return errno == ECONNRESET;
    }
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  bool connected_ = false;
  boost::beast::flat_buffer buffer_;
};

nlohmann::json BodyOf(const Response& res) { return nlohmann::json::parse(res.body()); }

std::string HeaderOf(const Response& res, bhttp::field field) { return std::string(res[field]); }

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" +
         std::string(extra_headers) + "\r\n";
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    router_.Add(bhttp::verb::get, "/api/v1/kpis/{name}",
                [](const Request& req, const PathParams& params) {
                  return JsonResponse(req, bhttp::status::ok,
                                      nlohmann::json{{"name", params.at("name")}}.dump());
                });
    router_.Add(bhttp::verb::get, "/hello", [](const Request& req, const PathParams&) {
      return MakeResponse(req, bhttp::status::ok, "text/plain", "hello");
    });
    router_.Add(bhttp::verb::post, "/echo", [](const Request& req, const PathParams&) {
      return MakeResponse(req, bhttp::status::ok, "text/plain", req.body());
    });
    router_.Add(bhttp::verb::get, "/boom", [](const Request&, const PathParams&) -> Response {
      throw std::runtime_error("handler failed");
    });
    router_.Add(bhttp::verb::post, "/stop", [this](const Request& req, const PathParams&) {
      server_->Stop();  // on the io thread: takes effect before this response is sent
      return JsonResponse(req, bhttp::status::accepted, "{}");
    });
  }

  ~HttpServerTest() override { StopIo(); }

  void Start(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(io_, router_, options);
    ASSERT_FALSE(server_->Listen({asio::ip::address_v4::loopback(), 0}));
    port_ = server_->LocalEndpoint().port();
    ASSERT_NE(port_, 0);
    thread_ = std::thread([this] { io_.run(); });
  }

  // Runs `f` on the io thread and waits for it.
  void RunOnIo(std::function<void()> f) {
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> finished = done->get_future();
    asio::post(io_, [f = std::move(f), done] {
      f();
      done->set_value();
    });
    ASSERT_EQ(finished.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "io thread is not running";
  }

  void StopIo() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  asio::io_context io_;
  // Keeps the io thread up after a Server stops, so a test can still RunOnIo.
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  Router router_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(HttpServerTest, RoutesWithPercentDecodedParams) {
  Start();
  Client client(port_);
  const std::optional<Response> res = client.RoundTrip(Get("/api/v1/kpis/revenue%20eu?since=x"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bhttp::status::ok);
  EXPECT_EQ(BodyOf(*res)["name"], "revenue eu");
  EXPECT_EQ(HeaderOf(*res, bhttp::field::server), "kpid");
  EXPECT_EQ(HeaderOf(*res, bhttp::field::content_type), "application/json");
  EXPECT_EQ(HeaderOf(*res, bhttp::field::content_length), std::to_string(res->body().size()));
  EXPECT_THAT(HeaderOf(*res, bhttp::field::date),
              testing::MatchesRegex("[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} "
                                    "[0-9]{2}:[0-9]{2}:[0-9]{2} GMT"));
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405) {
  Start();
  Client client(port_);
  const std::optional<Response> missing = client.RoundTrip(Get("/nope"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->result(), bhttp::status::not_found);
  EXPECT_EQ(HeaderOf(*missing, bhttp::field::content_type), "application/json");
  EXPECT_TRUE(BodyOf(*missing)["error"].is_string());

  const std::optional<Response> wrong =
      client.RoundTrip("DELETE /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(HeaderOf(*wrong, bhttp::field::allow), "GET, HEAD");
  EXPECT_TRUE(BodyOf(*wrong)["error"].is_string());
}

TEST_F(HttpServerTest, HeadSendsHeadersOnly) {
  Start();
  Client client(port_);
  const std::optional<Response> head =
      client.RoundTrip("HEAD /hello HTTP/1.1\r\nHost: localhost\r\n\r\n", /*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->result(), bhttp::status::ok);
  EXPECT_EQ(HeaderOf(*head, bhttp::field::content_length), "5");
  // Had the server sent a body after the HEAD response, this one would not parse.
  const std::optional<Response> get = client.RoundTrip(Get("/hello"));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body(), "hello");
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start();
  Client client(port_);
  for (int i = 0; i < 2; ++i) {
    const std::optional<Response> res = client.RoundTrip(Get("/hello"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body(), "hello");
    EXPECT_TRUE(res->keep_alive());
  }
  // Pipelined: two requests in one write.
  client.Send(Get("/hello") + Get("/api/v1/kpis/x"));
  const std::optional<Response> first = client.Read();
  const std::optional<Response> second = client.Read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body(), "hello");
  EXPECT_EQ(BodyOf(*second)["name"], "x");
}

TEST_F(HttpServerTest, ClosesWhenTheClientAsks) {
  Start();
  Client client(port_);
  const std::optional<Response> res = client.RoundTrip(Get("/hello", "Connection: close\r\n"));
  ASSERT_TRUE(res);
  EXPECT_EQ(HeaderOf(*res, bhttp::field::connection), "close");
  EXPECT_TRUE(client.WaitForClose());

  Client old(port_);
  const std::optional<Response> res10 = old.RoundTrip("GET /hello HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(res10);
  EXPECT_EQ(res10->version(), 10);
  EXPECT_EQ(res10->body(), "hello");
  EXPECT_TRUE(old.WaitForClose());
}

TEST_F(HttpServerTest, PostBodyReachesHandlerWithAndWithoutExpectContinue) {
  Start();
  Client client(port_);
  const std::optional<Response> plain =
      client.RoundTrip("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nping");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->body(), "ping");

  const std::optional<Response> go_on = client.RoundTrip(
      "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n"
      "Expect: 100-continue\r\n\r\n");
  ASSERT_TRUE(go_on);
  EXPECT_EQ(go_on->result(), bhttp::status::continue_);
  const std::optional<Response> echoed = client.RoundTrip("pong");
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->body(), "pong");

  const std::optional<Response> chunked = client.RoundTrip(
      "POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->body(), "abcde");
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  Start({.max_body_bytes = 16});
  Client declared(port_);
  const std::optional<Response> res =
      declared.RoundTrip("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n" +
                         std::string(1000, 'x'));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bhttp::status::payload_too_large);
  EXPECT_TRUE(BodyOf(*res)["error"].is_string());
  EXPECT_EQ(HeaderOf(*res, bhttp::field::connection), "close");
  EXPECT_TRUE(declared.WaitForClose());

  Client chunked(port_);
  const std::optional<Response> res2 = chunked.RoundTrip(
      "POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
      "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n");
  ASSERT_TRUE(res2);
  EXPECT_EQ(res2->result(), bhttp::status::payload_too_large);
}

TEST_F(HttpServerTest, OversizedHeadersAre431) {
  Start({.max_header_bytes = 1024});
  Client client(port_);
  const std::optional<Response> res =
      client.RoundTrip(Get("/hello", "X-Padding: " + std::string(4000, 'a') + "\r\n"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bhttp::status::request_header_fields_too_large);
  EXPECT_TRUE(BodyOf(*res)["error"].is_string());
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(HttpServerTest, GarbageIs400) {
  Start();
  for (std::string_view garbage :
       {std::string_view("NOT HTTP AT ALL\r\n\r\n"), std::string_view("\x01\x02\x03\r\n\r\n"),
        std::string_view("GET /hello HTTP/1.1\r\nContent-Length: nope\r\n\r\n")}) {
    Client client(port_);
    const std::optional<Response> res = client.RoundTrip(garbage);
    ASSERT_TRUE(res) << garbage;
    EXPECT_EQ(res->result(), bhttp::status::bad_request) << garbage;
    EXPECT_EQ(HeaderOf(*res, bhttp::field::content_type), "application/json");
    EXPECT_TRUE(BodyOf(*res)["error"].is_string());
    EXPECT_TRUE(client.WaitForClose());
  }
}

TEST_F(HttpServerTest, SlowClientIsDisconnected) {
  Start({.request_timeout = std::chrono::milliseconds(300)});
  Client partial(port_);
  partial.Send("GET /hello HTTP/1.1\r\nHo");
  Client silent(port_);
  EXPECT_TRUE(partial.WaitForClose());
  EXPECT_TRUE(silent.WaitForClose());
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  Start({.idle_timeout = std::chrono::milliseconds(300)});
  Client client(port_);
  ASSERT_TRUE(client.RoundTrip(Get("/hello")));
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(HttpServerTest, ThrowingHandlerIs500AndServingGoesOn) {
  Start();
  Client client(port_);
  const std::optional<Response> res = client.RoundTrip(Get("/boom"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bhttp::status::internal_server_error);
  EXPECT_EQ(res->body(), R"({"error":"internal error"})");
  const std::optional<Response> next = client.RoundTrip(Get("/hello"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body(), "hello");
}

// A gate that defers requests carrying "Authorization: slow" to a check that blocks until
// the test releases it with the answer.
struct BlockingCheck {
  std::promise<bool> release;
  std::shared_future<bool> answer = release.get_future().share();
  std::atomic<int> entered{0};

  bool WaitUntilEntered(int times) const {
    for (int i = 0; i < 1000 && entered < times; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return entered >= times;
  }

  ServerOptions Options(std::size_t max_waiting = 32) {
    ServerOptions options;
    options.max_deferred_checks = max_waiting;
    options.gate = [this](const Request& req) -> GateResult {
      if (req[bhttp::field::authorization] != "slow") return {};
      return DeferredCheck{.passes =
                               [this] {
                                 ++entered;
                                 return answer.get();
                               },
                           .refusal = JsonError(req, bhttp::status::unauthorized, "no")};
    };
    return options;
  }
};

TEST_F(HttpServerTest, ADeferredCheckDoesNotHoldUpOtherConnections) {
  BlockingCheck check;
  Start(check.Options());
  Client slow(port_);
  slow.Send(Get("/hello", "Authorization: slow\r\n"));
  ASSERT_TRUE(check.WaitUntilEntered(1));
  Client other(port_);
  const std::optional<Response> quick = other.RoundTrip(Get("/hello"));
  ASSERT_TRUE(quick);
  EXPECT_EQ(quick->body(), "hello");
  check.release.set_value(true);
  const std::optional<Response> admitted = slow.Read();
  ASSERT_TRUE(admitted);
  EXPECT_EQ(admitted->body(), "hello");
}

TEST_F(HttpServerTest, DeferredChecksBeyondTheLimitAre429AndAFailedOneGetsTheRefusal) {
  BlockingCheck check;
  Start(check.Options(1));
  Client first(port_);
  first.Send(Get("/hello", "Authorization: slow\r\n"));
  ASSERT_TRUE(check.WaitUntilEntered(1));
  Client second(port_);
  const std::optional<Response> busy = second.RoundTrip(Get("/hello", "Authorization: slow\r\n"));
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->result(), bhttp::status::too_many_requests);
  EXPECT_EQ(HeaderOf(*busy, bhttp::field::retry_after), "1");
  check.release.set_value(false);
  const std::optional<Response> refused = first.Read();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->result(), bhttp::status::unauthorized);
  // The slot is free again, and the check (answering false from now on) runs again.
  const std::optional<Response> again = second.RoundTrip(Get("/hello", "Authorization: slow\r\n"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result(), bhttp::status::unauthorized);
  EXPECT_EQ(check.entered, 2);
}

TEST_F(HttpServerTest, ListenReportsErrorsInsteadOfThrowing) {
  asio::io_context other;
  const tcp::acceptor taken(other, {asio::ip::address_v4::loopback(), 0});
  Server server(io_, router_, {});
  EXPECT_EQ(server.Listen(taken.local_endpoint()), asio::error::address_in_use);
  EXPECT_EQ(server.LocalEndpoint(), tcp::endpoint());

  ASSERT_FALSE(server.Listen({asio::ip::address_v4::loopback(), 0}));
  EXPECT_EQ(server.Listen({asio::ip::address_v4::loopback(), 0}), asio::error::already_open);
}

TEST_F(HttpServerTest, StopClosesConnectionsAndRefusesNewOnes) {
  Start();
  Client idle(port_);
  ASSERT_TRUE(idle.RoundTrip(Get("/hello")));
  Client partial(port_);
  partial.Send("GET /hel");
  RunOnIo([this] { server_->Stop(); });
  EXPECT_TRUE(idle.WaitForClose());
  EXPECT_TRUE(partial.WaitForClose());
  EXPECT_FALSE(Client(port_).connected());
  RunOnIo([this] {
    EXPECT_EQ(server_->LocalEndpoint(), tcp::endpoint());
    EXPECT_TRUE(server_->Listen({asio::ip::address_v4::loopback(), 0}));
  });
}

TEST_F(HttpServerTest, StopFromAnotherThread) {
  Start();
  Client idle(port_);
  ASSERT_TRUE(idle.RoundTrip(Get("/hello")));
  server_->Stop();
  EXPECT_TRUE(idle.WaitForClose());
}

TEST_F(HttpServerTest, ResponseInFlightFinishesAfterStop) {
  Start();
  Client client(port_);
  const std::optional<Response> res =
      client.RoundTrip("POST /stop HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bhttp::status::accepted);
  EXPECT_EQ(HeaderOf(*res, bhttp::field::connection), "close");
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitAreClosed) {
  Start({.max_connections = 1});
  Client first(port_);
  ASSERT_TRUE(first.RoundTrip(Get("/hello")));
  Client second(port_);
  EXPECT_TRUE(second.WaitForClose());
  const std::optional<Response> again = first.RoundTrip(Get("/hello"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body(), "hello");
}

TEST_F(HttpServerTest, TwoServersRunSideBySide) {
  Router other_router;
  other_router.Add(bhttp::verb::get, "/hello", [](const Request& req, const PathParams&) {
    return MakeResponse(req, bhttp::status::ok, "text/plain", "other");
  });
  auto other = std::make_unique<Server>(io_, other_router, ServerOptions{});
  ASSERT_FALSE(other->Listen({asio::ip::address_v4::loopback(), 0}));
  const std::uint16_t other_port = other->LocalEndpoint().port();
  Start();

  Client a(port_);
  Client b(other_port);
  const std::optional<Response> from_a = a.RoundTrip(Get("/hello"));
  const std::optional<Response> from_b = b.RoundTrip(Get("/hello"));
  ASSERT_TRUE(from_a && from_b);
  EXPECT_EQ(from_a->body(), "hello");
  EXPECT_EQ(from_b->body(), "other");

  RunOnIo([&] { other->Stop(); });
  EXPECT_TRUE(b.WaitForClose());
  const std::optional<Response> still_a = a.RoundTrip(Get("/hello"));
  ASSERT_TRUE(still_a);
  EXPECT_EQ(still_a->body(), "hello");
  StopIo();
  other.reset();
}

}  // namespace
}  // namespace kpid::http
