// The Slack receiver against a local HTTP server standing in for the webhook.
#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/executor_work_guard.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "collectors/http/curl_multi.hpp"
#include "daemon/notify/message.hpp"
#include "daemon/notify/slack/receiver.hpp"
#include "daemon/notify/slack/settings.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"

namespace kpid::notify::slack {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using kpid::testing::HttpTestRequest;
using kpid::testing::HttpTestResponse;
using kpid::testing::HttpTestServer;

constexpr std::string_view kToken = "XyZsecretTokenABC123";
constexpr std::string_view kPath = "/services/T0001/B0002/XyZsecretTokenABC123";

Alert MakeAlert(std::string kpi, std::string title, bool firing = true) {
  Alert a;
  a.firing = firing;
  a.labels = {{"kpi", kpi},
              {"alert", kpi + "/goal"},
              {"severity", "critical"},
              {"status", "off_track"},
              {"team", "<finance & ops>"}};
  a.annotations = {{"summary", "Behind plan: <b>act</b>"}};
  a.generator_url = "http://kpid.example:9464/kpi/" + kpi;
  a.fingerprint = Fingerprint(kpi + "/goal");
  a.figures.title = std::move(title);
  a.figures.unit = "EUR";
  a.figures.owner = "alice@example.com";
  a.figures.goal = "1200000 EUR by 2026-12-31";
  a.figures.value = 400000;
  a.figures.target = 1200000;
  a.figures.baseline = 0;
  a.figures.expected = 650000;
  a.figures.forecast = 1100000;
  a.figures.days_left = 42;
  return a;
}

Notification Sample() {
  Notification n;
  n.receiver = "team-slack";
  n.group_key = "{}:{team=\"finance\"}";
  n.group_labels = {{"team", "finance"}};
  n.external_url = "http://kpid.example:9464";
  n.alerts.push_back(MakeAlert("revenue", "Quarterly revenue"));
  n.ComputeCommon();
  return n;
}

class SlackReceiverTest : public ::testing::Test {
 protected:
  static config::Receiver Config(const std::string& url) {
    auto s = std::make_shared<Settings>();
    s->webhook_url = config::Secret(url);
    config::Receiver r;
    r.name = "team-slack";
    r.type = "slack";
    r.timeout = 20s;
    r.settings = s;
    return r;
  }

  Delivery Deliver(Receiver& receiver, const Notification& n) {
    int calls = 0;
    std::optional<Delivery> result;
    receiver.Send(n, [&](Delivery d) {
      ++calls;
      result = std::move(d);
    });
    EXPECT_EQ(calls, 0) << "done() called inside Send()";
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    io_.restart();
    {
      // The attempt may run off the io thread: keep run_one_for() waiting for its result.
      const auto work = boost::asio::make_work_guard(io_);
      while (!result && std::chrono::steady_clock::now() < deadline) io_.run_one_for(1s);
    }
    io_.restart();
    io_.poll();
    EXPECT_EQ(calls, 1);
    if (!result) return {Delivery::Outcome::kRetry, "test: no completion", std::nullopt};
    return *result;
  }

  // The error must say whose and where, never the URL's secret path.
  static void ExpectSafe(const Delivery& d, std::string_view host_port) {
    EXPECT_NE(d.error.find("slack \"team-slack\""), std::string::npos) << d.error;
    EXPECT_NE(d.error.find(host_port), std::string::npos) << d.error;
    EXPECT_EQ(d.error.find(kToken), std::string::npos) << d.error;
    EXPECT_EQ(d.error.find("/services/"), std::string::npos) << d.error;
  }

  boost::asio::io_context io_;
  collectors::http::CurlMulti curl_{io_};
  ReceiverContext context_{io_, curl_};
};

TEST_F(SlackReceiverTest, PostsBlockKit) {
  HttpTestServer server([](const HttpTestRequest&) { return HttpTestResponse::Text("ok"); });
  auto receiver = MakeReceiver(Config(server.Url(kPath)), context_);
  const Notification n = Sample();
  const Delivery d = Deliver(*receiver, n);
  ASSERT_EQ(d.outcome, Delivery::Outcome::kDelivered) << d.error;

  const std::vector<HttpTestRequest> requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpTestRequest& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, kPath);
  EXPECT_TRUE(r.Header("Content-Type").starts_with("application/json")) << r.Header("Content-Type");
  const Json body = Json::parse(r.body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << r.body;

  EXPECT_EQ(body["text"], Subject(n));
  const Json& blocks = body["blocks"];
  ASSERT_TRUE(blocks.is_array());
  ASSERT_GE(blocks.size(), 3u) << blocks.dump(2);
  EXPECT_EQ(blocks[0]["type"], "header");
  EXPECT_EQ(blocks[0]["text"]["type"], "plain_text");
  EXPECT_EQ(blocks[0]["text"]["text"], Subject(n));

  const Json& section = blocks[1];
  EXPECT_EQ(section["type"], "section");
  EXPECT_EQ(section["text"]["type"], "mrkdwn");
  const std::string text = section["text"]["text"];
  EXPECT_NE(text.find("<http://kpid.example:9464/kpi/revenue|Quarterly revenue is off track>"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Behind plan: &lt;b&gt;act&lt;/b&gt;"), std::string::npos) << text;
  std::vector<std::string> fields;
  for (const Json& f : section["fields"]) {
    EXPECT_EQ(f["type"], "mrkdwn");
    fields.push_back(f["text"]);
  }
  EXPECT_LE(fields.size(), 10u);
  const std::vector<std::string> expected = {"*Value*\n400000 EUR",
                                             "*Goal*\n1200000 EUR by 2026-12-31",
                                             "*Expected*\n650000 EUR",
                                             "*Status*\noff track",
                                             "*Forecast*\n1100000 EUR at the deadline",
                                             "*Days left*\n42",
                                             "*Owner*\nalice@example.com",
                                             "*Labels*\nteam=&lt;finance &amp; ops&gt;"};
  for (const std::string& e : expected) {
    EXPECT_NE(std::find(fields.begin(), fields.end(), e), fields.end()) << e;
  }

  const Json& context = blocks[2];
  EXPECT_EQ(context["type"], "context");
  EXPECT_EQ(context["elements"][0]["text"],
            "<http://kpid.example:9464/kpi/revenue|Open on the status page>");
}

TEST_F(SlackReceiverTest, RateLimitIsRetriedAfterTheAskedDelay) {
  HttpTestServer server([](const HttpTestRequest&) {
    HttpTestResponse r = HttpTestResponse::Text("rate_limited", 429);
    r.headers.emplace_back("Retry-After", "7");
    return r;
  });
  auto receiver = MakeReceiver(Config(server.Url(kPath)), context_);
  const Delivery d = Deliver(*receiver, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kRetry);
  ASSERT_TRUE(d.retry_after.has_value());
  EXPECT_EQ(*d.retry_after, 7s);
  EXPECT_NE(d.error.find("HTTP 429"), std::string::npos) << d.error;
  ExpectSafe(d, "127.0.0.1:" + std::to_string(server.port()));
}

TEST_F(SlackReceiverTest, ServerErrorIsRetriedClientErrorIsNot) {
  // The body echoes the path, as some proxies do: it must not reach the error.
  unsigned status = 500;
  HttpTestServer server([&status](const HttpTestRequest& request) {
    return HttpTestResponse::Text("no_service for " + request.target, status);
  });
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  auto receiver = MakeReceiver(Config(server.Url(kPath)), context_);
  Delivery d = Deliver(*receiver, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kRetry);
  EXPECT_FALSE(d.retry_after.has_value());
  EXPECT_NE(d.error.find("HTTP 500 from " + host), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("no_service"), std::string::npos) << d.error;
  ExpectSafe(d, host);

  status = 400;
  d = Deliver(*receiver, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kFailed);
  EXPECT_NE(d.error.find("HTTP 400 from " + host), std::string::npos) << d.error;
  ExpectSafe(d, host);

  status = 404;
  d = Deliver(*receiver, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kFailed);
  ExpectSafe(d, host);
}

TEST_F(SlackReceiverTest, ConnectionRefusedAndTimeoutAreRetried) {
  const int port = kpid::testing::FreePort();
  auto refused = MakeReceiver(
      Config("http://127.0.0.1:" + std::to_string(port) + std::string(kPath)), context_);
  Delivery d = Deliver(*refused, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kRetry);
  ExpectSafe(d, "127.0.0.1:" + std::to_string(port));

  HttpTestServer slow([](const HttpTestRequest&) {
    HttpTestResponse r = HttpTestResponse::Text("ok");
    r.delay = 10s;
    return r;
  });
  config::Receiver config = Config(slow.Url(kPath));
  config.timeout = 300ms;
  auto receiver = MakeReceiver(config, context_);
  d = Deliver(*receiver, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kRetry);
  EXPECT_NE(d.error.find("timeout after"), std::string::npos) << d.error;
  ExpectSafe(d, "127.0.0.1:" + std::to_string(slow.port()));
}

TEST_F(SlackReceiverTest, DestroyingTheReceiverAbandonsTheAttempt) {
  HttpTestServer slow([](const HttpTestRequest&) {
    HttpTestResponse r = HttpTestResponse::Text("ok");
    r.delay = 2s;
    return r;
  });
  auto receiver = MakeReceiver(Config(slow.Url(kPath)), context_);
  int calls = 0;
  receiver->Send(Sample(), [&](Delivery) { ++calls; });
  io_.run_for(100ms);
  receiver.reset();
  EXPECT_EQ(curl_.in_flight(), 0u);
  io_.restart();
  io_.run_for(100ms);
  EXPECT_EQ(calls, 0);
}

TEST(SlackPayloadTest, StaysWithinSlackLimits) {
  Notification n = Sample();
  n.alerts.clear();
  // A long title of multi-byte characters: the header is cut on a character boundary.
  std::string title;
  for (int i = 0; i < 100; ++i) title += "\u00fc\U0001F4B6";
  n.alerts.push_back(MakeAlert("kpi0", title));
  Json single = Payload(n);
  const std::string header = single["blocks"][0]["text"]["text"];
  EXPECT_TRUE(header.ends_with("\u2026")) << header;
  EXPECT_EQ(TruncateText(header, 150), header);  // at most 150 UTF-16 units
  // Valid UTF-8 all through: dump() throws on anything else.
  EXPECT_NO_THROW((void)single.dump());

  for (int i = 1; i < 60; ++i) {
    n.alerts.push_back(MakeAlert("kpi" + std::to_string(i), "KPI " + std::to_string(i)));
  }
  n.alerts[59].firing = false;
  const Json payload = Payload(n);
  const Json& blocks = payload["blocks"];
  EXPECT_LE(blocks.size(), 50u);
  EXPECT_EQ(blocks.back()["type"], "context");
  const std::string more = blocks.back()["elements"][0]["text"];
  EXPECT_NE(more.find("more"), std::string::npos) << more;
  EXPECT_NE(more.find("<http://kpid.example:9464|the status page>"), std::string::npos) << more;
  std::size_t sections = 0;
  for (const Json& b : blocks) {
    if (b["type"] == "section") {
      ++sections;
      EXPECT_LE(b["fields"].size(), 10u);
    }
  }
  EXPECT_EQ(more, "\u2026and " + std::to_string(60 - sections) +
                      " more on <http://kpid.example:9464|the status page>");
  EXPECT_EQ(payload["text"], Subject(n));
  EXPECT_EQ(Subject(n), "[FIRING:59] team=finance: 59 KPIs need attention, 1 resolved");
}

TEST(SlackPayloadTest, TestNotificationSaysSo) {
  Notification n = Sample();
  n.test = true;
  const Json payload = Payload(n);
  EXPECT_EQ(payload["blocks"][1]["type"], "context");
  EXPECT_NE(payload["blocks"][1]["elements"][0]["text"].get<std::string>().find("test"),
            std::string::npos);
}

}  // namespace
}  // namespace kpid::notify::slack
