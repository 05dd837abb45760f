// Notifications end to end with the real binary: a SQLite-backed KPI goes off track and
// back; file and webhook receivers get the firing and the resolve once each; a webhook that
// fails for a while gets everything once it recovers; kill -9 while a delivery is in flight
// loses nothing and repeats nothing that was acknowledged.
#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"

namespace kpid {
namespace {

using ::testing::HasSubstr;
using testing::HttpGet;
using testing::HttpTestRequest;
using testing::HttpTestResponse;
using testing::HttpTestServer;
using testing::RunCommand;
using testing::Subprocess;
using testing::TempDir;
using testing::WaitFor;
using Json = nlohmann::json;

class NotifyE2eTest : public ::testing::Test {
 protected:
  NotifyE2eTest()
      : hook_([this](const HttpTestRequest&) {
          HttpTestResponse response = HttpTestResponse::Json("{}", status_.load());
          if (hold_.load()) response.delay = std::chrono::seconds(30);
          return response;
        }) {}

  void SetUp() override {
    port_ = testing::FreePort();
    Sql("CREATE TABLE kpi (name TEXT PRIMARY KEY, value REAL);"
        "INSERT INTO kpi VALUES ('churn', 1);");
    const std::string d = dir_.path().string();
    config_ = dir_.Write("kpid.toml", R"([server]
listen = "127.0.0.1:)" + std::to_string(port_) +
                                          R"("

[storage]
path = ")" + d + R"(/kpid.db"

[evaluation]
interval = "1s"

[[source]]
name = "db"
type = "sql"
driver = "sqlite3"
connection = ")" + d + R"(/data.db"

[[kpi]]
name = "churn"
title = "Monthly churn"
unit = "%"
labels = { team = "crm" }
source = "db"
query = "SELECT value FROM kpi WHERE name = 'churn'"
interval = "1s"
  [kpi.goal]
  max = 3

[[route]]
match = { team = "crm" }
receivers = ["audit", "hook"]
group_wait = "0s"
group_interval = "1s"

[[receiver]]
name = "audit"
type = "file"
path = ")" + d + R"(/notifications.jsonl"

[[receiver]]
name = "hook"
type = "webhook"
url = ")" + hook_.Url("/alerts") + R"("
timeout = "2s"
)");
  }

  void Sql(const std::string& statement) const {
    std::string out;
    ASSERT_EQ(RunCommand("sqlite3 " + (dir_.path() / "data.db").string() + " \"" + statement + "\"",
                         &out),
              0)
        << out;
  }

  std::unique_ptr<Subprocess> Start(int run) const {
    return std::make_unique<Subprocess>(
        std::vector<std::string>{KPID_BINARY, "run", "--config", config_.string()},
        dir_.path() / ("run" + std::to_string(run) + ".log"));
  }

  // The statuses ("firing"/"resolved") of the payloads the file receiver wrote, in order.
  std::vector<std::string> FileStatuses() const {
    std::vector<std::string> out;
    std::ifstream in(dir_.path() / "notifications.jsonl");
    std::string line;
    while (std::getline(in, line)) out.push_back(Json::parse(line)["status"]);
    return out;
  }

  // The statuses of the webhook requests answered with 2xx so far... and all of them.
  std::vector<std::string> HookStatuses() const {
    std::vector<std::string> out;
    for (const HttpTestRequest& r : hook_.Requests()) out.push_back(Json::parse(r.body)["status"]);
    return out;
  }

  std::string Metrics() const {
    return HttpGet("http://127.0.0.1:" + std::to_string(port_) + "/metrics").body;
  }

  TempDir dir_;
  std::atomic<unsigned> status_{200};
  std::atomic<bool> hold_{false};
  HttpTestServer hook_;
  int port_ = 0;
  std::filesystem::path config_;
};

TEST_F(NotifyE2eTest, FiringAndResolvedReachEveryReceiverOnce) {
  auto kpid = Start(1);
  ASSERT_TRUE(WaitFor([&] {
    return Metrics().find("kpi_status{kpi=\"churn\",team=\"crm\",status=\"on_track\"} 1") !=
           std::string::npos;
  })) << kpid->Output();
  Sql("UPDATE kpi SET value = 4.5 WHERE name = 'churn';");
  ASSERT_TRUE(WaitFor([&] { return FileStatuses().size() == 1 && HookStatuses().size() == 1; }))
      << kpid->Output();
  Sql("UPDATE kpi SET value = 2 WHERE name = 'churn';");
  ASSERT_TRUE(WaitFor([&] { return FileStatuses().size() == 2 && HookStatuses().size() == 2; }))
      << kpid->Output();
  // A few more evaluations: nothing more is sent.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(FileStatuses(), (std::vector<std::string>{"firing", "resolved"}));
  EXPECT_EQ(HookStatuses(), (std::vector<std::string>{"firing", "resolved"}));

  const Json firing = Json::parse(hook_.Requests()[0].body);
  EXPECT_EQ(firing["version"], "4");
  EXPECT_EQ(firing["receiver"], "hook");
  EXPECT_EQ(firing["alerts"][0]["labels"]["alert"], "churn/goal");
  EXPECT_EQ(firing["alerts"][0]["labels"]["status"], "off_track");
  EXPECT_EQ(firing["alerts"][0]["labels"]["team"], "crm");
  EXPECT_EQ(firing["alerts"][0]["annotations"]["summary"],
            "Monthly churn is off track: 4.5 %, max 3 %");
  EXPECT_EQ(hook_.Requests()[0].Header("Content-Type"), "application/json");
  const std::string metrics = Metrics();
  EXPECT_THAT(metrics,
              HasSubstr("kpid_notifications_total{receiver=\"hook\",result=\"delivered\"} 2"));
  EXPECT_THAT(metrics,
              HasSubstr("kpid_notifications_total{receiver=\"audit\",result=\"delivered\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("kpid_notification_queue_length 0"));
  kpid->Signal(SIGTERM);
  EXPECT_EQ(kpid->Wait(std::chrono::seconds(10)), 0);
}

TEST_F(NotifyE2eTest, AWebhookThatFailsForAWhileGetsEverythingOnce) {
  status_ = 500;
  auto kpid = Start(1);
  Sql("UPDATE kpi SET value = 4.5 WHERE name = 'churn';");
  ASSERT_TRUE(WaitFor([&] { return hook_.request_count() >= 2; })) << kpid->Output();
  EXPECT_EQ(FileStatuses().size(), 1u) << "the file receiver is not held up";
  EXPECT_THAT(Metrics(), HasSubstr("kpid_notifications_total{receiver=\"hook\",result=\"retry\"}"));
  EXPECT_THAT(kpid->Output(), HasSubstr("will retry"));
  status_ = 200;
  ASSERT_TRUE(WaitFor([&] {
    return Metrics().find("kpid_notifications_total{receiver=\"hook\",result=\"delivered\"} 1") !=
           std::string::npos;
  })) << kpid->Output();
  kpid->Signal(SIGTERM);
  EXPECT_EQ(kpid->Wait(std::chrono::seconds(10)), 0);
}

TEST_F(NotifyE2eTest, Kill9MidDeliveryLosesNothingAndRepeatsNothingAcknowledged) {
  hold_ = true;  // the webhook takes the request and does not answer
  auto run1 = Start(1);
  Sql("UPDATE kpi SET value = 4.5 WHERE name = 'churn';");
  ASSERT_TRUE(WaitFor([&] { return hook_.request_count() >= 1 && FileStatuses().size() == 1; }))
      << run1->Output();
  run1->Signal(SIGKILL);
  run1->Wait(std::chrono::seconds(10));

  hold_ = false;
  const std::size_t before = hook_.request_count();
  auto run2 = Start(2);
  ASSERT_TRUE(WaitFor([&] {
    return Metrics().find("kpid_notifications_total{receiver=\"hook\",result=\"delivered\"} 1") !=
           std::string::npos;
  })) << run2->Output();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(hook_.request_count(), before + 1) << "the unacknowledged one, once more";
  EXPECT_EQ(FileStatuses().size(), 1u) << "the file had it: not repeated";
  EXPECT_THAT(run2->Output(), HasSubstr("notification outbox restored pending=1"));
  run2->Signal(SIGTERM);
  EXPECT_EQ(run2->Wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace kpid
