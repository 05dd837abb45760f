// TLS on the listener and the basic-auth building blocks: real OpenSSL clients against a
// Server on 127.0.0.1 with a self-signed certificate made by the openssl CLI.
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon/http/basic_auth.hpp"
#include "daemon/http/server.hpp"
#include "daemon/http/tls_files.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"

namespace kpid::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using ::testing::HasSubstr;

// A TCP connection to 127.0.0.1 whose reads give up after 5 s (so a server that fails to
// close does not hang the test).
class Socket {
 public:
  explicit Socket(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    const timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  bool connected() const { return connected_; }
  void Send(std::string_view data) const {
    (void)::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
  }
  // True once the peer closed (EOF or reset); false when still open after 5 s.
  bool WaitForClose() const {
    char sink[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, sink, sizeof sink, 0);
      if (n == 0) return true;
      if (n > 0) continue;
      if (errno == EINTR) continue;
      return errno == ECONNRESET;
    }
  }
  std::string ReadAll() const {
    std::string out;
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return out;
      out.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

// An OpenSSL client that verifies the server against `ca` and the name 127.0.0.1.
class TlsClient {
 public:
  TlsClient(std::uint16_t port, const std::filesystem::path& ca, int max_version = 0)
      : socket_(port), ctx_(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free) {
    SSL_CTX_load_verify_locations(ctx_.get(), ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    if (max_version != 0) {
      SSL_CTX_set_security_level(ctx_.get(), 0);  // let the client offer old versions
      SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
    }
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), socket_.fd());
    SSL_set1_host(ssl_.get(), "127.0.0.1");
    handshake_ok_ = socket_.connected() && SSL_connect(ssl_.get()) == 1;
    ERR_clear_error();
  }

  bool handshake_ok() const { return handshake_ok_; }
  std::string version() const { return SSL_get_version(ssl_.get()); }

  void Send(std::string_view data) {
    (void)SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()));
  }

  // Beast's SyncReadStream over SSL_read.
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, error_code& ec) {
    const asio::mutable_buffer buffer = *asio::buffer_sequence_begin(buffers);
    const int n = SSL_read(ssl_.get(), buffer.data(), static_cast<int>(buffer.size()));
    if (n > 0) {
      ec = {};
      return static_cast<std::size_t>(n);
    }
    ec = asio::error::eof;
    return 0;
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  std::optional<Response> RoundTrip(std::string_view raw) {
    Send(raw);
    bhttp::response_parser<bhttp::string_body> parser;
    error_code ec;
    bhttp::read(*this, buffer_, parser, ec);
    if (ec) return std::nullopt;
    return parser.release();
  }

  // True once the server closed (close_notify, EOF, reset); false when still open after
  // the socket's 5 s receive timeout.
  bool WaitForClose() {
    char sink[4096];
    for (;;) {
      const int n = SSL_read(ssl_.get(), sink, sizeof sink);
      if (n > 0) continue;
      const int error = SSL_get_error(ssl_.get(), n);
      ERR_clear_error();
      if (error == SSL_ERROR_WANT_READ) return false;
      if (error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      return true;
    }
  }

 private:
  Socket socket_;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_;
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl_{nullptr, &SSL_free};
  bool handshake_ok_ = false;
  boost::beast::flat_buffer buffer_;
};

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" +
         std::string(extra_headers) + "\r\n";
}

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(testing::MakeSelfSignedCertificate(dir_.path(), tls_, &error)) << error;
    router_.Add(bhttp::verb::get, "/hello", [](const Request& req, const PathParams&) {
      return MakeResponse(req, bhttp::status::ok, "text/plain", "hello");
    });
    router_.Add(bhttp::verb::post, "/echo", [](const Request& req, const PathParams&) {
      return MakeResponse(req, bhttp::status::ok, "text/plain", req.body());
    });
  }
  ~TlsServerTest() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  void Start(ServerOptions options = {}) {
    std::string error;
    options.tls = MakeTlsContext(tls_.certificate.string(), tls_.private_key.string(), &error);
    ASSERT_TRUE(options.tls) << error;
    server_ = std::make_unique<Server>(io_, router_, options);
    ASSERT_FALSE(server_->Listen({asio::ip::address_v4::loopback(), 0}));
    port_ = server_->LocalEndpoint().port();
    thread_ = std::thread([this] { io_.run(); });
  }

  testing::TempDir dir_;
  testing::HttpTestServer::Tls tls_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  Router router_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(TlsServerTest, ServesRequestsOverTlsWithKeepAlive) {
  Start();
  TlsClient client(port_, tls_.certificate);
  ASSERT_TRUE(client.handshake_ok());
  EXPECT_THAT(client.version(), ::testing::AnyOf("TLSv1.2", "TLSv1.3"));
  for (int i = 0; i < 3; ++i) {
    std::optional<Response> res = client.RoundTrip(Get("/hello"));
    ASSERT_TRUE(res) << "request " << i;
    EXPECT_EQ(res->result(), bhttp::status::ok);
    EXPECT_EQ(res->body(), "hello");
  }
}

TEST_F(TlsServerTest, CurlVerifiesTheCertificateAndGetsTheResponse) {
  Start();
  std::string output;
  const int status =
      testing::RunCommand("curl -sS --max-time 10 --cacert '" + tls_.certificate.string() +
                              "' https://127.0.0.1:" + std::to_string(port_) + "/hello",
                          &output);
  if (status == 127) GTEST_SKIP() << "curl is not installed (deploy/install-deps.sh)";
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "hello");
}

TEST_F(TlsServerTest, PlainHttpToTheTlsPortGetsAClear400AndIsClosed) {
  Start();
  Socket plain(port_);
  ASSERT_TRUE(plain.connected());
  plain.Send(Get("/hello"));
  const std::string answer = plain.ReadAll();
  EXPECT_THAT(answer, ::testing::StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(answer, HasSubstr("this port speaks HTTPS"));
  // The server still serves TLS clients.
  TlsClient client(port_, tls_.certificate);
  ASSERT_TRUE(client.handshake_ok());
  EXPECT_TRUE(client.RoundTrip(Get("/hello")));
}

TEST_F(TlsServerTest, ClientThatNeverFinishesTheHandshakeIsClosed) {
  Start({.request_timeout = std::chrono::milliseconds(300)});
  Socket silent(port_);   // TCP only, no ClientHello
  Socket partial(port_);  // the first bytes of a TLS record, then nothing
  partial.Send(std::string("\x16\x03\x01", 3));
  TlsClient slow(port_, tls_.certificate);  // a handshake, then half a request
  ASSERT_TRUE(slow.handshake_ok());
  slow.Send("GET /hello HTTP/1.1\r\nHo");
  EXPECT_TRUE(silent.WaitForClose());
  EXPECT_TRUE(partial.WaitForClose());
  EXPECT_TRUE(slow.WaitForClose());
}

TEST_F(TlsServerTest, LimitsHoldOverTls) {
  Start({.max_body_bytes = 1000, .max_header_bytes = 2000});
  {
    TlsClient client(port_, tls_.certificate);
    ASSERT_TRUE(client.handshake_ok());
    std::optional<Response> res =
        client.RoundTrip(Get("/hello", "X-Big: " + std::string(4000, 'x') + "\r\n"));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), bhttp::status::request_header_fields_too_large);
  }
  {
    TlsClient client(port_, tls_.certificate);
    ASSERT_TRUE(client.handshake_ok());
    const std::string body(5000, 'b');
    std::optional<Response> res = client.RoundTrip(
        "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), bhttp::status::payload_too_large);
  }
  TlsClient client(port_, tls_.certificate);
  ASSERT_TRUE(client.handshake_ok());
  std::optional<Response> res =
      client.RoundTrip("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "hello");
}

TEST_F(TlsServerTest, RefusesVersionsBelowTls12) {
  Start();
  TlsClient old(port_, tls_.certificate, TLS1_1_VERSION);
  EXPECT_FALSE(old.handshake_ok());
  TlsClient tls12(port_, tls_.certificate, TLS1_2_VERSION);
  ASSERT_TRUE(tls12.handshake_ok());
  EXPECT_EQ(tls12.version(), "TLSv1.2");
}

TEST_F(TlsServerTest, GateAnswersBeforeRouting) {
  Start({.gate = [](const Request& req) -> GateResult {
    if (req[bhttp::field::authorization] == "let me in") return {};
    return JsonError(req, bhttp::status::unauthorized, "no");
  }});
  TlsClient client(port_, tls_.certificate);
  ASSERT_TRUE(client.handshake_ok());
  std::optional<Response> refused = client.RoundTrip(Get("/hello"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->result(), bhttp::status::unauthorized);
  std::optional<Response> admitted =
      client.RoundTrip(Get("/hello", "Authorization: let me in\r\n"));
  ASSERT_TRUE(admitted);
  EXPECT_EQ(admitted->body(), "hello");
}

TEST(TlsFilesTest, RejectsUnreadableFilesAndAKeyOfAnotherCertificate) {
  testing::TempDir a;
  testing::TempDir b;
  testing::HttpTestServer::Tls first;
  testing::HttpTestServer::Tls second;
  std::string error;
  ASSERT_TRUE(testing::MakeSelfSignedCertificate(a.path(), first, &error)) << error;
  ASSERT_TRUE(testing::MakeSelfSignedCertificate(b.path(), second, &error)) << error;
  EXPECT_FALSE(CheckTlsFiles(first.certificate.string(), first.private_key.string()));

  auto mismatch = CheckTlsFiles(first.certificate.string(), second.private_key.string());
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->file, TlsFileError::File::kKey);
  EXPECT_THAT(mismatch->message, HasSubstr("does not match"));
  EXPECT_FALSE(MakeTlsContext(first.certificate.string(), second.private_key.string(), &error));
  EXPECT_THAT(error, HasSubstr("does not match"));

  auto missing = CheckTlsFiles((a.path() / "nope.pem").string(), first.private_key.string());
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->file, TlsFileError::File::kCert);
  EXPECT_THAT(missing->message, HasSubstr("cannot read file"));

  // A key where the certificate belongs, and the key's content never in the message.
  auto swapped = CheckTlsFiles(first.private_key.string(), first.private_key.string());
  ASSERT_TRUE(swapped);
  EXPECT_EQ(swapped->file, TlsFileError::File::kCert);
  EXPECT_THAT(swapped->message, ::testing::Not(HasSubstr("PRIVATE KEY")));
}

std::string BasicHeader(std::string_view user_password) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < user_password.size(); i += 3) {
    const auto n = (static_cast<unsigned>(static_cast<unsigned char>(user_password[i])) << 16) |
                   (static_cast<unsigned>(static_cast<unsigned char>(user_password[i + 1])) << 8) |
                   static_cast<unsigned char>(user_password[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(n >> shift) & 63];
  }
  if (i < user_password.size()) {
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(user_password[i])) << 16;
    if (i + 1 < user_password.size()) {
      n |= static_cast<unsigned>(static_cast<unsigned char>(user_password[i + 1])) << 8;
    }
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < user_password.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return "Basic " + out;
}

TEST(BcryptHashTest, AcceptsBcryptAndRejectsTheRest) {
  EXPECT_FALSE(CheckBcryptHash("$2y$10$bg1ztMU91iANtx/1feGIO.el4hNjdgl4dknsq.AE3cUE38zN2ANUa"));
  EXPECT_FALSE(CheckBcryptHash("$2b$04$bg1ztMU91iANtx/1feGIO.el4hNjdgl4dknsq.AE3cUE38zN2ANUa"));
  EXPECT_TRUE(CheckBcryptHash(""));
  EXPECT_TRUE(CheckBcryptHash("hunter2"));
  EXPECT_TRUE(
      CheckBcryptHash("$6$salt$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz012345"));
  EXPECT_TRUE(CheckBcryptHash("$2y$03$bg1ztMU91iANtx/1feGIO.el4hNjdgl4dknsq.AE3cUE38zN2ANUa"));
  EXPECT_TRUE(CheckBcryptHash("$2y$10$bg1ztMU91iANtx/1feGIO.el4hNjdgl4dknsq.AE3cUE38zN2ANU"));
  EXPECT_TRUE(CheckBcryptHash("$2y$10$bg1ztMU91iANtx/1feGIO.el4hNjdgl4dknsq.AE3cUE38zN2AN!a"));
  const std::string made = MakeBcryptHash("secret", 4);
  EXPECT_FALSE(CheckBcryptHash(made)) << made;
}

TEST(BasicAuthTest, VerifiesRightWrongMissingAndUnknownCredentials) {
  const BasicAuth auth({{"prometheus", MakeBcryptHash("s3cret:with colon", 4)},
                        {"grafana", MakeBcryptHash("other", 4)}});
  EXPECT_TRUE(auth.Verify(BasicHeader("prometheus:s3cret:with colon")));
  EXPECT_TRUE(auth.Verify("basic " + BasicHeader("grafana:other").substr(6)));
  EXPECT_FALSE(auth.Verify(BasicHeader("prometheus:wrong")));
  EXPECT_FALSE(auth.Verify(BasicHeader("grafana:s3cret:with colon")));
  EXPECT_FALSE(auth.Verify(BasicHeader("nobody:other")));
  EXPECT_FALSE(auth.Verify(BasicHeader("prometheus")));
  EXPECT_FALSE(auth.Verify(""));
  EXPECT_FALSE(auth.Verify("Bearer abc"));
  EXPECT_FALSE(auth.Verify("Basic !!!!"));
  EXPECT_FALSE(BasicAuth({}).Verify(BasicHeader("prometheus:s3cret")));
}

TEST(BasicAuthTest, RemembersSuccessesButNotFailures) {
  const BasicAuth auth({{"prometheus", MakeBcryptHash("s3cret", 4)}});
  ASSERT_TRUE(auth.Verify(BasicHeader("prometheus:s3cret")));
  const std::size_t after_first = auth.bcrypt_runs();
  EXPECT_EQ(after_first, 1U);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(auth.Verify(BasicHeader("prometheus:s3cret")));
  EXPECT_EQ(auth.bcrypt_runs(), after_first);
  EXPECT_FALSE(auth.Verify(BasicHeader("prometheus:wrong")));
  EXPECT_FALSE(auth.Verify(BasicHeader("prometheus:wrong")));
  EXPECT_EQ(auth.bcrypt_runs(), after_first + 2);
  // An unknown user runs bcrypt too (timing does not reveal users) and is not cached.
  EXPECT_FALSE(auth.Verify(BasicHeader("nobody:s3cret")));
  EXPECT_FALSE(auth.Verify(BasicHeader("nobody:s3cret")));
  EXPECT_EQ(auth.bcrypt_runs(), after_first + 4);
}

TEST(BasicAuthTest, VerifyCachedNeverRunsBcrypt) {
  const BasicAuth auth({{"prometheus", MakeBcryptHash("s3cret", 4)}});
  // Headers that cannot pass are refused at once; a password only bcrypt can judge is not.
  EXPECT_EQ(auth.VerifyCached("Bearer token"), false);
  EXPECT_EQ(auth.VerifyCached("Basic !!!!"), false);
  EXPECT_EQ(auth.VerifyCached(BasicHeader("prometheus")), false);
  EXPECT_EQ(auth.VerifyCached(BasicHeader("prometheus:s3cret")), std::nullopt);
  EXPECT_EQ(auth.VerifyCached(BasicHeader("nobody:s3cret")), std::nullopt);
  EXPECT_EQ(auth.bcrypt_runs(), 0U);
  ASSERT_TRUE(auth.Verify(BasicHeader("prometheus:s3cret")));
  EXPECT_EQ(auth.VerifyCached(BasicHeader("prometheus:s3cret")), true);
  EXPECT_EQ(auth.VerifyCached(BasicHeader("prometheus:wrong")), std::nullopt);
  EXPECT_EQ(auth.bcrypt_runs(), 1U);
}

TEST(BasicAuthTest, CacheStaysBounded) {
  // Many users each verified once: the oldest are forgotten, and verify again with bcrypt.
  std::map<std::string, std::string, std::less<>> users;
  const std::string hash = MakeBcryptHash("pw", 4);
  for (std::size_t i = 0; i < BasicAuth::kMaxCached + 10; ++i) {
    users.emplace("user" + std::to_string(i), hash);
  }
  const BasicAuth auth(users);
  for (std::size_t i = 0; i < BasicAuth::kMaxCached + 10; ++i) {
    ASSERT_TRUE(auth.Verify(BasicHeader("user" + std::to_string(i) + ":pw")));
  }
  const std::size_t runs = auth.bcrypt_runs();
  EXPECT_TRUE(auth.Verify(BasicHeader("user" + std::to_string(BasicAuth::kMaxCached + 9) + ":pw")));
  EXPECT_EQ(auth.bcrypt_runs(), runs);  // the newest is cached
  EXPECT_TRUE(auth.Verify(BasicHeader("user0:pw")));
  EXPECT_EQ(auth.bcrypt_runs(), runs + 1);  // the oldest was evicted
}

}  // namespace
}  // namespace kpid::http
