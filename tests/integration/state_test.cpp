// End to end with the real binary and a SQLite source: one KPI per goal status on /metrics
// and /api/v1/kpis, and the state store across restarts (SIGKILL included): history, a
// running `for`, firing and resolved alerts; a store that cannot be opened.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include <date/date.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace kpid {
namespace {

using ::testing::HasSubstr;
using testing::HttpGet;
using testing::RunCommand;
using testing::Subprocess;
using testing::TempDir;
using testing::WaitFor;
using Json = nlohmann::json;

std::string Iso(std::chrono::system_clock::time_point t) {
  return date::format("%FT%TZ", std::chrono::floor<std::chrono::seconds>(t));
}

std::string Days(int days) {
  return Iso(std::chrono::system_clock::now() + std::chrono::hours(24) * days);
}

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::FreePort();
    Sql("CREATE TABLE kpi (name TEXT PRIMARY KEY, value REAL);");
  }

  void Sql(const std::string& statement) const {
    std::string out;
    ASSERT_EQ(RunCommand("sqlite3 " + (dir_.path() / "data.db").string() + " \"" + statement + "\"",
                         &out),
              0)
        << out;
  }

  void Set(const std::string& kpi, double value) const {
    Sql("INSERT OR REPLACE INTO kpi VALUES ('" + kpi + "', " + std::to_string(value) + ");");
  }

  // A config with `kpis` reading the table above, the store at `store`.
  std::filesystem::path WriteConfig(const std::string& kpis,
                                    const std::string& store = "kpid.db") const {
    const std::string d = dir_.path().string();
    return dir_.Write("kpid.toml", "[server]\nlisten = \"127.0.0.1:" + std::to_string(port_) +
                                       "\"\n\n[storage]\npath = \"" + d + "/" + store +
                                       "\"\n\n[evaluation]\ninterval = \"1s\"\n\n"
                                       "[[source]]\nname = \"db\"\ntype = \"sql\"\n"
                                       "driver = \"sqlite3\"\nconnection = \"" +
                                       d + "/data.db\"\n" + kpis);
  }

  // A KPI reading its own row every second.
  static std::string Kpi(const std::string& name, const std::string& goal) {
    return "\n[[kpi]]\nname = \"" + name + "\"\nsource = \"db\"\nquery = \"SELECT value FROM kpi " +
           "WHERE name = '" + name + "'\"\ninterval = \"1s\"\n  [kpi.goal]\n" + goal;
  }

  static std::string Deadline(int start_days, int deadline_days, const std::string& extra = "") {
    return "  baseline = 0\n  target = 100\n  start = " + Days(start_days) +
           "\n  deadline = " + Days(deadline_days) + "\n" + extra;
  }

  std::unique_ptr<Subprocess> Start(const std::filesystem::path& config, int run) const {
    return std::make_unique<Subprocess>(
        std::vector<std::string>{KPID_BINARY, "run", "--config", config.string()},
        dir_.path() / ("run" + std::to_string(run) + ".log"));
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::string Metrics() const { return HttpGet(Url("/metrics")).body; }

  Json Kpis() const {
    auto r = HttpGet(Url("/api/v1/kpis"));
    if (r.status != 200) return Json::object();
    return Json::parse(r.body);
  }

  Json KpiState(const std::string& name) const {
    auto r = HttpGet(Url("/api/v1/kpis/" + name));
    if (r.status != 200) return Json::object();
    return Json::parse(r.body);
  }

  // Waits for `n` more evaluation passes to be reported by the API.
  bool WaitEvaluations(int n) const {
    for (int i = 0; i < n; ++i) {
      Json before = Kpis().value("evaluated_at", Json());
      if (!WaitFor([&] {
            Json now = Kpis().value("evaluated_at", Json());
            return !now.is_null() && now != before;
          })) {
        return false;
      }
    }
    return true;
  }

  TempDir dir_;
  int port_ = 0;
};

TEST_F(StateTest, OneKpiPerStatusOnMetricsAndApi) {
  // Half way from start (-10 d) to deadline (+10 d): 50 % expected.
  const std::map<std::string, std::pair<std::string, double>> kpis = {
      {"on_track", {Deadline(-10, 10), 55}},
      {"at_risk", {Deadline(-10, 10), 40}},
      {"off_track", {Deadline(-10, 10), 20}},
      {"achieved", {Deadline(-10, 10), 120}},
      {"missed", {Deadline(-20, -1), 50}},
      {"band_ok", {"  max = 10\n  warn_max = 8\n", 5}},
      {"band_warn", {"  max = 10\n  warn_max = 8\n", 9}},
      {"band_out", {"  max = 10\n  warn_max = 8\n", 11}},
  };
  std::string text;
  for (const auto& [name, goal] : kpis) {
    text += Kpi(name, goal.first);
    Set(name, goal.second);
  }
  // No row at all: the query fails, so no_data once the first collection is done.
  text +=
      "\n[[kpi]]\nname = \"no_data\"\nsource = \"db\"\n"
      "query = \"SELECT value FROM missing_table\"\ninterval = \"1s\"\n"
      "  [kpi.goal]\n  max = 1\n";
  auto kpid = Start(WriteConfig(text), 1);

  const std::map<std::string, std::string> expected = {
      {"on_track", "on_track"}, {"at_risk", "at_risk"},    {"off_track", "off_track"},
      {"achieved", "achieved"}, {"missed", "missed"},      {"band_ok", "on_track"},
      {"band_warn", "at_risk"}, {"band_out", "off_track"}, {"no_data", "no_data"},
  };
  ASSERT_TRUE(WaitFor([&] {
    Json all = Kpis();
    if (!all.contains("kpis")) return false;
    return std::all_of(all["kpis"].begin(), all["kpis"].end(),
                       [](const Json& k) { return !k["status"].is_null(); });
  })) << kpid->Output();

  Json all = Kpis();
  std::map<std::string, Json> by_name;
  for (const Json& k : all["kpis"]) by_name[k["name"]] = k;
  const std::string metrics = Metrics();
  for (const auto& [kpi, status] : expected) {
    SCOPED_TRACE(kpi);
    EXPECT_EQ(by_name[kpi]["status"], status);
    EXPECT_THAT(metrics, HasSubstr("kpi_status{kpi=\"" + kpi + "\",status=\"" + status + "\"} 1"));
  }
  // Deadline goals: progress, expected, gap, days left.
  const Json& at_risk = by_name["at_risk"];
  EXPECT_DOUBLE_EQ(at_risk["progress"].get<double>(), 0.4);
  EXPECT_NEAR(at_risk["expected_progress"].get<double>(), 0.5, 0.01);
  EXPECT_NEAR(at_risk["expected"].get<double>(), 50, 1);
  EXPECT_NEAR(at_risk["gap"].get<double>(), 0.1, 0.01);
  EXPECT_NEAR(at_risk["days_left"].get<double>(), 10, 0.1);
  EXPECT_EQ(at_risk["goal"]["target"], 100);
  EXPECT_EQ(by_name["missed"]["days_left"], 0);
  EXPECT_EQ(by_name["no_data"]["error"]["kind"], "query");
  EXPECT_TRUE(by_name["no_data"]["value"].is_null());

  // The default notify_on is off_track, missed and no_data, with for = 0.
  for (const auto& [kpi, severity] : std::map<std::string, std::string>{{"off_track", "critical"},
                                                                        {"missed", "critical"},
                                                                        {"band_out", "critical"},
                                                                        {"no_data", "warning"}}) {
    SCOPED_TRACE(kpi);
    EXPECT_EQ(by_name[kpi]["alerts"][0]["state"], "firing");
    EXPECT_THAT(metrics, HasSubstr("kpi_alert_firing{kpi=\"" + kpi + "\",alert=\"" + kpi +
                                   "/goal\",severity=\"" + severity + "\"} 1"));
  }
  EXPECT_EQ(by_name["at_risk"]["alerts"][0]["state"], "inactive");
  EXPECT_THAT(metrics, HasSubstr("kpi_target{kpi=\"on_track\"} 100\n"));
  EXPECT_THAT(metrics, HasSubstr("kpi_progress_ratio{kpi=\"on_track\"} 0.55\n"));
  EXPECT_THAT(metrics, HasSubstr("kpi_deadline_timestamp_seconds{kpi=\"missed\"}"));
  std::string promtool;
  EXPECT_EQ(RunCommand("promtool check metrics", &promtool, metrics), 0) << promtool;

  // One KPI in detail, with its history; unknown names and bad times are clear errors.
  auto one = HttpGet(Url("/api/v1/kpis/on_track?since=2000-01-01T00:00:00Z"));
  ASSERT_EQ(one.status, 200);
  Json detail = Json::parse(one.body);
  ASSERT_FALSE(detail["history"].empty());
  EXPECT_EQ(detail["history"].back()["value"], 55);
  auto missing = HttpGet(Url("/api/v1/kpis/nope"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(missing.body, HasSubstr("no KPI named"));
  auto bad = HttpGet(Url("/api/v1/kpis/on_track?since=yesterday"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("RFC 3339"));

  kpid->Signal(SIGTERM);
  EXPECT_EQ(kpid->Wait(std::chrono::seconds(10)), 0);

  // `kpid eval` judges the same way, reading the store the daemon left.
  std::string out;
  EXPECT_EQ(RunCommand(std::string(KPID_BINARY) + " eval --format json --config " +
                           (dir_.path() / "kpid.toml").string() + " 2>/dev/null",
                       &out),
            1)
      << "the no_data KPI's collection fails";
  Json evaluated = Json::parse(out);
  ASSERT_EQ(evaluated.size(), expected.size()) << out;
  for (const Json& k : evaluated) {
    SCOPED_TRACE(k["name"].get<std::string>());
    EXPECT_EQ(k["status"], expected.at(k["name"]));
  }
  out.clear();
  EXPECT_EQ(RunCommand(std::string(KPID_BINARY) + " eval --kpi at_risk --config " +
                           (dir_.path() / "kpid.toml").string(),
                       &out),
            0);
  EXPECT_THAT(out, HasSubstr("STATUS"));
  EXPECT_THAT(out, ::testing::ContainsRegex("at_risk +40 +at_risk +40\\.0% +5"));
}

TEST_F(StateTest, AlertsAndHistorySurviveKill9) {
  // 20 % at half time is off track; the alert must hold for 3 s before it fires.
  Set("late", 20);
  auto config = WriteConfig(Kpi("late", Deadline(-10, 10, "  for = \"3s\"\n")));
  auto alert = [&] {
    Json alerts = KpiState("late").value("alerts", Json::array());
    return alerts.empty() ? Json() : alerts[0];
  };
  auto state = [&] {
    Json a = alert();
    return a.is_null() ? std::string() : a["state"].get<std::string>();
  };

  auto run1 = Start(config, 1);
  ASSERT_TRUE(WaitFor([&] { return state() == "pending"; })) << run1->Output();
  const Json active_since = alert()["active_since"];
  run1->Signal(SIGKILL);
  run1->Wait(std::chrono::seconds(10));

  // The running `for` continues from where it was.
  auto run2 = Start(config, 2);
  ASSERT_TRUE(WaitFor([&] { return state() == "firing"; })) << run2->Output();
  EXPECT_EQ(alert()["active_since"], active_since);
  const Json fired_at = alert()["fired_at"];
  ASSERT_TRUE(WaitFor(
      [&] { return run2->Output().find("alert firing alert=late/goal") != std::string::npos; }));
  run2->Signal(SIGKILL);
  run2->Wait(std::chrono::seconds(10));

  // Firing survives without a second notification.
  auto run3 = Start(config, 3);
  ASSERT_TRUE(WaitFor([&] { return !KpiState("late")["status"].is_null(); }));
  ASSERT_TRUE(WaitEvaluations(2));
  EXPECT_EQ(state(), "firing");
  EXPECT_EQ(alert()["fired_at"], fired_at);
  EXPECT_EQ(run3->Output().find("alert firing"), std::string::npos) << run3->Output();

  // Back on track: resolved once; after another kill it does not resolve again.
  Set("late", 60);
  ASSERT_TRUE(WaitFor([&] {
    return run3->Output().find("alert resolved alert=late/goal") != std::string::npos;
  })) << run3->Output();
  run3->Signal(SIGKILL);
  run3->Wait(std::chrono::seconds(10));
  auto run4 = Start(config, 4);
  ASSERT_TRUE(WaitFor([&] { return !KpiState("late")["status"].is_null(); }));
  ASSERT_TRUE(WaitEvaluations(2));
  EXPECT_EQ(KpiState("late")["status"], "on_track");
  EXPECT_EQ(run4->Output().find("alert resolved"), std::string::npos) << run4->Output();
  EXPECT_EQ(run4->Output().find("alert firing"), std::string::npos) << run4->Output();

  // The history holds the samples of every run, oldest first.
  Json history =
      Json::parse(HttpGet(Url("/api/v1/kpis/late?since=2000-01-01T00:00:00Z")).body)["history"];
  ASSERT_GE(history.size(), 4u);
  EXPECT_EQ(history.front()["value"], 20);
  EXPECT_EQ(history.back()["value"], 60);

  // until is inclusive; step gives the newest sample of each (t - step, t], stamped at t.
  const std::string first = history.front()["timestamp"];
  const std::string second = history[1]["timestamp"];
  Json upto = Json::parse(
      HttpGet(Url("/api/v1/kpis/late?since=" + first + "&until=" + second)).body)["history"];
  ASSERT_EQ(upto.size(), 2u) << upto;
  EXPECT_EQ(upto.back()["timestamp"], second);
  Json stepped =
      Json::parse(HttpGet(Url("/api/v1/kpis/late?since=" + first + "&step=1h")).body)["history"];
  ASSERT_EQ(stepped.size(), 1u) << stepped;
  EXPECT_EQ(stepped[0]["timestamp"], first);
  EXPECT_EQ(stepped[0]["value"], 20);
  for (const std::string& bad :
       {std::string("?since=" + second + "&until=" + first), std::string("?step=1h"),
        std::string("?since=" + first + "&step=0s"),
        std::string("?since=2000-01-01T00:00:00Z&step=1s")}) {
    auto res = HttpGet(Url("/api/v1/kpis/late" + bad));
    EXPECT_EQ(res.status, 400) << bad;
    EXPECT_TRUE(Json::parse(res.body).contains("error")) << res.body;
  }
  run4->Signal(SIGTERM);
  EXPECT_EQ(run4->Wait(std::chrono::seconds(10)), 0);
}

TEST_F(StateTest, Kill9DuringWritesLeavesAConsistentStore) {
  // 50 KPIs collected every second keep the store writing.
  std::string text;
  for (int i = 0; i < 50; ++i) {
    const std::string name = "k" + std::to_string(i);
    text += "\n[[kpi]]\nname = \"" + name +
            "\"\nsource = \"db\"\nquery = \"SELECT (julianday('now') - 2400000.5) * 86400\"\n"
            "interval = \"1s\"\n";
  }
  auto config = WriteConfig(text);
  std::mt19937 random(42);
  std::uniform_int_distribution<int> delay_ms(200, 1500);
  for (int run = 1; run <= 5; ++run) {
    auto kpid = Start(config, run);
    ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << kpid->Output();
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    kpid->Signal(SIGKILL);
    kpid->Wait(std::chrono::seconds(10));
  }
  std::string out;
  ASSERT_EQ(RunCommand("sqlite3 " + (dir_.path() / "kpid.db").string() +
                           " 'PRAGMA integrity_check; SELECT COUNT(DISTINCT kpi) FROM samples;'",
                       &out),
            0);
  EXPECT_EQ(out, "ok\n50\n");
}

TEST_F(StateTest, UnopenableStoreIsReportedAndRecovers) {
  Set("x", 1);
  auto config = WriteConfig(Kpi("x", "  max = 10\n"), "later/kpid.db");
  auto kpid = Start(config, 1);
  // Collection and evaluation go on; readiness and metrics say what is wrong.
  ASSERT_TRUE(WaitFor([&] {
    return Metrics().find("kpi_status{kpi=\"x\",status=\"on_track\"} 1") != std::string::npos;
  })) << kpid->Output();
  auto ready = HttpGet(Url("/-/ready"));
  EXPECT_EQ(ready.status, 503);
  EXPECT_THAT(ready.body, HasSubstr("state store failing"));
  EXPECT_THAT(ready.body, HasSubstr("later"));
  EXPECT_THAT(Metrics(), HasSubstr("kpid_store_up 0\n"));
  EXPECT_THAT(kpid->Output(), HasSubstr("state store failing"));

  // Once the directory exists, the store opens and what was collected meanwhile is written.
  std::filesystem::create_directory(dir_.path() / "later");
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << kpid->Output();
  EXPECT_THAT(Metrics(), HasSubstr("kpid_store_up 1\n"));
  Json history =
      Json::parse(HttpGet(Url("/api/v1/kpis/x?since=2000-01-01T00:00:00Z")).body)["history"];
  EXPECT_FALSE(history.empty());
  kpid->Signal(SIGTERM);
  EXPECT_EQ(kpid->Wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace kpid
