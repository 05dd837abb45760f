// The Alertmanager webhook payload, and the `webhook` receiver against a real local HTTP
// server on a real io_context and CurlMulti.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "collectors/http/curl_multi.hpp"
#include "daemon/load_config.hpp"
#include "daemon/notify/webhook/payload.hpp"
#include "daemon/notify/webhook/receiver.hpp"
#include "daemon/notify/webhook/settings.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"

namespace kpid::notify {
namespace {

using namespace std::chrono_literals;
using kpid::testing::HttpTestRequest;
using kpid::testing::HttpTestResponse;
using kpid::testing::HttpTestServer;
using Outcome = Delivery::Outcome;
using Json = nlohmann::json;

// 2026-03-01T12:00:00.250Z
constexpr TimePoint kStart = TimePoint(std::chrono::milliseconds(1772366400250));

Alert MakeAlert(const std::string& kpi, bool firing) {
  Alert a;
  a.firing = firing;
  a.labels = {{"kpi", kpi}, {"alert", "goal"}, {"severity", "warning"}, {"team", "finance"}};
  a.annotations = {{"summary", kpi + " is off track"}, {"description", "below plan"}};
  a.starts_at = kStart;
  if (!firing) a.ends_at = kStart + 90min;
  a.generator_url = "http://kpid.example:9464/kpi/" + kpi;
  a.fingerprint = Fingerprint(kpi + "/goal");
  return a;
}

Notification MakeNotification(std::vector<Alert> alerts) {
  Notification n;
  n.receiver = "ops-hook";
  n.group_key = "{}:{team=\"finance\"}";
  n.group_labels = {{"team", "finance"}};
  n.external_url = "http://kpid.example:9464";
  n.alerts = std::move(alerts);
  n.ComputeCommon();
  return n;
}

std::vector<std::string> Keys(const nlohmann::ordered_json& object) {
  std::vector<std::string> out;
  for (const auto& item : object.items()) out.push_back(item.key());
  return out;
}

// --- payload ---------------------------------------------------------------------------

TEST(WebhookPayload, FiringGroupFieldByField) {
  const Notification n = MakeNotification({MakeAlert("revenue", true), MakeAlert("churn", true)});
  const nlohmann::ordered_json p = WebhookPayload(n);

  // Alertmanager's field order (template.Data, then the webhook message's own fields).
  EXPECT_EQ(Keys(p), (std::vector<std::string>{"receiver", "status", "alerts", "groupLabels",
                                               "commonLabels", "commonAnnotations", "externalURL",
                                               "version", "groupKey", "truncatedAlerts"}));
  EXPECT_EQ(p["version"], "4");
  EXPECT_TRUE(p["version"].is_string());
  EXPECT_EQ(p["groupKey"], "{}:{team=\"finance\"}");
  EXPECT_TRUE(p["truncatedAlerts"].is_number_integer());
  EXPECT_EQ(p["truncatedAlerts"], 0);
  EXPECT_EQ(p["status"], "firing");
  EXPECT_EQ(p["receiver"], "ops-hook");
  EXPECT_EQ(p["externalURL"], "http://kpid.example:9464");
  EXPECT_EQ(p["groupLabels"], nlohmann::ordered_json({{"team", "finance"}}));
  // Shared by both alerts: kpi and the annotations differ.
  EXPECT_EQ(
      p["commonLabels"],
      nlohmann::ordered_json({{"alert", "goal"}, {"severity", "warning"}, {"team", "finance"}}));
  EXPECT_EQ(p["commonAnnotations"], nlohmann::ordered_json({{"description", "below plan"}}));

  ASSERT_EQ(p["alerts"].size(), 2u);
  const auto& a = p["alerts"][0];
  EXPECT_EQ(Keys(a), (std::vector<std::string>{"status", "labels", "annotations", "startsAt",
                                               "endsAt", "generatorURL", "fingerprint"}));
  EXPECT_EQ(a["status"], "firing");
  // Go marshals maps with sorted keys.
  EXPECT_EQ(Keys(a["labels"]), (std::vector<std::string>{"alert", "kpi", "severity", "team"}));
  EXPECT_EQ(a["labels"]["kpi"], "revenue");
  EXPECT_EQ(a["annotations"]["summary"], "revenue is off track");
  EXPECT_EQ(a["startsAt"], "2026-03-01T12:00:00.250Z");
  EXPECT_EQ(a["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(a["generatorURL"], "http://kpid.example:9464/kpi/revenue");
  EXPECT_EQ(a["fingerprint"], Fingerprint("revenue/goal"));
  EXPECT_EQ(p["alerts"][1]["labels"]["kpi"], "churn");
}

TEST(WebhookPayload, ResolvedAlertCarriesItsEnd) {
  const nlohmann::ordered_json p = WebhookPayload(MakeNotification({MakeAlert("revenue", false)}));
  EXPECT_EQ(p["status"], "resolved");
  EXPECT_EQ(p["alerts"][0]["status"], "resolved");
  EXPECT_EQ(p["alerts"][0]["endsAt"], "2026-03-01T13:30:00.250Z");
  EXPECT_EQ(p["commonLabels"]["kpi"], "revenue");  // one alert: all its labels are common
  EXPECT_EQ(p["commonAnnotations"]["summary"], "revenue is off track");
}

TEST(WebhookPayload, AnyFiringAlertMakesTheGroupFiring) {
  const nlohmann::ordered_json p =
      WebhookPayload(MakeNotification({MakeAlert("revenue", false), MakeAlert("churn", true)}));
  EXPECT_EQ(p["status"], "firing");
  EXPECT_EQ(p["alerts"][0]["status"], "resolved");
  EXPECT_EQ(p["alerts"][1]["status"], "firing");
}

TEST(WebhookPayload, EmptyLabelSetsAreObjects) {
  Notification n;
  n.receiver = "r";
  Alert a;
  a.starts_at = kStart;
  n.alerts.push_back(a);
  const nlohmann::ordered_json p = WebhookPayload(n);
  EXPECT_TRUE(p["groupLabels"].is_object());
  EXPECT_TRUE(p["commonLabels"].is_object());
  EXPECT_TRUE(p["commonAnnotations"].is_object());
  EXPECT_TRUE(p["alerts"][0]["labels"].is_object());
  EXPECT_TRUE(p["alerts"][0]["annotations"].is_object());
  EXPECT_EQ(p["alerts"][0]["generatorURL"], "");
}

TEST(WebhookPayload, NoAlertsIsAnEmptyArray) {
  const nlohmann::ordered_json p = WebhookPayload(Notification{});
  EXPECT_TRUE(p["alerts"].is_array());
  EXPECT_TRUE(p["alerts"].empty());
  EXPECT_EQ(p["status"], "resolved");
}

TEST(WebhookRetryAfter, SecondsAndHttpDates) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);  // 2015-10-21 07:28:00
  EXPECT_EQ(webhook::ParseRetryAfter("120", now), 120s);
  EXPECT_EQ(webhook::ParseRetryAfter(" 0 ", now), 0s);
  EXPECT_EQ(webhook::ParseRetryAfter("Wed, 21 Oct 2015 07:30:00 GMT", now), 120s);
  EXPECT_EQ(webhook::ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), 0s);
  EXPECT_EQ(webhook::ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(webhook::ParseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(webhook::ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(webhook::ParseRetryAfter("99999999999999999999999", now), std::nullopt);
}

// --- receiver --------------------------------------------------------------------------

// Runs `io` until `done()` holds or the guard passes (a failure guard, not a timing check).
bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds guard = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + guard;
  io.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(50ms);
    if (io.stopped()) io.restart();
  }
  return done();
}

config::Receiver LoadReceiver(const std::string& body) {
  const std::string text = "[[receiver]]\nname = \"ops-hook\"\ntype = \"webhook\"\n" + body;
  config::LoadResult result = config::LoadFromString(text, "t.toml", BuiltinExtensions());
  if (!result.config || result.config->receivers.empty()) {
    std::string errors;
    for (const auto& e : result.errors) errors += e.message + "\n";
    ADD_FAILURE() << "config does not load:\n" << errors;
    return {};
  }
  return result.config->receivers[0];
}

class WebhookReceiverTest : public ::testing::Test {
 protected:
  std::unique_ptr<Receiver> Make(const std::string& url, const std::string& more = "") {
    return webhook::MakeReceiver(LoadReceiver("url = \"" + url + "\"\n" + more), context_);
  }

  // One attempt, run to its end; checks that `done` came once and not from inside Send().
  Delivery SendOnce(Receiver& receiver, const Notification& n) {
    std::optional<Delivery> result;
    int calls = 0;
    bool inside = true;
    receiver.Send(n, [&](Delivery d) {
      EXPECT_FALSE(inside) << "done called from inside Send()";
      ++calls;
      result = std::move(d);
    });
    inside = false;
    if (!RunUntil(io_, [&] { return result.has_value(); })) {
      ADD_FAILURE() << "no delivery within the guard";
      return {Outcome::kFailed, "no delivery", {}};
    }
    io_.restart();
    io_.poll();
    EXPECT_EQ(calls, 1);
    return *result;
  }

  boost::asio::io_context io_;
  std::unique_ptr<collectors::http::CurlMulti> curl_ =
      std::make_unique<collectors::http::CurlMulti>(io_);
  ReceiverContext context_{io_, *curl_};
  const Notification firing_ = MakeNotification({MakeAlert("revenue", true)});
};

TEST_F(WebhookReceiverTest, PostsThePayloadAndAnyTwoHundredIsDelivered) {
  std::atomic<int> calls{0};
  HttpTestServer server([&](const HttpTestRequest&) {
    return ++calls == 1 ? HttpTestResponse::Text("ok", 200) : HttpTestResponse::Text("", 204);
  });
  auto receiver = Make(server.Url("/hook"));
  Delivery first = SendOnce(*receiver, firing_);
  EXPECT_EQ(first.outcome, Outcome::kDelivered) << first.error;
  EXPECT_TRUE(first.error.empty());
  Delivery second = SendOnce(*receiver, firing_);
  EXPECT_EQ(second.outcome, Outcome::kDelivered) << second.error;

  const std::vector<HttpTestRequest> requests = server.Requests();
  ASSERT_EQ(requests.size(), 2u);
  const HttpTestRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/hook");
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.Header("User-Agent"), "kpid/" KPID_VERSION);
  EXPECT_EQ(r.Header("Authorization"), "");
  EXPECT_EQ(r.Header("Expect"), "");
  const Json body = Json::parse(r.body);
  EXPECT_EQ(body, Json::parse(WebhookPayload(firing_).dump()));
  EXPECT_EQ(body["alerts"][0]["labels"]["kpi"], "revenue");
}

TEST_F(WebhookReceiverTest, CustomHeadersAndBearerTokenArrive) {
  HttpTestServer server([](const HttpTestRequest&) { return HttpTestResponse::Text("", 200); });
  auto receiver = Make(server.Url("/hook"),
                       "headers = { X-Scope = \"finance\", Authorization = \"Basic overridden\" }\n"
                       "bearer_token = \"tok-1234\"\n");
  EXPECT_EQ(SendOnce(*receiver, firing_).outcome, Outcome::kDelivered);
  const std::vector<HttpTestRequest> requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Header("X-Scope"), "finance");
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer tok-1234");
  int authorizations = 0;
  for (const auto& [name, value] : requests[0].headers) {
    if (name == "Authorization" || name == "authorization") ++authorizations;
  }
  EXPECT_EQ(authorizations, 1);
}

TEST_F(WebhookReceiverTest, ServerErrorIsRetried) {
  HttpTestServer server(
      [](const HttpTestRequest&) { return HttpTestResponse::Text("database is down\n", 500); });
  auto receiver = Make(server.Url("/hook"));
  const Delivery d = SendOnce(*receiver, firing_);
  EXPECT_EQ(d.outcome, Outcome::kRetry);
  EXPECT_EQ(d.error, "webhook \"ops-hook\": HTTP 500 Internal Server Error from 127.0.0.1:" +
                         std::to_string(server.port()) + ": \"database is down\"");
  EXPECT_FALSE(d.retry_after);
}

TEST_F(WebhookReceiverTest, TooManyRequestsIsRetriedAfterTheServersWait) {
  HttpTestServer server([](const HttpTestRequest&) {
    HttpTestResponse r = HttpTestResponse::Text("slow down", 429);
    r.headers.emplace_back("Retry-After", "120");
    return r;
  });
  auto receiver = Make(server.Url("/hook"));
  const Delivery d = SendOnce(*receiver, firing_);
  EXPECT_EQ(d.outcome, Outcome::kRetry);
  ASSERT_TRUE(d.retry_after);
  EXPECT_EQ(*d.retry_after, 120s);
  EXPECT_NE(d.error.find("HTTP 429 Too Many Requests"), std::string::npos) << d.error;
}

TEST_F(WebhookReceiverTest, ServiceUnavailableAndRequestTimeoutAreRetried) {
  std::atomic<int> calls{0};
  HttpTestServer server([&](const HttpTestRequest&) {
    if (++calls == 1) {
      HttpTestResponse r = HttpTestResponse::Text("", 503);
      r.headers.emplace_back("Retry-After", "7");
      return r;
    }
    return HttpTestResponse::Text("", 408);
  });
  auto receiver = Make(server.Url("/hook"));
  const Delivery unavailable = SendOnce(*receiver, firing_);
  EXPECT_EQ(unavailable.outcome, Outcome::kRetry);
  EXPECT_EQ(unavailable.retry_after, std::optional<std::chrono::seconds>(7s));
  const Delivery timeout = SendOnce(*receiver, firing_);
  EXPECT_EQ(timeout.outcome, Outcome::kRetry);
  EXPECT_FALSE(timeout.retry_after);  // only 429 and 503 carry one
}

TEST_F(WebhookReceiverTest, ClientErrorFails) {
  HttpTestServer server([](const HttpTestRequest&) {
    return HttpTestResponse::Json(R"({"error":"unknown field \"alerts\""})", 400);
  });
  auto receiver = Make(server.Url("/hook"));
  const Delivery d = SendOnce(*receiver, firing_);
  EXPECT_EQ(d.outcome, Outcome::kFailed);
  EXPECT_NE(d.error.find("webhook \"ops-hook\": HTTP 400 Bad Request from 127.0.0.1:"),
            std::string::npos)
      << d.error;
  EXPECT_NE(d.error.find("unknown field"), std::string::npos) << d.error;  // the peer's answer
}

TEST_F(WebhookReceiverTest, RedirectIsNotFollowed) {
  HttpTestServer server([&](const HttpTestRequest&) {
    HttpTestResponse r = HttpTestResponse::Text("", 302);
    r.headers.emplace_back("Location", "/elsewhere");
    return r;
  });
  auto receiver = Make(server.Url("/hook"));
  const Delivery d = SendOnce(*receiver, firing_);
  EXPECT_EQ(d.outcome, Outcome::kFailed);
  EXPECT_NE(d.error.find("redirects are not followed"), std::string::npos) << d.error;
  EXPECT_EQ(server.request_count(), 1u);
}

TEST_F(WebhookReceiverTest, TimeoutIsRetried) {
  std::atomic<bool> release{false};
  HttpTestServer server([&](const HttpTestRequest&) {
    HttpTestResponse r = HttpTestResponse::Text("late", 200);
    r.delay = 60s;
    r.release = [&] { return release.load(); };
    return r;
  });
  auto receiver = Make(server.Url("/hook"), "timeout = \"300ms\"\n");
  const Delivery d = SendOnce(*receiver, firing_);
  release = true;
  EXPECT_EQ(d.outcome, Outcome::kRetry);
  EXPECT_EQ(d.error, "webhook \"ops-hook\": timeout after 300ms waiting for 127.0.0.1:" +
                         std::to_string(server.port()));
}

TEST_F(WebhookReceiverTest, ConnectionRefusedIsRetried) {
  const int port = kpid::testing::FreePort();  // nothing listens there
  auto receiver = Make("http://127.0.0.1:" + std::to_string(port) + "/hook");
  const Delivery d = SendOnce(*receiver, firing_);
  EXPECT_EQ(d.outcome, Outcome::kRetry);
  EXPECT_NE(
      d.error.find("webhook \"ops-hook\": cannot connect to 127.0.0.1:" + std::to_string(port)),
      std::string::npos)
      << d.error;
}

TEST_F(WebhookReceiverTest, TlsTrustsTheCaFileOrSkipsVerification) {
  kpid::testing::TempDir dir;
  HttpTestServer::Tls tls;
  std::string error;
  if (!kpid::testing::MakeSelfSignedCertificate(dir.path(), tls, &error)) {
    GTEST_SKIP() << "cannot make a test certificate (openssl CLI): " << error;
  }
  HttpTestServer server([](const HttpTestRequest&) { return HttpTestResponse::Text("", 200); },
                        tls);
  auto untrusted = Make(server.Url("/hook"));
  const Delivery refused = SendOnce(*untrusted, firing_);
  EXPECT_EQ(refused.outcome, Outcome::kRetry);
  EXPECT_NE(refused.error.find("TLS certificate of 127.0.0.1:" + std::to_string(server.port()) +
                               " not trusted"),
            std::string::npos)
      << refused.error;

  auto with_ca = Make(server.Url("/hook"), "ca_file = \"" + tls.certificate.string() + "\"\n");
  const Delivery trusted = SendOnce(*with_ca, firing_);
  EXPECT_EQ(trusted.outcome, Outcome::kDelivered) << trusted.error;

  auto skipping = Make(server.Url("/hook"), "insecure_skip_verify = true\n");
  const Delivery skipped = SendOnce(*skipping, firing_);
  EXPECT_EQ(skipped.outcome, Outcome::kDelivered) << skipped.error;
  EXPECT_EQ(server.request_count(), 2u);
}

TEST_F(WebhookReceiverTest, ErrorsCarryNoSecret) {
  // The server echoes everything it got, as some proxies and debugging endpoints do.
  HttpTestServer server([](const HttpTestRequest& request) {
    std::string echo = request.method + " " + request.target + "\n";
    for (const auto& [name, value] : request.headers) echo += name + ": " + value + "\n";
    return HttpTestResponse::Text(echo, 502);
  });
  const std::vector<std::string> secrets = {"user-5a5a", "pw-5b5b5b",  "T0KEN-5c5c",
                                            "q-5d5d5d",  "hdr-5e5e5e", "bearer-5f5f"};
  const std::string more =
      "headers = { X-Api-Key = \"hdr-5e5e5e\" }\nbearer_token = \"bearer-5f5f\"\n";
  const std::string path = "/hooks/T0KEN-5c5c?token=q-5d5d5d";
  auto receiver =
      Make("http://user-5a5a:pw-5b5b5b@127.0.0.1:" + std::to_string(server.port()) + path, more);
  const Delivery answered = SendOnce(*receiver, firing_);
  EXPECT_EQ(answered.outcome, Outcome::kRetry);
  ASSERT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.Requests()[0].Header("X-Api-Key"), "hdr-5e5e5e");  // it was sent

  const int port = kpid::testing::FreePort();
  auto refused = Make("http://user-5a5a:pw-5b5b5b@127.0.0.1:" + std::to_string(port) + path, more);
  const Delivery unanswered = SendOnce(*refused, firing_);
  EXPECT_EQ(unanswered.outcome, Outcome::kRetry);

  for (const Delivery& d : {answered, unanswered}) {
    EXPECT_NE(d.error.find("127.0.0.1:"), std::string::npos) << d.error;
    EXPECT_EQ(d.error.find("/hooks"), std::string::npos) << d.error;
    for (const std::string& secret : secrets) {
      EXPECT_EQ(d.error.find(secret), std::string::npos) << secret << " in: " << d.error;
    }
  }
}

TEST_F(WebhookReceiverTest, LargeResponsesAreCutShort) {
  std::atomic<int> calls{0};
  HttpTestServer server([&](const HttpTestRequest&) {
    return HttpTestResponse::Text(std::string(4 << 20, 'x'), ++calls == 1 ? 200 : 500);
  });
  auto receiver = Make(server.Url("/hook"));
  const Delivery ok = SendOnce(*receiver, firing_);
  EXPECT_EQ(ok.outcome, Outcome::kDelivered) << ok.error;
  const Delivery failed = SendOnce(*receiver, firing_);
  EXPECT_EQ(failed.outcome, Outcome::kRetry);
  EXPECT_NE(failed.error.find("HTTP 500"), std::string::npos) << failed.error;
  EXPECT_LT(failed.error.size(), 400u);
}

TEST_F(WebhookReceiverTest, ConcurrentSendsEachCompleteOnce) {
  HttpTestServer server([](const HttpTestRequest& request) {
    HttpTestResponse r = HttpTestResponse::Text("", 200);
    if (request.body.find("churn") != std::string::npos) r.status = 500;
    r.delay = 50ms;
    return r;
  });
  auto receiver = Make(server.Url("/hook"));
  std::vector<Delivery> deliveries;
  for (const char* kpi : {"revenue", "churn", "signups"}) {
    receiver->Send(MakeNotification({MakeAlert(kpi, true)}),
                   [&](Delivery d) { deliveries.push_back(std::move(d)); });
  }
  ASSERT_TRUE(RunUntil(io_, [&] { return deliveries.size() == 3; }));
  io_.poll();
  ASSERT_EQ(deliveries.size(), 3u);
  int retries = 0;
  for (const Delivery& d : deliveries) retries += d.outcome == Outcome::kRetry ? 1 : 0;
  EXPECT_EQ(retries, 1);
}

TEST_F(WebhookReceiverTest, DestroyingTheReceiverAbandonsTheAttempt) {
  std::atomic<bool> release{false};
  HttpTestServer server([&](const HttpTestRequest&) {
    HttpTestResponse r = HttpTestResponse::Text("", 200);
    r.delay = 60s;
    r.release = [&] { return release.load(); };
    return r;
  });
  auto receiver = Make(server.Url("/hook"));
  int calls = 0;
  receiver->Send(firing_, [&](Delivery) { ++calls; });
  ASSERT_TRUE(RunUntil(io_, [&] { return server.in_flight() == 1; }));
  receiver.reset();
  EXPECT_EQ(curl_->in_flight(), 0u);
  release = true;
  io_.restart();
  io_.poll();
  EXPECT_EQ(calls, 0);
}

TEST_F(WebhookReceiverTest, DestroyingTheReceiverFromADoneAbandonsTheOthers) {
  // Timeouts set together expire together: CurlMulti then completes several transfers in
  // one batch, where the first `done` destroys the receiver of the others.
  std::atomic<bool> release{false};
  HttpTestServer server([&](const HttpTestRequest&) {
    HttpTestResponse r = HttpTestResponse::Text("", 200);
    r.delay = 60s;
    r.release = [&] { return release.load(); };
    return r;
  });
  auto receiver = Make(server.Url("/hook"), "timeout = \"200ms\"\n");
  int calls = 0;
  for (int i = 0; i < 8; ++i) {
    receiver->Send(firing_, [&](Delivery) {
      ++calls;
      receiver.reset();
    });
  }
  ASSERT_TRUE(RunUntil(io_, [&] { return calls > 0; }));
  release = true;
  RunUntil(
      io_, [&] { return curl_->in_flight() == 0; }, 5s);
  io_.restart();
  io_.poll();
  EXPECT_EQ(calls, 1);
}

TEST_F(WebhookReceiverTest, HeaderWithALineBreakFailsWithoutItsValue) {
  auto settings = std::make_shared<webhook::Settings>();
  settings->url = config::Secret("http://127.0.0.1:9/hook");
  settings->headers.emplace_back("X-Injected", config::Secret("v-5a5a\r\nX-Evil: 1"));
  config::Receiver rc;
  rc.name = "ops-hook";
  rc.type = "webhook";
  rc.settings = settings;
  auto receiver = webhook::MakeReceiver(rc, context_);
  const Delivery d = SendOnce(*receiver, firing_);
  EXPECT_EQ(d.outcome, Outcome::kFailed);
  EXPECT_NE(d.error.find("X-Injected"), std::string::npos) << d.error;
  EXPECT_EQ(d.error.find("v-5a5a"), std::string::npos) << d.error;
}

TEST_F(WebhookReceiverTest, MissingSettingsFailFromTheLoop) {
  config::Receiver rc;
  rc.name = "ops-hook";
  rc.type = "webhook";
  auto receiver = webhook::MakeReceiver(rc, context_);
  const Delivery d = SendOnce(*receiver, firing_);
  EXPECT_EQ(d.outcome, Outcome::kFailed);
  EXPECT_EQ(d.error, "webhook \"ops-hook\": no URL configured");
}

}  // namespace
}  // namespace kpid::notify
