// Notifications end to end with the real binary: a SQLite-backed KPI goes off track and
// back; file and webhook receivers get the firing and the resolve once each; a webhook that
// fails for a while gets everything once it recovers; kill -9 while a delivery is in flight
// loses nothing and repeats nothing that was acknowledged; silences made through the API
// hold notifications back and survive a restart; a digest that fell due while kpid was
// down is sent once after it starts, and not again after another restart; an escalation
// near a goal's deadline reaches its receiver.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/smtp_server.hpp"

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

  void ReplaceInConfig(const std::string& from, const std::string& to) const {
    std::ifstream in(config_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    std::ofstream(config_) << text;
  }

  // Inserts `text` into the config: after the [server] listen line, or at the end.
  void EditConfig(const std::string& server_line, const std::string& tail) const {
    std::ifstream in(config_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!server_line.empty()) {
      const std::size_t eol = text.find('\n', text.find("listen = "));
      text.insert(eol + 1, server_line + "\n");
    }
    text += tail;
    std::ofstream(config_) << text;
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Parsed JSON lines of the file receiver.
  std::vector<Json> FileLines() const {
    std::vector<Json> out;
    std::ifstream in(dir_.path() / "notifications.jsonl");
    std::string line;
    while (std::getline(in, line)) out.push_back(Json::parse(line));
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

TEST_F(NotifyE2eTest, AnEmailReceiverGetsTheFiringAndTheResolveOnce) {
  testing::SmtpServer smtp;
  std::string error;
  ASSERT_TRUE(smtp.Start({}, &error)) << error;
  ReplaceInConfig(R"(receivers = ["audit", "hook"])", R"(receivers = ["audit", "mail"])");
  EditConfig("", R"(
[[receiver]]
name = "mail"
type = "email"
smtp_url = ")" + smtp.Url() +
                     R"("
from = "kpid@example.com"
to = ["crm-lead@example.com"]
)");
  auto kpid = Start(1);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << kpid->Output();
  Sql("UPDATE kpi SET value = 4.5 WHERE name = 'churn';");
  ASSERT_TRUE(WaitFor([&] { return smtp.MessageCount() == 1; })) << kpid->Output();
  Sql("UPDATE kpi SET value = 2 WHERE name = 'churn';");
  ASSERT_TRUE(WaitFor([&] { return smtp.MessageCount() == 2; })) << kpid->Output();
  Json firing = smtp.Parsed(1);
  EXPECT_EQ(firing["subject"], "[FIRING] Monthly churn is off track: 4.5 % (goal: at most 3 %)")
      << firing;
  EXPECT_TRUE(firing["date_ok"]) << firing;
  EXPECT_EQ(firing["type"], "multipart/alternative");
  Json resolved = smtp.Parsed(2);
  EXPECT_EQ(resolved["subject"],
            "[RESOLVED] Monthly churn is no longer off track: 2 % (goal: at most 3 %)")
      << resolved;
  std::this_thread::sleep_for(std::chrono::seconds(2));  // nothing more comes
  EXPECT_EQ(smtp.MessageCount(), 2U);
  kpid->Signal(SIGTERM);
  EXPECT_EQ(kpid->Wait(std::chrono::seconds(10)), 0);
}

TEST_F(NotifyE2eTest, ApiSilencesHoldNotificationsBackAndSurviveARestart) {
  std::filesystem::path token = dir_.Write("token", "s3cret\n");
  EditConfig("auth_token_file = \"" + token.string() + "\"", "");
  const std::vector<std::string> auth = {"Authorization: Bearer s3cret",
                                         "Content-Type: application/json"};
  auto run1 = Start(1);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << run1->Output();

  // Bad requests: no token, not JSON, no matcher, unknown key, ends in the past.
  const std::string good =
      R"({"match": {"kpi": "churn"}, "ends": "2099-01-01T00:00:00Z", "comment": "migration",)"
      R"( "created_by": "ops"})";
  EXPECT_EQ(testing::HttpRequest("POST", Url("/api/v1/silences"), good).status, 401);
  for (const std::string& bad :
       {std::string("{"), std::string(R"({"ends": "2099-01-01T00:00:00Z"})"),
        std::string(R"({"match": {"kpi": "churn"}, "ends": "2099-01-01", "color": 1})"),
        std::string(R"({"match": {"kpi": "churn"}, "ends": "2001-01-01T00:00:00Z"})"),
        std::string(R"({"match_re": {"kpi": "("}, "ends": "2099-01-01T00:00:00Z"})")}) {
    auto res = testing::HttpRequest("POST", Url("/api/v1/silences"), bad, auth);
    EXPECT_EQ(res.status, 400) << bad;
    EXPECT_TRUE(Json::parse(res.body).contains("error")) << res.body;
  }
  auto created = testing::HttpRequest("POST", Url("/api/v1/silences"), good, auth);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Json::parse(created.body)["id"];
  EXPECT_EQ(Json::parse(created.body)["state"], "active");

  // The alert fires, silenced: the API says so and nobody is told.
  Sql("UPDATE kpi SET value = 4.5 WHERE name = 'churn';");
  ASSERT_TRUE(WaitFor([&] {
    Json alerts = Json::parse(HttpGet(Url("/api/v1/alerts")).body)["alerts"];
    return alerts.size() == 1 && alerts[0]["state"] == "firing";
  })) << run1->Output();
  Json alert = Json::parse(HttpGet(Url("/api/v1/alerts")).body)["alerts"][0];
  EXPECT_EQ(alert["id"], "churn/goal");
  EXPECT_EQ(alert["labels"]["team"], "crm");
  EXPECT_EQ(alert["silenced_by"], Json::array({id}));
  EXPECT_EQ(Json::parse(HttpGet(Url("/api/v1/kpis/churn")).body)["alerts"][0]["silenced_by"],
            Json::array({id}));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // two evaluations: nothing may be sent
  EXPECT_TRUE(FileStatuses().empty());
  EXPECT_EQ(hook_.request_count(), 0U);

  // It survives a restart.
  run1->Signal(SIGTERM);
  ASSERT_EQ(run1->Wait(std::chrono::seconds(10)), 0);
  auto run2 = Start(2);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << run2->Output();
  Json listed = Json::parse(HttpGet(Url("/api/v1/silences")).body)["silences"];
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0]["id"], id);
  EXPECT_EQ(listed[0]["comment"], "migration");
  EXPECT_EQ(listed[0]["match"]["kpi"], "churn");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_TRUE(FileStatuses().empty());

  // Expired through the API: the held-back alert goes out at once, once.
  EXPECT_EQ(testing::HttpRequest("DELETE", Url("/api/v1/silences/" + id)).status, 401);
  EXPECT_EQ(testing::HttpRequest("DELETE", Url("/api/v1/silences/nope"), "", auth).status, 404);
  auto expired = testing::HttpRequest("DELETE", Url("/api/v1/silences/" + id), "", auth);
  ASSERT_EQ(expired.status, 200) << expired.body;
  EXPECT_EQ(Json::parse(expired.body)["state"], "expired");
  ASSERT_TRUE(WaitFor([&] { return FileStatuses() == std::vector<std::string>{"firing"}; }))
      << run2->Output();
  EXPECT_THAT(run2->Output(), HasSubstr("silence expired"));
  run2->Signal(SIGTERM);
  EXPECT_EQ(run2->Wait(std::chrono::seconds(10)), 0);
}

TEST_F(NotifyE2eTest, ADigestDueWhileDownIsSentOnceAfterStart) {
  testing::SmtpServer smtp;
  std::string error;
  ASSERT_TRUE(smtp.Start({}, &error)) << error;
  EditConfig("", R"(
[[receiver]]
name = "mail"
type = "email"
smtp_url = ")" + smtp.Url() +
                     R"("
from = "kpid@example.com"
to = ["crm-lead@example.com"]

[[digest]]
name = "weekly"
title = "Weekly CRM review"
schedule = "0 9 * * MON"
receivers = ["audit", "mail"]
match = { team = "crm" }
)");
  // The first run records when the digest was first seen; no digest yet.
  auto run1 = Start(1);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << run1->Output();
  run1->Signal(SIGTERM);
  ASSERT_EQ(run1->Wait(std::chrono::seconds(10)), 0);
  EXPECT_TRUE(FileLines().empty());

  // As if it last ran 8 days ago: a Monday 09:00 has passed since, while kpid was down.
  std::string out;
  ASSERT_EQ(RunCommand("sqlite3 " + (dir_.path() / "kpid.db").string() +
                           " \"UPDATE digest_runs SET at_ms = at_ms - 8 * 86400000 WHERE name = "
                           "'weekly';\"",
                       &out),
            0)
      << out;
  auto run2 = Start(2);
  ASSERT_TRUE(WaitFor([&] { return FileLines().size() == 1; })) << run2->Output();
  Json digest = FileLines()[0];
  EXPECT_EQ(digest["status"], "digest");
  EXPECT_EQ(digest["receiver"], "audit");
  EXPECT_EQ(digest["digest"]["title"], "Weekly CRM review");
  ASSERT_EQ(digest["digest"]["kpis"].size(), 1U);
  EXPECT_EQ(digest["digest"]["kpis"][0]["kpi"], "churn");
  EXPECT_EQ(digest["digest"]["kpis"][0]["status"], "on_track");
  EXPECT_EQ(digest["digest"]["kpis"][0]["value"], 1.0);
  EXPECT_FALSE(digest["digest"]["kpis"][0]["trend"].empty());
  // The same digest by email: a subject that counts statuses, text and HTML parts.
  ASSERT_TRUE(WaitFor([&] { return smtp.MessageCount() == 1; })) << run2->Output();
  Json mail = smtp.Parsed(1);
  EXPECT_EQ(mail["subject"], "[DIGEST] Weekly CRM review: 1 on track") << mail;
  EXPECT_EQ(mail["to"], "crm-lead@example.com");
  ASSERT_EQ(mail["parts"].size(), 2U) << mail;
  const std::string text = mail["parts"][0]["text"];
  EXPECT_NE(text.find("Monthly churn: on track"), std::string::npos) << text;
  EXPECT_NE(text.find("Trend:"), std::string::npos) << text;
  EXPECT_EQ(mail["parts"][1]["type"], "text/html");
  // Kept as test artifacts, to look at.
  std::filesystem::create_directories("artifacts");
  std::ofstream("artifacts/digest-email.txt") << text;
  std::ofstream("artifacts/digest-email.html") << std::string(mail["parts"][1]["text"]);
  EXPECT_NE(std::string(mail["parts"][1]["text"]).find("aria-label=\"trend\""), std::string::npos);
  run2->Signal(SIGTERM);
  ASSERT_EQ(run2->Wait(std::chrono::seconds(10)), 0);

  // Not again after another restart.
  auto run3 = Start(3);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << run3->Output();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(FileLines().size(), 1U);
  EXPECT_EQ(smtp.MessageCount(), 1U);
  run3->Signal(SIGTERM);
  EXPECT_EQ(run3->Wait(std::chrono::seconds(10)), 0);
}

// Both wait for the clock: an alert outside its route's active_time waits for the window
// to open, and a digest on "* * * * *" goes out at the next minute. One test, one wait.
TEST_F(NotifyE2eTest, ActiveTimeDefersUntilTheWindowOpensAndAMinuteDigestFires) {
  using std::chrono::system_clock;
  auto second_of_minute = [] {
    return std::chrono::floor<std::chrono::seconds>(system_clock::now().time_since_epoch())
               .count() %
           60;
  };
  // Leave the alert time to fire before the minute turns.
  if (second_of_minute() > 45)
    std::this_thread::sleep_for(std::chrono::seconds(61 - second_of_minute()));
  const auto opens = std::chrono::ceil<std::chrono::minutes>(system_clock::now());
  const auto minute_of_day = (opens.time_since_epoch().count() % (24 * 60) + 24 * 60) % (24 * 60);
  char window[32];
  if (minute_of_day == 0) {
    std::snprintf(window, sizeof window, "00:00-23:59");  // closed in the day's last minute
  } else {
    std::snprintf(window, sizeof window, "%02d:%02d-24:00", static_cast<int>(minute_of_day / 60),
                  static_cast<int>(minute_of_day % 60));
  }
  ReplaceInConfig("group_interval = \"1s\"\n",
                  "group_interval = \"1s\"\nactive_time = \"" + std::string(window) + "\"\n");
  EditConfig("", R"(
[[digest]]
name = "minutely"
schedule = "* * * * *"
receivers = ["audit"]
)");
  auto kpid = Start(1);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << kpid->Output();
  Sql("UPDATE kpi SET value = 4.5 WHERE name = 'churn';");
  ASSERT_TRUE(WaitFor([&] {
    Json alerts = Json::parse(HttpGet(Url("/api/v1/alerts")).body)["alerts"];
    return alerts.size() == 1 && alerts[0]["state"] == "firing";
  })) << kpid->Output();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  if (system_clock::now() < opens) {
    EXPECT_TRUE(FileLines().empty()) << "sent before the window opened";
    EXPECT_EQ(hook_.request_count(), 0U);
  }
  // The window opens at the minute: the alert goes out; so does the digest.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<std::string> statuses;
        for (const Json& line : FileLines()) statuses.push_back(line["status"]);
        return std::count(statuses.begin(), statuses.end(), "firing") == 1 &&
               std::count(statuses.begin(), statuses.end(), "digest") >= 1;
      },
      std::chrono::seconds(90)))
      << kpid->Output();
  EXPECT_GE(system_clock::now(), opens);
  ASSERT_TRUE(WaitFor([&] { return hook_.request_count() == 1; })) << kpid->Output();
  for (const Json& line : FileLines()) {
    if (line["status"] != "digest") continue;
    EXPECT_EQ(line["digest"]["name"], "minutely");
    EXPECT_EQ(line["digest"]["kpis"][0]["status"], "off_track");
  }
  kpid->Signal(SIGTERM);
  EXPECT_EQ(kpid->Wait(std::chrono::seconds(10)), 0);
}

// A goal off track two days before its deadline: the escalation receiver (the webhook,
// which no route names) gets the firing alert marked as escalated, then the resolve.
TEST_F(NotifyE2eTest, AnEscalationReachesItsReceiverNearTheDeadline) {
  Sql("INSERT INTO kpi VALUES ('revenue', 10);");
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const auto rfc3339 = [](std::chrono::system_clock::time_point t) {
    const std::time_t c = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&c, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  const auto day = std::chrono::hours(24);
  EditConfig("", R"(
[[kpi]]
name = "revenue"
source = "db"
query = "SELECT value FROM kpi WHERE name = 'revenue'"
interval = "1s"
  [kpi.goal]
  baseline = 0
  target = 100
  start = )" + rfc3339(now - 18 * day) +
                     R"(
  deadline = )" + rfc3339(now + 2 * day) +
                     R"(
  progress_events = []  # the escalation's messages only, not the 75 % event of 10 -> 95
  [[kpi.goal.escalate]]
  within = "3d"
  receivers = ["hook"]
  repeat_interval = "1h"

[[route]]
match = { kpi = "revenue" }
receivers = ["audit"]
group_wait = "0s"
group_interval = "1s"
)");
  auto kpid = Start(1);
  ASSERT_TRUE(WaitFor([&] { return HookStatuses().size() == 1; })) << kpid->Output();
  const Json firing = Json::parse(hook_.Requests()[0].body);
  EXPECT_EQ(firing["status"], "firing");
  EXPECT_EQ(firing["receiver"], "hook");
  EXPECT_EQ(firing["alerts"][0]["labels"]["alert"], "revenue/goal");
  EXPECT_EQ(firing["alerts"][0]["labels"]["status"], "off_track");
  EXPECT_EQ(firing["alerts"][0]["annotations"]["escalation"], "Escalated: 2 days to the deadline");
  Sql("UPDATE kpi SET value = 95 WHERE name = 'revenue';");
  ASSERT_TRUE(WaitFor([&] { return HookStatuses().size() == 2; })) << kpid->Output();
  EXPECT_EQ(HookStatuses(), (std::vector<std::string>{"firing", "resolved"}));
  EXPECT_EQ(FileStatuses(), (std::vector<std::string>{"firing", "resolved"}))
      << "the route's receiver is told as usual";
  EXPECT_THAT(Metrics(),
              HasSubstr("kpid_notifications_total{receiver=\"hook\",result=\"delivered\"} 2"));
  kpid->Signal(SIGTERM);
  EXPECT_EQ(kpid->Wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace kpid
