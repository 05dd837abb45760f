// The `alertmanager` receiver: its request against a scripted server, and its alerts in a
// real Alertmanager (Debian prometheus-alertmanager, TEST-PEERS.md).
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "collectors/http/curl_multi.hpp"
#include "daemon/load_config.hpp"
#include "daemon/notify/alertmanager/receiver.hpp"
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

constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";

// Whole milliseconds: Alertmanager answers times with millisecond precision.
TimePoint NowMs() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

Notification MakeNotification(const std::string& kpi, bool firing, TimePoint starts,
                              std::optional<TimePoint> ends = std::nullopt) {
  Alert a;
  a.firing = firing;
  a.labels = {{"kpi", kpi}, {"alert", "goal"}, {"severity", "critical"}, {"team", "finance"}};
  a.annotations = {{"summary", kpi + " is off track"}};
  a.starts_at = starts;
  a.ends_at = ends;
  a.generator_url = "http://kpid.example:9464/kpi/" + kpi;
  a.fingerprint = Fingerprint(kpi + "/goal");
  Notification n;
  n.receiver = "am";
  n.group_key = "{}:{}";
  n.external_url = "http://kpid.example:9464";
  n.alerts.push_back(std::move(a));
  n.ComputeCommon();
  return n;
}

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

class AlertmanagerReceiverTest : public ::testing::Test {
 protected:
  std::unique_ptr<Receiver> Make(const std::string& url, const std::string& more = "") {
    const std::string text =
        "[[receiver]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"" + url + "\"\n" + more;
    config::LoadResult result = config::LoadFromString(text, "t.toml", BuiltinExtensions());
    if (!result.config) {
      ADD_FAILURE() << "config does not load";
      return nullptr;
    }
    return alertmanager::MakeReceiver(result.config->receivers.at(0), context_);
  }

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
};

TEST(AlertmanagerBody, FiringHasNoEndResolvedHasOne) {
  const TimePoint start = TimePoint(std::chrono::milliseconds(1772366400250));
  Notification n = MakeNotification("revenue", true, start);
  n.alerts.push_back(MakeNotification("churn", false, start, start + 1h).alerts[0]);
  n.alerts[0].labels.emplace_back("region", "");  // empty: absent, as in Prometheus
  const Json body = Json::parse(alertmanager::AlertsBody(n).dump());
  ASSERT_TRUE(body.is_array());
  ASSERT_EQ(body.size(), 2u);
  EXPECT_EQ(body[0], Json::parse(R"({
    "labels": {"alert": "goal", "kpi": "revenue", "severity": "critical", "team": "finance"},
    "annotations": {"summary": "revenue is off track"},
    "startsAt": "2026-03-01T12:00:00.250Z",
    "generatorURL": "http://kpid.example:9464/kpi/revenue"})"));
  EXPECT_EQ(body[1]["endsAt"], "2026-03-01T13:00:00.250Z");
  EXPECT_EQ(body[1]["labels"]["kpi"], "churn");
}

TEST_F(AlertmanagerReceiverTest, PostsToTheAlertsApiUnderTheBaseUrl) {
  HttpTestServer server([](const HttpTestRequest&) { return HttpTestResponse::Json("", 200); });
  auto receiver = Make(server.Url("/am/"), "bearer_token = \"am-tok-1234\"\n");
  const Notification n = MakeNotification("revenue", true, NowMs());
  const Delivery d = SendOnce(*receiver, n);
  EXPECT_EQ(d.outcome, Outcome::kDelivered) << d.error;
  const std::vector<HttpTestRequest> requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/am/api/v2/alerts");
  EXPECT_EQ(requests[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer am-tok-1234");
  EXPECT_EQ(Json::parse(requests[0].body), Json::parse(alertmanager::AlertsBody(n).dump()));
}

TEST_F(AlertmanagerReceiverTest, StatusesAreClassifiedLikeTheWebhooks) {
  HttpTestServer server([](const HttpTestRequest& request) {
    HttpTestResponse r = HttpTestResponse::Text("", 200);
    if (request.body.find("\"kpi\":\"busy\"") != std::string::npos) {
      r.status = 429;
      r.headers.emplace_back("Retry-After", "30");
    } else if (request.body.find("\"kpi\":\"broken\"") != std::string::npos) {
      r.status = 500;
    }
    return r;
  });
  auto receiver = Make(server.Url("/"));
  const Delivery busy = SendOnce(*receiver, MakeNotification("busy", true, NowMs()));
  EXPECT_EQ(busy.outcome, Outcome::kRetry);
  EXPECT_EQ(busy.retry_after, std::optional<std::chrono::seconds>(30s));
  const Delivery broken = SendOnce(*receiver, MakeNotification("broken", true, NowMs()));
  EXPECT_EQ(broken.outcome, Outcome::kRetry);
  EXPECT_EQ(broken.error, "alertmanager \"am\": HTTP 500 Internal Server Error from 127.0.0.1:" +
                              std::to_string(server.port()));
}

// A real Alertmanager in a temporary directory, on a free port, without clustering.
class AlertmanagerServer {
 public:
  static std::unique_ptr<AlertmanagerServer> Start(std::string* error) {
    std::unique_ptr<AlertmanagerServer> am(new AlertmanagerServer());
    const std::filesystem::path config = am->dir_.Write("am.yml",
                                                        "route:\n"
                                                        "  receiver: blackhole\n"
                                                        "receivers:\n"
                                                        "  - name: blackhole\n");
    am->port_ = kpid::testing::FreePort();
    am->process_ = std::make_unique<kpid::testing::Subprocess>(
        std::vector<std::string>{kAlertmanager, "--config.file=" + config.string(),
                                 "--storage.path=" + (am->dir_.path() / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(am->port_),
                                 "--cluster.listen-address=", "--log.level=warn"},
        am->dir_.path() / "log");
    // Stops it if this test process dies first (killed by a timeout, say).
    am->watchdog_ = std::make_unique<kpid::testing::Subprocess>(
        std::vector<std::string>{"/bin/sh", "-c",
                                 "while kill -0 " + std::to_string(getpid()) +
                                     " 2>/dev/null; do sleep 1; done; kill " +
                                     std::to_string(am->process_->pid())},
        "/dev/null");
    const bool ready = kpid::testing::WaitFor(
        [&] { return kpid::testing::HttpGet(am->Url("/-/ready")).status == 200; }, 30s);
    if (!ready) {
      *error = "Alertmanager did not become ready: " + am->process_->Output();
      return nullptr;
    }
    return am;
  }

  std::string Url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // The alerts GET /api/v2/alerts<query> lists with label kpi = `kpi`.
  std::vector<Json> Alerts(const std::string& kpi, const std::string& query = "") const {
    const kpid::testing::HttpResult r = kpid::testing::HttpGet(Url("/api/v2/alerts" + query));
    std::vector<Json> out;
    if (r.status != 200) return out;
    const Json all = Json::parse(r.body, nullptr, false);
    if (!all.is_array()) return out;
    for (const Json& a : all) {
      if (a["labels"].value("kpi", "") == kpi) out.push_back(a);
    }
    return out;
  }

 private:
  AlertmanagerServer() = default;

  kpid::testing::TempDir dir_;
  int port_ = 0;
  std::unique_ptr<kpid::testing::Subprocess> process_;  // SIGKILLed on destruction
  std::unique_ptr<kpid::testing::Subprocess> watchdog_;
};

class RealAlertmanagerTest : public AlertmanagerReceiverTest {
 protected:
  void SetUp() override {
    if (access(kAlertmanager, X_OK) != 0) {
      GTEST_SKIP() << kAlertmanager
                   << " not found (Debian package prometheus-alertmanager); "
                      "deploy/install-deps.sh installs it";
    }
    std::string error;
    am_ = AlertmanagerServer::Start(&error);
    ASSERT_TRUE(am_) << error;
  }

  std::unique_ptr<AlertmanagerServer> am_;
};

TEST_F(RealAlertmanagerTest, FiringAlertIsActiveAndResolvedOneIsNot) {
  auto receiver = Make(am_->Url());
  const TimePoint start = NowMs() - 10min;
  const Notification firing = MakeNotification("revenue", true, start);
  const Delivery posted = SendOnce(*receiver, firing);
  ASSERT_EQ(posted.outcome, Outcome::kDelivered) << posted.error;

  std::vector<Json> active;
  ASSERT_TRUE(kpid::testing::WaitFor([&] {
    active = am_->Alerts("revenue", "?active=true");
    return !active.empty();
  }));
  ASSERT_EQ(active.size(), 1u);
  const Json& a = active[0];
  EXPECT_EQ(a["labels"], Json::parse(R"({"alert": "goal", "kpi": "revenue",
                                         "severity": "critical", "team": "finance"})"));
  EXPECT_EQ(a["annotations"]["summary"], "revenue is off track");
  EXPECT_EQ(a["startsAt"], FormatTime(start));
  EXPECT_EQ(a["generatorURL"], "http://kpid.example:9464/kpi/revenue");
  EXPECT_EQ(a["status"]["state"], "active");

  const Notification resolved = MakeNotification("revenue", false, start, NowMs());
  const Delivery ended = SendOnce(*receiver, resolved);
  ASSERT_EQ(ended.outcome, Outcome::kDelivered) << ended.error;
  // Alertmanager stops listing an alert once its endsAt has passed.
  EXPECT_TRUE(
      kpid::testing::WaitFor([&] { return am_->Alerts("revenue", "?active=true").empty(); }));
  EXPECT_TRUE(am_->Alerts("revenue").empty());
}

TEST_F(RealAlertmanagerTest, RejectedAlertsFailWithAlertmanagersReason) {
  auto receiver = Make(am_->Url());
  Notification n = MakeNotification("revenue", true, NowMs());
  n.alerts[0].labels = {{"kpi", ""}};  // no label left: Alertmanager refuses it
  const Delivery d = SendOnce(*receiver, n);
  EXPECT_EQ(d.outcome, Outcome::kFailed);
  EXPECT_NE(d.error.find("alertmanager \"am\": HTTP 400 Bad Request from " + am_->Url().substr(7)),
            std::string::npos)
      << d.error;
  EXPECT_NE(d.error.find("at least one label pair required"), std::string::npos) << d.error;
}

}  // namespace
}  // namespace kpid::notify
