// The HTTP collector against a real server on 127.0.0.1: values, every error kind, TLS,
// auth, redirects, gzip, limits, secrets kept out of messages, and concurrency.
#include "collectors/http/collector.hpp"

#include <atomic>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/collectors/http/harness.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"

namespace kpid::collectors::http::testing {
namespace {

using kpid::testing::HttpTestRequest;
using kpid::testing::HttpTestResponse;
using kpid::testing::HttpTestServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kDocument =
    R"({"churn": {"monthly": 0.027}, "customers": {"active": "1234"},
        "a/b": {"m~n": [5, 6, 7]}, "nothing": null, "flag": true})";

// Answers by path; see each test for the routes it uses.
HttpTestResponse Route(const HttpTestRequest& request) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (path == "/json") return HttpTestResponse::Json(std::string(kDocument));
  if (path == "/text") return HttpTestResponse::Text("  42\n");
  if (path == "/garbage") {
    HttpTestResponse r = HttpTestResponse::Text("<html><body>Service Unavailable</body></html>");
    r.headers = {{"Content-Type", "text/html"}};
    return r;
  }
  if (path == "/slow") {
    HttpTestResponse r = HttpTestResponse::Json(R"({"v": 1})");
    r.delay = 5s;
    return r;
  }
  if (path == "/hang") {
    HttpTestResponse r = HttpTestResponse::Json(R"({"v": 1})");
    r.delay = 60s;
    return r;
  }
  if (path == "/big" || path == "/big-chunked") {
    HttpTestResponse r = HttpTestResponse::Json(R"({"v": ")" + std::string(4096, 'x') + "\"}");
    r.chunked = path == "/big-chunked";
    return r;
  }
  if (path == "/gzip") {
    HttpTestResponse r = HttpTestResponse::Json(R"({"v": 5})");
    r.gzip = true;
    return r;
  }
  if (path == "/gzip-bomb") {  // 4 KiB of spaces compress to a few bytes
    HttpTestResponse r = HttpTestResponse::Json(std::string(4096, ' ') + R"({"v": 5})");
    r.gzip = true;
    return r;
  }
  if (path == "/500") return HttpTestResponse::Json(R"({"error": "database is down"})", 500);
  if (path == "/401") return HttpTestResponse::Text("who are you?", 401);
  if (path == "/403") return HttpTestResponse::Text("no", 403);
  if (path.starts_with("/r/")) {  // /r/N redirects N times, then answers
    const int n = std::stoi(path.substr(3));
    if (n == 0) return HttpTestResponse::Json(R"({"v": 1})");
    HttpTestResponse r;
    r.status = 302;
    r.headers = {{"Location", "/r/" + std::to_string(n - 1)}};
    return r;
  }
  if (path == "/echo" || path == "/echo-ok" || path == "/echo-late") {
    // A page that repeats the request, credentials and all; /echo-late puts the key where
    // an 80-byte excerpt would cut it in half.
    std::string body = path == "/echo-late" ? std::string(70, '.') + " key=" : "key=";
    body += request.Header("X-Api-Key") + " auth=" + request.Header("Authorization") +
            " target=" + request.target;
    return HttpTestResponse::Text(body, path == "/echo-ok" ? 200 : 500);
  }
  return HttpTestResponse::Text("not found", 404);
}

class HttpCollectorTest : public ::testing::Test {
 protected:
  std::unique_ptr<Collector> Make(const std::string& path,
                                  const std::function<void(SourceSettings&)>& tweak = {}) {
    return http::Make(MakeSource(server_.Url(path), tweak), io_);
  }

  CollectResult Collect(const std::string& path, const Target& target,
                        const std::function<void(SourceSettings&)>& tweak = {},
                        std::chrono::milliseconds timeout = 10s) {
    auto collector = Make(path, tweak);
    return CollectOnce(*collector, io_, target, timeout);
  }

  HttpTestServer server_{Route};
  boost::asio::io_context io_;
};

TEST_F(HttpCollectorTest, JsonNumberAtPointer) {
  const auto before = Clock::now();
  const CollectResult result = Collect("/json", JsonTarget("/churn/monthly"));
  ASSERT_TRUE(std::holds_alternative<Sample>(result)) << ErrorOf(result).message;
  const Sample sample = std::get<Sample>(result);
  EXPECT_DOUBLE_EQ(sample.value, 0.027);
  // The time the response completed.
  EXPECT_GE(sample.timestamp, before);
  EXPECT_LE(sample.timestamp, Clock::now());
}

TEST_F(HttpCollectorTest, NumericStringAndEscapedPointer) {
  EXPECT_DOUBLE_EQ(ValueOf(Collect("/json", JsonTarget("/customers/active"))), 1234);
  EXPECT_DOUBLE_EQ(ValueOf(Collect("/json", JsonTarget("/a~1b/m~0n/2"))), 7);
}

TEST_F(HttpCollectorTest, TextBody) {
  EXPECT_DOUBLE_EQ(ValueOf(Collect("/text", TextTarget())), 42);
  const CollectError error = ErrorOf(Collect("/garbage", TextTarget()));
  EXPECT_EQ(error.kind, ErrorKind::kParse);
  EXPECT_EQ(error.message,
            "source \"crm\" (http): KPI \"depth\": response body is not a number: "
            "\"<html><body>Service Unavailable</body></html>\"");
}

TEST_F(HttpCollectorTest, NotJsonNamesContentTypeAndExcerpt) {
  const CollectError error = ErrorOf(Collect("/garbage", JsonTarget("/v")));
  EXPECT_EQ(error.kind, ErrorKind::kParse);
  EXPECT_EQ(error.message,
            "source \"crm\" (http): KPI \"churn\": response body is not JSON: "
            "\"<html><body>Service Unavailable</body></html>\" (Content-Type: text/html)");
}

TEST_F(HttpCollectorTest, NullAndMissingAreEmptyOtherTypesParse) {
  EXPECT_EQ(ErrorOf(Collect("/json", JsonTarget("/nothing"))).kind, ErrorKind::kEmpty);
  const CollectError missing = ErrorOf(Collect("/json", JsonTarget("/churn/weekly")));
  EXPECT_EQ(missing.kind, ErrorKind::kEmpty);
  EXPECT_EQ(missing.message,
            "source \"crm\" (http): KPI \"churn\": json_pointer \"/churn/weekly\": no member "
            "\"weekly\" in \"/churn\"");
  EXPECT_EQ(ErrorOf(Collect("/json", JsonTarget("/flag"))).kind, ErrorKind::kParse);
  EXPECT_EQ(ErrorOf(Collect("/json", JsonTarget("/churn"))).kind, ErrorKind::kParse);
}

TEST_F(HttpCollectorTest, SlowResponseTimesOut) {
  const CollectError error = ErrorOf(Collect("/slow", JsonTarget("/v"), {}, 300ms));
  EXPECT_EQ(error.kind, ErrorKind::kTimeout);
  EXPECT_EQ(error.message,
            "source \"crm\" (http): timeout after 300ms waiting for the response from " +
                server_.Url("/slow") + " (0 bytes received)");
}

TEST_F(HttpCollectorTest, OversizedResponses) {
  const auto limit = [](SourceSettings& s) { s.max_response_bytes = 1024; };
  // With Content-Length, without (chunked), and small on the wire but large decoded.
  for (const char* path : {"/big", "/big-chunked", "/gzip-bomb"}) {
    const CollectError error = ErrorOf(Collect(path, JsonTarget("/v"), limit));
    EXPECT_EQ(error.kind, ErrorKind::kTooLarge) << path;
    EXPECT_EQ(error.message, "source \"crm\" (http): response from " + server_.Url(path) +
                                 " is larger than 1 KiB (max_response_bytes)");
  }
  // At the limit is fine ("  42\n" is 5 bytes); gzip's is checked on and off the wire.
  EXPECT_DOUBLE_EQ(
      ValueOf(Collect("/text", TextTarget(), [](SourceSettings& s) { s.max_response_bytes = 5; })),
      42);
  EXPECT_DOUBLE_EQ(ValueOf(Collect("/gzip", JsonTarget("/v"),
                                   [](SourceSettings& s) { s.max_response_bytes = 64; })),
                   5);
}

TEST_F(HttpCollectorTest, Gzip) {
  EXPECT_DOUBLE_EQ(ValueOf(Collect("/gzip", JsonTarget("/v"))), 5);
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0].Header("Accept-Encoding"), HasSubstr("gzip"));
}

TEST_F(HttpCollectorTest, ServerErrorIsQueryError) {
  const CollectError error = ErrorOf(Collect("/500", JsonTarget("/v")));
  EXPECT_EQ(error.kind, ErrorKind::kQuery);
  EXPECT_EQ(error.message, "source \"crm\" (http): HTTP 500 from " + server_.Url("/500") +
                               ": \"{\"error\": \"database is down\"}\"");
  EXPECT_EQ(ErrorOf(Collect("/missing", JsonTarget("/v"))).kind, ErrorKind::kQuery);
}

TEST_F(HttpCollectorTest, UnauthorizedAndForbiddenAreAuthErrors) {
  const CollectError unauthorized = ErrorOf(Collect("/401", JsonTarget("/v")));
  EXPECT_EQ(unauthorized.kind, ErrorKind::kAuth);
  EXPECT_EQ(unauthorized.message, "source \"crm\" (http): HTTP 401 from " + server_.Url("/401") +
                                      " (credentials missing or rejected)");
  EXPECT_EQ(ErrorOf(Collect("/403", JsonTarget("/v"))).kind, ErrorKind::kAuth);
}

TEST_F(HttpCollectorTest, RedirectsFollowedUpToTheLimit) {
  EXPECT_DOUBLE_EQ(ValueOf(Collect("/r/5", JsonTarget("/v"))), 1);  // default limit 5
  const CollectError error = ErrorOf(Collect("/r/6", JsonTarget("/v")));
  EXPECT_EQ(error.kind, ErrorKind::kQuery);
  EXPECT_THAT(error.message, HasSubstr("more than 5 redirects from " + server_.Url("/r/6")));

  const auto none = [](SourceSettings& s) { s.max_redirects = 0; };
  EXPECT_DOUBLE_EQ(ValueOf(Collect("/r/0", JsonTarget("/v"), none)), 1);
  EXPECT_EQ(ErrorOf(Collect("/r/1", JsonTarget("/v"), none)).kind, ErrorKind::kQuery);
}

TEST_F(HttpCollectorTest, HostName) {
  const std::string url = "http://localhost:" + std::to_string(server_.port()) + "/json";
  auto collector = http::Make(MakeSource(url), io_);
  EXPECT_DOUBLE_EQ(ValueOf(CollectOnce(*collector, io_, JsonTarget("/churn/monthly"))), 0.027);
}

TEST_F(HttpCollectorTest, ConnectionRefused) {
  const std::string url = "http://127.0.0.1:" + std::to_string(kpid::testing::FreePort()) + "/x";
  auto collector = http::Make(MakeSource(url), io_);
  const CollectError error = ErrorOf(CollectOnce(*collector, io_, JsonTarget("/v")));
  EXPECT_EQ(error.kind, ErrorKind::kConnect);
  EXPECT_THAT(error.message, HasSubstr("source \"crm\" (http): cannot connect to " + url));
}

TEST_F(HttpCollectorTest, BasicAuthAndDefaultHeaders) {
  const CollectResult result =
      Collect("/json", JsonTarget("/churn/monthly"), [](SourceSettings& s) {
        s.username = "kpid";
        s.password = config::Secret("pa:ss");
        s.headers = {{"X-Tenant", config::Secret("acme")}, {"X-Empty", config::Secret("")}};
      });
  EXPECT_DOUBLE_EQ(ValueOf(result), 0.027);
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].Header("Authorization"), "Basic a3BpZDpwYTpzcw==");  // kpid:pa:ss
  EXPECT_EQ(requests[0].Header("X-Tenant"), "acme");
  EXPECT_EQ(requests[0].Header("User-Agent"), "kpid/" KPID_VERSION);
  EXPECT_THAT(requests[0].Header("Accept"), HasSubstr("application/json"));
  bool empty_header_sent = false;
  for (const auto& [name, value] : requests[0].headers) {
    empty_header_sent = empty_header_sent || (name == "X-Empty" && value.empty());
  }
  EXPECT_TRUE(empty_header_sent);
}

TEST_F(HttpCollectorTest, BearerToken) {
  EXPECT_DOUBLE_EQ(
      ValueOf(Collect("/json", JsonTarget("/churn/monthly"),
                      [](SourceSettings& s) {
                        s.bearer_token = config::Secret("tok-123");
                        s.headers = {{"Accept", config::Secret("application/vnd.api+json")}};
                      })),
      0.027);
  const auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer tok-123");
  EXPECT_EQ(requests[0].Header("Accept"), "application/vnd.api+json");  // configured wins
}

TEST_F(HttpCollectorTest, CredentialsNotSentToAnotherOrigin) {
  HttpTestServer other(Route);
  const std::string away = other.Url("/json");
  HttpTestServer redirector([&away](const HttpTestRequest&) {
    HttpTestResponse r;
    r.status = 302;
    r.headers = {{"Location", away}};
    return r;
  });
  auto collector =
      http::Make(MakeSource(redirector.Url("/"),
                            [](SourceSettings& s) { s.bearer_token = config::Secret("tok-123"); }),
                 io_);
  EXPECT_DOUBLE_EQ(ValueOf(CollectOnce(*collector, io_, JsonTarget("/churn/monthly"))), 0.027);
  ASSERT_EQ(redirector.Requests().size(), 1u);
  EXPECT_EQ(redirector.Requests()[0].Header("Authorization"), "Bearer tok-123");
  ASSERT_EQ(other.Requests().size(), 1u);
  EXPECT_EQ(other.Requests()[0].Header("Authorization"), "");
}

TEST_F(HttpCollectorTest, SecretsNeverInMessages) {
  const auto canaries = [](SourceSettings& s) {
    s.headers = {{"X-Api-Key", config::Secret("CANARY-header-3")}};
    s.bearer_token = config::Secret("CANARY-bearer-4");
  };
  const auto userinfo_url = [this](const std::string& path) {
    std::string url = server_.Url(path + "?token=CANARY-query-2&x=1");
    url.insert(url.find("//") + 2, "user:CANARY-userinfo-1@");
    return url;
  };
  std::vector<CollectError> errors;
  for (const char* path : {"/echo", "/echo-ok", "/401", "/slow", "/echo-late"}) {
    auto collector = http::Make(MakeSource(userinfo_url(path), canaries), io_);
    errors.push_back(ErrorOf(CollectOnce(*collector, io_, JsonTarget("/v"), 300ms)));
  }
  // Basic auth from username/password: the encoded header is a secret too.
  auto basic = http::Make(MakeSource(server_.Url("/echo"),
                                     [](SourceSettings& s) {
                                       s.username = "kpid";
                                       s.password = config::Secret("CANARY-password-5");
                                     }),
                          io_);
  errors.push_back(ErrorOf(CollectOnce(*basic, io_, JsonTarget("/v"))));
  const std::string refused =
      "http://user:CANARY-userinfo-1@127.0.0.1:" + std::to_string(kpid::testing::FreePort()) +
      "/x?token=CANARY-query-2";
  auto down = http::Make(MakeSource(refused, canaries), io_);
  errors.push_back(ErrorOf(CollectOnce(*down, io_, JsonTarget("/v"))));

  ASSERT_EQ(errors.size(), 7u);
  EXPECT_EQ(errors[0].kind, ErrorKind::kQuery);
  EXPECT_EQ(errors[1].kind, ErrorKind::kParse);
  EXPECT_EQ(errors[2].kind, ErrorKind::kAuth);
  EXPECT_EQ(errors[3].kind, ErrorKind::kTimeout);
  EXPECT_EQ(errors[4].kind, ErrorKind::kQuery);
  EXPECT_EQ(errors[5].kind, ErrorKind::kQuery);
  EXPECT_EQ(errors[6].kind, ErrorKind::kConnect);
  for (const CollectError& error : errors) {
    EXPECT_THAT(error.message, Not(HasSubstr("CANAR"))) << error.message;
    // The basic auth headers, base64 of "kpid:CANARY-password-5" and "user:CANARY-userinfo-1".
    EXPECT_THAT(error.message, Not(HasSubstr("a3BpZDpDQU5BUlktcGFzc3dvcmQtNQ"))) << error.message;
    EXPECT_THAT(error.message, Not(HasSubstr("dXNlcjpDQU5BUlktdXNlcmluZm8tMQ"))) << error.message;
  }
  // The echoes show the server did receive what the messages hide (a custom Authorization
  // header wins over URL credentials). A secret is redacted before the excerpt is cut.
  EXPECT_EQ(errors[0].message, "source \"crm\" (http): HTTP 500 from " + server_.Url("/echo") +
                                   ": \"key=<secret> auth=Bearer <secret> target=/echo?<secret>\"");
  EXPECT_THAT(errors[1].message, HasSubstr("not JSON: \"key=<secret> auth="));
  EXPECT_THAT(errors[4].message, HasSubstr(" key=<secr...\""));
  EXPECT_THAT(errors[5].message, HasSubstr("auth=Basic <secret> "));
}

TEST_F(HttpCollectorTest, KpisCollectedTogetherShareOneRequest) {
  auto collector = Make("/json");
  std::optional<CollectResult> churn;
  std::optional<CollectResult> active;
  collector->Collect(JsonTarget("/churn/monthly", "churn"), 10s,
                     [&](CollectResult r) { churn = std::move(r); });
  collector->Collect(JsonTarget("/customers/active", "active"), 10s,
                     [&](CollectResult r) { active = std::move(r); });
  ASSERT_TRUE(RunUntil(io_, [&] { return churn && active; }));
  EXPECT_DOUBLE_EQ(ValueOf(*churn), 0.027);
  EXPECT_DOUBLE_EQ(ValueOf(*active), 1234);
  EXPECT_EQ(server_.request_count(), 1u);
  EXPECT_EQ(std::get<Sample>(*churn).timestamp, std::get<Sample>(*active).timestamp);

  // Later collections make new requests, over the kept-alive connection.
  EXPECT_DOUBLE_EQ(ValueOf(CollectOnce(*collector, io_, JsonTarget("/churn/monthly"))), 0.027);
  EXPECT_EQ(server_.request_count(), 2u);
  EXPECT_EQ(server_.connection_count(), 1u);
}

TEST_F(HttpCollectorTest, NoHistory) {
  auto collector = Make("/json");
  EXPECT_FALSE(collector->HasHistory(JsonTarget("/v")));
  std::optional<HistoryResult> result;
  collector->CollectHistory(JsonTarget("/v"), 1s, [&](HistoryResult r) { result = std::move(r); });
  EXPECT_FALSE(result);  // never from inside the call
  ASSERT_TRUE(RunUntil(io_, [&] { return result.has_value(); }));
  ASSERT_TRUE(std::holds_alternative<CollectError>(*result));
  EXPECT_EQ(std::get<CollectError>(*result).kind, ErrorKind::kQuery);
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(HttpCollectorTest, StopDropsCallbacksAndClosesTheConnection) {
  auto collector = Make("/hang");
  bool called = false;
  collector->Collect(JsonTarget("/v"), 30s, [&](const CollectResult&) { called = true; });
  ASSERT_TRUE(RunUntil(io_, [&] { return server_.request_count() == 1; }));
  collector->Stop();
  collector->Collect(JsonTarget("/v"), 30s, [&](const CollectResult&) { called = true; });
  RunUntil(
      io_, [] { return false; }, 300ms);
  EXPECT_FALSE(called);
  EXPECT_EQ(server_.request_count(), 1u);

  // Destroying a collector with a request in flight is the same.
  auto another = Make("/hang");
  another->Collect(JsonTarget("/v"), 30s, [&](const CollectResult&) { called = true; });
  ASSERT_TRUE(RunUntil(io_, [&] { return server_.request_count() == 2; }));
  another.reset();
  RunUntil(
      io_, [] { return false; }, 300ms);
  EXPECT_FALSE(called);
}

TEST_F(HttpCollectorTest, CallbackMayDestroyTheCollector) {
  auto collector = Make("/json");
  int calls = 0;
  collector->Collect(JsonTarget("/churn/monthly"), 10s, [&](const CollectResult&) {
    ++calls;
    collector.reset();
  });
  collector->Collect(JsonTarget("/churn/monthly"), 10s, [&](const CollectResult&) { ++calls; });
  ASSERT_TRUE(RunUntil(io_, [&] { return calls > 0; }));
  RunUntil(
      io_, [] { return false; }, 100ms);
  EXPECT_EQ(calls, 1);  // the second was dropped with the collector
}

TEST_F(HttpCollectorTest, HangingSourceDoesNotDelayOthers) {
  auto hanging = Make("/hang");
  std::optional<CollectResult> hung;
  hanging->Collect(JsonTarget("/v"), 60s, [&](CollectResult r) { hung = std::move(r); });

  std::vector<std::unique_ptr<Collector>> others;
  std::vector<std::optional<CollectResult>> results(20);
  for (std::size_t i = 0; i < results.size(); ++i) {
    others.push_back(
        http::Make(MakeSource(server_.Url("/json"), {}, "s" + std::to_string(i)), io_));
    others.back()->Collect(JsonTarget("/churn/monthly"), 60s,
                           [&results, i](CollectResult r) { results[i] = std::move(r); });
  }
  ASSERT_TRUE(RunUntil(io_, [&] {
    return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
  }));
  for (const auto& result : results) EXPECT_DOUBLE_EQ(ValueOf(*result), 0.027);
  EXPECT_FALSE(hung.has_value());
  hanging->Stop();
}

TEST_F(HttpCollectorTest, TwoHundredSourcesInFlightAtOnce) {
  constexpr std::size_t kSources = 200;
  // Each answer waits until all 200 requests have arrived (or 30 s pass): the server only
  // sees them all at once if the client really runs them concurrently.
  std::atomic<std::size_t> arrived{0};
  HttpTestServer gate([&arrived](const HttpTestRequest&) {
    ++arrived;
    HttpTestResponse r = HttpTestResponse::Json(R"({"v": 3})");
    r.delay = 30s;
    r.release = [&arrived] { return arrived.load() >= kSources; };
    return r;
  });
  std::vector<std::unique_ptr<Collector>> collectors;
  std::vector<std::optional<CollectResult>> results(kSources);
  for (std::size_t i = 0; i < kSources; ++i) {
    collectors.push_back(http::Make(MakeSource(gate.Url("/v"), {}, "s" + std::to_string(i)), io_));
    collectors.back()->Collect(JsonTarget("/v"), 60s,
                               [&results, i](CollectResult r) { results[i] = std::move(r); });
  }
  ASSERT_TRUE(RunUntil(
      io_,
      [&] {
        return std::all_of(results.begin(), results.end(),
                           [](const auto& r) { return r.has_value(); });
      },
      120s));
  for (const auto& result : results) EXPECT_DOUBLE_EQ(ValueOf(*result), 3);
  EXPECT_EQ(gate.max_in_flight(), kSources);
}

class HttpsCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    if (!kpid::testing::MakeSelfSignedCertificate(dir_.path(), tls_, &error)) {
      GTEST_SKIP() << "cannot make a test certificate (is openssl installed?): " << error;
    }
    server_ = std::make_unique<HttpTestServer>(Route, tls_);
  }

  CollectResult Collect(const std::function<void(SourceSettings&)>& tweak = {}) {
    auto collector = http::Make(MakeSource(server_->Url("/json"), tweak), io_);
    return CollectOnce(*collector, io_, JsonTarget("/churn/monthly"));
  }

  kpid::testing::TempDir dir_;
  HttpTestServer::Tls tls_;
  std::unique_ptr<HttpTestServer> server_;
  boost::asio::io_context io_;
};

TEST_F(HttpsCollectorTest, SelfSignedRejectedByDefault) {
  const CollectError error = ErrorOf(Collect());
  EXPECT_EQ(error.kind, ErrorKind::kConnect);
  EXPECT_THAT(error.message, HasSubstr("TLS certificate of " + server_->Url("/json") +
                                       " not trusted: SSL certificate problem"));
  EXPECT_THAT(error.message, HasSubstr("set ca_file"));
  EXPECT_EQ(server_->request_count(), 0u);
}

TEST_F(HttpsCollectorTest, TrustedWithCaFile) {
  const std::string ca = tls_.certificate.string();
  EXPECT_DOUBLE_EQ(ValueOf(Collect([&ca](SourceSettings& s) { s.ca_file = ca; })), 0.027);
}

TEST_F(HttpsCollectorTest, InsecureSkipVerify) {
  EXPECT_DOUBLE_EQ(ValueOf(Collect([](SourceSettings& s) { s.insecure_skip_verify = true; })),
                   0.027);
}

TEST_F(HttpsCollectorTest, UnusableCaFile) {
  const std::string bogus = dir_.Write("bogus.pem", "not a certificate\n").string();
  const CollectError error = ErrorOf(Collect([&bogus](SourceSettings& s) { s.ca_file = bogus; }));
  EXPECT_EQ(error.kind, ErrorKind::kConnect);
  EXPECT_THAT(error.message, HasSubstr("ca_file"));
}

}  // namespace
}  // namespace kpid::collectors::http::testing
