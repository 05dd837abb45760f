// Faults with the real binary (issue 7): each test injects one, checks that the daemon says
// so clearly in its log, metrics and /-/ready, that it keeps doing what the fault does not
// touch, that it recovers once the fault is gone, and that nothing is lost.
//   - PostgreSQL stopped and restarted mid-run;
//   - webhook and SMTP receivers down while alerts fire, then back;
//   - the state directory full (a tmpfs, where mount works) or a file-size limit;
//   - kill -9 at random moments, 50 times in a row, with a slow webhook;
//   - config reloads (SIGHUP and POST /-/reload) during a burst of notifications.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <date/date.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/servers.hpp"
#include "tests/support/smtp_server.hpp"

namespace kpid {
namespace {

using ::testing::HasSubstr;
using testing::HttpGet;
using testing::HttpTestRequest;
using testing::HttpTestResponse;
using testing::HttpTestServer;
using ::testing::Not;
using testing::RunCommand;
using testing::Subprocess;
using testing::TempDir;
using testing::WaitFor;
using Json = nlohmann::json;
using namespace std::chrono_literals;

// One series of the Prometheus text format.
struct Series {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Series> ParseMetrics(const std::string& text) {
  std::vector<Series> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Series s;
    std::size_t i = line.find_first_of("{ ");
    if (i == std::string::npos) continue;
    s.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const std::size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size()) break;
        std::string key = line.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 2;  // past ="
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) ++j;
          value += line[j];
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;
    }
    try {
      s.value = std::stod(line.substr(i));
    } catch (const std::exception&) {
      continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

// The sum of the series of `name` that carry every label of `match` (and, with `except`,
// whose `except.first` label is not `except.second`); nullopt when there is none.
std::optional<double> Sum(const std::string& metrics, const std::string& name,
                          const std::map<std::string, std::string>& match = {},
                          const std::pair<std::string, std::string>& except = {}) {
  std::optional<double> sum;
  for (const Series& s : ParseMetrics(metrics)) {
    if (s.name != name) continue;
    const bool all = std::all_of(match.begin(), match.end(), [&](const auto& kv) {
      auto it = s.labels.find(kv.first);
      return it != s.labels.end() && it->second == kv.second;
    });
    if (!all) continue;
    if (!except.first.empty()) {
      auto it = s.labels.find(except.first);
      if (it != s.labels.end() && it->second == except.second) continue;
    }
    sum = sum.value_or(0) + s.value;
  }
  return sum;
}

// The alerts of a notification's JSON (by value: a range-for over a member of the
// temporary that Json::parse returns would dangle).
Json Alerts(const std::string& body) { return Json::parse(body).value("alerts", Json::array()); }

// What one alert of a notification says: alert id, firing or resolved, goal status, and
// when (startsAt when firing, endsAt when resolved), as the webhook payload writes it.
std::string WebhookAlertKey(const Json& alert) {
  const bool firing = alert.at("status") == "firing";
  return alert.at("labels").value("alert", "") + "|" + alert.at("status").get<std::string>() + "|" +
         alert.at("labels").value("status", "") + "|" +
         alert.at(firing ? "startsAt" : "endsAt").get<std::string>();
}

// An API time (whole seconds written without a fraction) as the webhook writes it.
std::string WithMillis(std::string t) {
  if (t.find('.') == std::string::npos && t.ends_with("Z")) t.insert(t.size() - 1, ".000");
  return t;
}

// The same for an alert of an outbox row (the daemon's own notification JSON).
std::string OutboxAlertKey(const Json& alert) {
  const bool firing = alert.at("firing").get<bool>();
  std::string status;
  std::string id;
  for (const Json& pair : alert.at("labels")) {
    if (pair.at(0) == "status") status = pair.at(1);
    if (pair.at(0) == "alert") id = pair.at(1);
  }
  const std::int64_t ms = alert.at(firing ? "starts_at_ms" : "ends_at_ms").get<std::int64_t>();
  const date::sys_time<std::chrono::milliseconds> at{std::chrono::milliseconds(ms)};
  return id + "|" + (firing ? "firing" : "resolved") + "|" + status + "|" +
         date::format("%FT%TZ", at);
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override { port_ = testing::FreePort(); }

  // Runs SQL on the SQLite database the `db` source reads.
  void Sql(const std::string& statement) const {
    std::string out;
    ASSERT_EQ(RunCommand("sqlite3 " + (dir_.path() / "data.db").string() + " \"" + statement + "\"",
                         &out),
              0)
        << out;
  }

  // Creates the `kpi` table with `names` at `value`, in WAL mode so that the test's writes
  // never block the daemon's reads.
  void MakeTable(const std::vector<std::string>& names, double value) const {
    std::string sql =
        "PRAGMA journal_mode=WAL; CREATE TABLE kpi (name TEXT PRIMARY KEY, value REAL);";
    for (const std::string& n : names) {
      sql += "INSERT INTO kpi VALUES ('" + n + "', " + std::to_string(value) + ");";
    }
    std::string out;
    ASSERT_EQ(
        RunCommand("sqlite3 " + (dir_.path() / "data.db").string() + " \"" + sql + "\"", &out), 0)
        << out;
  }

  // The head of a config: listener, store, 1 s evaluation, the SQLite source `db`.
  std::string Head(const std::string& store = "kpid.db") const {
    const std::string d = dir_.path().string();
    return "[server]\nlisten = \"127.0.0.1:" + std::to_string(port_) +
           "\"\n\n[storage]\npath = \"" + (store.starts_with("/") ? store : d + "/" + store) +
           "\"\n\n[evaluation]\ninterval = \"1s\"\n\n[[source]]\nname = \"db\"\ntype = \"sql\"\n"
           "driver = \"sqlite3\"\nconnection = \"" +
           d + "/data.db\"\n";
  }

  // A KPI reading its row of the `kpi` table every second, with a band goal `max = 3`.
  static std::string BandKpi(const std::string& name, const std::string& extra = "") {
    return "\n[[kpi]]\nname = \"" + name + "\"\nsource = \"db\"\nquery = \"SELECT value FROM kpi " +
           "WHERE name = '" + name + "'\"\ninterval = \"1s\"\n" + extra +
           "  [kpi.goal]\n  max = 3\n";
  }

  // One route: every alert, one group per KPI, sent at once.
  static std::string Route(const std::string& receivers) {
    return "\n[[route]]\nreceivers = [" + receivers +
           "]\ngroup_by = [\"kpi\"]\ngroup_wait = \"0s\"\ngroup_interval = \"1s\"\n";
  }

  static std::string Webhook(const std::string& name, int port, const std::string& timeout = "2s") {
    return "\n[[receiver]]\nname = \"" + name +
           "\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:" + std::to_string(port) +
           "/alerts\"\ntimeout = \"" + timeout + "\"\n";
  }

  std::filesystem::path WriteConfig(const std::string& text) const {
    return dir_.Write("kpid.toml", text);
  }

  std::unique_ptr<Subprocess> Start(int run, std::vector<std::string> prefix = {}) const {
    std::vector<std::string> argv = std::move(prefix);
    argv.insert(argv.end(), {KPID_BINARY, "run", "--config", (dir_.path() / "kpid.toml").string()});
    return std::make_unique<Subprocess>(argv, dir_.path() / ("run" + std::to_string(run) + ".log"));
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::string Metrics() const { return HttpGet(Url("/metrics")).body; }

  double Metric(const std::string& name, const std::map<std::string, std::string>& match = {},
                const std::pair<std::string, std::string>& except = {}) const {
    return Sum(Metrics(), name, match, except).value_or(-1);
  }

  std::string Store() const { return (dir_.path() / "kpid.db").string(); }

  // Runs `sql` with the sqlite3 CLI on `db`; the output.
  static std::string StoreQuery(const std::string& db, const std::string& sql) {
    std::string out;
    if (RunCommand("sqlite3 " + db + " \"" + sql + "\"", &out) != 0) return "error: " + out;
    return out;
  }

  TempDir dir_;
  int port_ = 0;
};

// ---------------------------------------------------------------------------------------
// 1. PostgreSQL stopped and restarted while kpid runs.

TEST_F(FaultTest, PostgresDownThenBackWithoutARestart) {
  if (auto missing = testing::PostgresServer::Missing()) GTEST_SKIP() << *missing;
  std::string error;
  auto pg = testing::PostgresServer::Start(&error);
  ASSERT_TRUE(pg) << error;
  ASSERT_TRUE(
      pg->Exec("CREATE TABLE kpi (v double precision); INSERT INTO kpi VALUES (5); "
               "GRANT SELECT ON kpi TO " +
               pg->user() + ";"));
  const auto password = dir_.Write("pg-password", pg->password());
  const auto csv = dir_.Write("finance.csv", "orders\n7\n");
  WriteConfig(Head() + R"(
[[source]]
name = "warehouse"
type = "sql"
driver = "postgresql"
connection = ")" +
              pg->ConnectionString() +
              R"("
password_file = ")" +
              password.string() +
              R"("
timeout = "2s"

[[source]]
name = "finance"
type = "csv"
path = ")" + csv.string() +
              R"("

[[kpi]]
name = "revenue"
source = "warehouse"
query = "SELECT v FROM kpi"
interval = "1s"
  [kpi.goal]
  max = 100

[[kpi]]
name = "orders"
source = "finance"
column = "orders"
interval = "1s"
stale_after = "1h"  # the file's mtime is the sample's time
  [kpi.goal]
  max = 100
)");
  auto kpid = Start(1);
  const std::map<std::string, std::string> warehouse = {{"source", "warehouse"}};
  const std::map<std::string, std::string> finance = {{"source", "finance"}, {"result", "success"}};
  const std::pair<std::string, std::string> not_success = {"result", "success"};
  ASSERT_TRUE(WaitFor([&] {
    return Metric("kpi_value", {{"kpi", "revenue"}}) == 5 &&
           Metric("kpi_value", {{"kpi", "orders"}}) == 7;
  })) << kpid->Output();
  EXPECT_EQ(Metric("kpid_collector_runs_total", warehouse, not_success), 0);

  // Down: revenue's collections fail, named in the log and counted; the CSV KPI goes on.
  ASSERT_TRUE(pg->Stop());
  const double errors_before = Metric("kpid_collector_runs_total", warehouse, not_success);
  const double csv_before = Metric("kpid_collector_runs_total", finance);
  {
    std::ofstream(dir_.path() / "finance.csv.tmp") << "orders\n8\n";
    std::filesystem::rename(dir_.path() / "finance.csv.tmp", csv);
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return Metric("kpid_collector_runs_total", warehouse, not_success) >= errors_before + 3;
      },
      30s))
      << kpid->Output();
  EXPECT_THAT(kpid->Output(), HasSubstr("collection failing kpi=revenue source=warehouse"));
  EXPECT_THAT(kpid->Output(), Not(HasSubstr(pg->password())));
  // Stale after 3 intervals: no_data, in the metrics and the API.
  ASSERT_TRUE(WaitFor([&] {
    return Metric("kpi_status", {{"kpi", "revenue"}, {"status", "no_data"}}) == 1;
  })) << kpid->Output();
  const Json revenue = Json::parse(HttpGet(Url("/api/v1/kpis/revenue")).body);
  EXPECT_FALSE(revenue["error"].is_null()) << revenue;
  EXPECT_THAT(revenue["error"].dump(), HasSubstr("warehouse")) << revenue;
  // Meanwhile the CSV source was collected every second, the new value included.
  EXPECT_GE(Metric("kpid_collector_runs_total", finance), csv_before + 3);
  EXPECT_EQ(Metric("kpi_value", {{"kpi", "orders"}}), 8);
  EXPECT_EQ(Metric("kpi_status", {{"kpi", "orders"}, {"status", "on_track"}}), 1)
      << HttpGet(Url("/api/v1/kpis/orders")).body;
  const double csv_now = Metric("kpid_collector_runs_total", finance);
  ASSERT_TRUE(WaitFor([&] { return Metric("kpid_collector_runs_total", finance) >= csv_now + 2; }))
      << "the CSV source stalls while PostgreSQL is down";
  EXPECT_EQ(HttpGet(Url("/-/healthy")).status, 200);

  // Back: the same process collects again.
  ASSERT_TRUE(pg->Restart());
  ASSERT_TRUE(pg->Exec("UPDATE kpi SET v = 6;"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Metric("kpi_value", {{"kpi", "revenue"}}) == 6;
      },
      30s))
      << kpid->Output();
  EXPECT_TRUE(kpid->Running());
  EXPECT_THAT(kpid->Output(), HasSubstr("collection recovered kpi=revenue source=warehouse"));
  ASSERT_TRUE(WaitFor([&] {
    return Metric("kpi_status", {{"kpi", "revenue"}, {"status", "on_track"}}) == 1;
  })) << kpid->Output();
  kpid->Signal(SIGTERM);
  EXPECT_EQ(kpid->Wait(10s), 0);
}

// ---------------------------------------------------------------------------------------
// 2. Webhook and SMTP receivers down while alerts fire, then back on the same ports.

TEST_F(FaultTest, ReceiversDownThenBackGetEachNotificationOnce) {
  if (auto missing = testing::SmtpServer::Missing()) GTEST_SKIP() << *missing;
  testing::SmtpServer smtp;
  std::string error;
  ASSERT_TRUE(smtp.Start({}, &error)) << error;
  const int hook_port = testing::FreePort();  // nothing listens there yet: refused
  const std::vector<std::string> kpis = {"alpha", "beta", "gamma"};
  MakeTable(kpis, 1);
  std::string text = Head();
  for (const std::string& k : kpis) text += BandKpi(k);
  text += Route("\"hook\", \"mail\"") + Webhook("hook", hook_port) + R"(
[[receiver]]
name = "mail"
type = "email"
smtp_url = ")" +
          smtp.Url() +
          R"("
from = "kpid@example.com"
to = ["ops@example.com"]
timeout = "2s"
)";
  WriteConfig(text);
  auto kpid = Start(1);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << kpid->Output();
  smtp.Stop();

  Sql("UPDATE kpi SET value = 5;");
  // The backoff starts at 1 s and doubles (±20 %): three failed attempts each take about
  // 7 s; the fourth comes about 8 s later.
  const std::size_t n = kpis.size();
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string m = Metrics();
        return Sum(m, "kpid_notifications_total", {{"receiver", "hook"}, {"result", "retry"}}) >=
                   3.0 * static_cast<double>(n) &&
               Sum(m, "kpid_notifications_total", {{"receiver", "mail"}, {"result", "retry"}}) >=
                   3.0 * static_cast<double>(n);
      },
      40s))
      << kpid->Output();
  const std::string during = Metrics();
  EXPECT_EQ(Sum(during, "kpid_notification_queue_length"), 2.0 * static_cast<double>(n));
  EXPECT_GT(Sum(during, "kpid_notification_oldest_pending_seconds").value_or(0), 0);
  EXPECT_EQ(Sum(during, "kpid_notifications_total", {{"result", "delivered"}}), 0);
  EXPECT_EQ(Sum(during, "kpid_notifications_total", {{"result", "failed"}}), 0);
  const std::string log = kpid->Output();
  EXPECT_THAT(log, HasSubstr("notification not delivered; will retry receiver=hook"));
  EXPECT_THAT(log, HasSubstr("notification not delivered; will retry receiver=mail"));
  EXPECT_THAT(log, ::testing::ContainsRegex("receiver=hook attempts=3 .*[Cc]onnect"));
  EXPECT_THAT(log, ::testing::ContainsRegex("receiver=mail attempts=3 .*[Cc]onnect"));

  // Back, on the same ports.
  HttpTestServer hook([](const HttpTestRequest&) { return HttpTestResponse::Json("{}"); },
                      static_cast<std::uint16_t>(hook_port));
  ASSERT_TRUE(smtp.Restart(&error)) << error;
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string m = Metrics();
        return Sum(m, "kpid_notification_queue_length") == 0 &&
               Sum(m, "kpid_notifications_total",
                   {{"receiver", "hook"}, {"result", "delivered"}}) == static_cast<double>(n) &&
               Sum(m, "kpid_notifications_total",
                   {{"receiver", "mail"}, {"result", "delivered"}}) == static_cast<double>(n);
      },
      40s))
      << kpid->Output();
  std::this_thread::sleep_for(3s);  // three more evaluations: nothing more is sent

  std::map<std::string, int> per_alert;
  for (const HttpTestRequest& r : hook.Requests()) {
    for (const Json& a : Alerts(r.body)) {
      ++per_alert[a["labels"]["alert"].get<std::string>() + " " + a["status"].get<std::string>()];
    }
  }
  std::map<std::string, int> expected;
  for (const std::string& k : kpis) expected[k + "/goal firing"] = 1;
  EXPECT_EQ(per_alert, expected) << kpid->Output();
  ASSERT_EQ(smtp.MessageCount(), n);
  std::map<std::string, int> subjects;
  for (std::size_t i = 1; i <= n; ++i) {
    ++subjects[smtp.Parsed(static_cast<int>(i))["subject"].get<std::string>()];
  }
  for (const std::string& k : kpis) {
    const bool once = std::count_if(subjects.begin(), subjects.end(), [&](const auto& s) {
                        return s.first.find(k) != std::string::npos && s.second == 1;
                      }) == 1;
    EXPECT_TRUE(once) << k << " in " << Json(subjects);
  }
  kpid->Signal(SIGTERM);
  EXPECT_EQ(kpid->Wait(10s), 0);
}

// ---------------------------------------------------------------------------------------
// 3. The state directory full, or a file-size limit.

// A tmpfs mounted on a directory for the life of the test; unmounted (lazily, so that a
// daemon still holding files cannot keep it) on destruction.
class Tmpfs {
 public:
  Tmpfs(const std::filesystem::path& at, const std::string& size) : at_(at) {
    std::filesystem::create_directories(at);
    mounted_ =
        RunCommand("mount -t tmpfs -o size=" + size + ",mode=0700 kpid-fault-test " + at.string(),
                   &error_) == 0;
  }
  ~Tmpfs() {
    std::string out;
    if (mounted_) RunCommand("umount -l " + at_.string(), &out);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::filesystem::path at_;
  bool mounted_ = false;
  std::string error_;
};

// Writes zeros to `path` until the filesystem says it is full; the bytes written.
std::size_t FillUp(const std::filesystem::path& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  std::vector<char> block(64 * 1024, 0);
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = write(fd, block.data(), block.size());
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  fsync(fd);
  close(fd);
  return total;
}

class StoreFaultTest : public FaultTest {
 protected:
  // 20 KPIs collected every second keep the store writing; `churn` can fire an alert to
  // the webhook.
  void Configure(const std::string& store) {
    std::vector<std::string> names = {"churn"};
    for (int i = 0; i < 20; ++i) names.push_back("k" + std::to_string(i));
    MakeTable(names, 1);
    std::string text = Head(store);
    for (const std::string& n : names) text += BandKpi(n);
    text += Route("\"hook\"") + Webhook("hook", hook_.port());
    WriteConfig(text);
  }

  // The stored history of `kpi`, oldest first.
  Json History(const std::string& kpi) const {
    auto r = HttpGet(Url("/api/v1/kpis/" + kpi + "?since=2000-01-01T00:00:00Z"));
    if (r.status != 200) return Json::array();
    return Json::parse(r.body).value("history", Json::array());
  }

  static std::string Now() {
    return date::format(
        "%FT%TZ", std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()));
  }

  // Firing notifications for `alert` the webhook got.
  int Fired(const std::string& alert) const {
    int n = 0;
    for (const HttpTestRequest& r : hook_.Requests()) {
      for (const Json& a : Alerts(r.body)) {
        n += a["labels"]["alert"] == alert && a["status"] == "firing" ? 1 : 0;
      }
    }
    return n;
  }

  HttpTestServer hook_{[](const HttpTestRequest&) { return HttpTestResponse::Json("{}"); }};
};

TEST_F(StoreFaultTest, FullStateDirectoryIsReportedAndRecovers) {
  Tmpfs state(dir_.path() / "state", "8m");
  if (!state.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << state.error()
                 << "); FileSizeLimitIsReportedAndTheStoreStaysIntact covers a store that "
                    "cannot grow";
  }
  const std::string db = (dir_.path() / "state" / "kpid.db").string();
  Configure(db);
  auto kpid = Start(1);
  ASSERT_TRUE(WaitFor([&] { return History("churn").size() >= 2; })) << kpid->Output();
  EXPECT_EQ(HttpGet(Url("/-/ready")).status, 200);
  EXPECT_EQ(Metric("kpid_store_up"), 1);

  // Full: the store's writes fail; the daemon says so and carries on.
  const std::string filled_at = Now();
  const auto filler = dir_.path() / "state" / "filler";
  ASSERT_GT(FillUp(filler), 0u);
  ASSERT_TRUE(WaitFor([&] { return Metric("kpid_store_up") == 0; }, 30s)) << kpid->Output();
  auto ready = HttpGet(Url("/-/ready"));
  EXPECT_EQ(ready.status, 503);
  EXPECT_THAT(ready.body, HasSubstr("state store failing"));
  EXPECT_THAT(ready.body, HasSubstr("full"));
  EXPECT_THAT(kpid->Output(), HasSubstr("state store failing"));
  EXPECT_GT(Metric("kpid_store_errors_total", {{"operation", "append_samples"}}), 0);
  // Collection, evaluation and notification go on.
  Sql("UPDATE kpi SET value = 5 WHERE name = 'churn';");
  ASSERT_TRUE(WaitFor([&] { return Fired("churn/goal") == 1; })) << kpid->Output();
  EXPECT_EQ(Metric("kpi_value", {{"kpi", "churn"}}), 5);
  EXPECT_EQ(Metric("kpi_status", {{"kpi", "churn"}, {"status", "off_track"}}), 1);
  EXPECT_GT(Metric("kpid_store_pending_writes"), 0);
  EXPECT_EQ(Metric("kpid_store_up"), 0) << "still full";
  // A few more collections while full, to be written once there is space.
  const double fired_sample = Metric("kpi_last_sample_timestamp_seconds", {{"kpi", "churn"}});
  ASSERT_TRUE(WaitFor([&] {
    return Metric("kpi_last_sample_timestamp_seconds", {{"kpi", "churn"}}) >= fired_sample + 2;
  }));
  EXPECT_EQ(Metric("kpid_store_up"), 0) << "still full";

  // Space again: what was kept in memory is written, readiness comes back.
  const std::string freed_at = Now();
  std::filesystem::remove(filler);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; }, 30s))
      << kpid->Output();
  EXPECT_EQ(Metric("kpid_store_up"), 1);
  EXPECT_EQ(Metric("kpid_store_pending_writes"), 0);
  EXPECT_THAT(kpid->Output(), HasSubstr("state store recovered"));
  const Json history = History("churn");
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.front()["value"], 1);
  EXPECT_EQ(history.back()["value"], 5);
  const auto during = std::count_if(history.begin(), history.end(), [&](const Json& h) {
    const std::string at = WithMillis(h["timestamp"]);
    return at > filled_at && at < freed_at;
  });
  EXPECT_GE(during, 2) << "samples collected while the disk was full are kept: " << history;
  // The firing alert was stored: a restart neither repeats nor loses it.
  kpid->Signal(SIGTERM);
  ASSERT_EQ(kpid->Wait(10s), 0) << kpid->Output();
  EXPECT_EQ(StoreQuery(db,
                       "PRAGMA integrity_check; SELECT phase FROM alerts WHERE id = "
                       "'churn/goal';"),
            "ok\nfiring\n");
  EXPECT_EQ(Fired("churn/goal"), 1);
}

TEST_F(StoreFaultTest, FileSizeLimitIsReportedAndTheStoreStaysIntact) {
  // A limit of 512 KiB per file (ulimit -f counts 512-byte blocks): the store's WAL
  // reaches it within seconds. kpid must not die of SIGXFSZ.
  Configure("kpid.db");
  auto kpid = Start(1, {"/bin/sh", "-c", "ulimit -f 1024 && exec \"$0\" \"$@\""});
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/healthy")).status == 200; })) << kpid->Output();
  ASSERT_TRUE(WaitFor([&] { return Metric("kpid_store_up") == 0 || !kpid->Running(); }, 60s))
      << kpid->Output();
  ASSERT_TRUE(kpid->Running()) << "killed by the file-size limit: " << kpid->Wait(1s).value_or(-1)
                               << "\n"
                               << kpid->Output();
  auto ready = HttpGet(Url("/-/ready"));
  EXPECT_EQ(ready.status, 503);
  EXPECT_THAT(ready.body, HasSubstr("state store failing"));
  EXPECT_THAT(kpid->Output(), HasSubstr("state store failing"));
  // It keeps collecting, judging and notifying.
  Sql("UPDATE kpi SET value = 5 WHERE name = 'churn';");
  ASSERT_TRUE(WaitFor([&] { return Fired("churn/goal") == 1; })) << kpid->Output();
  EXPECT_EQ(Metric("kpi_value", {{"kpi", "churn"}}), 5);
  EXPECT_EQ(HttpGet(Url("/-/healthy")).status, 200);
  EXPECT_TRUE(kpid->Running());
  // A running process's limit cannot be lifted from outside: stop it, start without.
  kpid->Signal(SIGTERM);
  ASSERT_EQ(kpid->Wait(10s), 0) << kpid->Output();
  EXPECT_EQ(StoreQuery(Store(), "PRAGMA integrity_check;"), "ok\n");
  const std::string before = StoreQuery(Store(), "SELECT COUNT(*) FROM samples;");
  EXPECT_NE(before, "0\n");

  auto again = Start(2);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << again->Output();
  EXPECT_EQ(Metric("kpid_store_up"), 1);
  EXPECT_FALSE(History("k0").empty()) << "samples written before the limit are there";
  again->Signal(SIGTERM);
  ASSERT_EQ(again->Wait(10s), 0) << again->Output();
  EXPECT_EQ(StoreQuery(Store(), "PRAGMA integrity_check;"), "ok\n");
}

// ---------------------------------------------------------------------------------------
// 4. kill -9 at random moments, 50 times, while alerts flip and a slow webhook takes them.

TEST_F(FaultTest, Kill9FiftyTimesLosesNoCommittedNotification) {
  const std::vector<std::string> kpis = {"k0", "k1", "k2", "k3"};
  MakeTable(kpis, 1);
  std::mutex random_mutex;
  std::mt19937 random(20261127);
  HttpTestServer hook([&](const HttpTestRequest&) {
    HttpTestResponse response = HttpTestResponse::Json("{}");
    const std::lock_guard lock(random_mutex);
    // Sometimes slow: a kill then often lands while a delivery is in flight.
    if (std::uniform_int_distribution<int>(0, 3)(random) == 0) {
      response.delay =
          std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 1200)(random));
    }
    return response;
  });
  std::string text = Head();
  for (const std::string& k : kpis) text += BandKpi(k);
  text += Route("\"hook\"") + Webhook("hook", hook.port());
  WriteConfig(text);

  // Flips a random KPI in or out of its band every 250 ms.
  std::atomic<bool> flipping{true};
  std::thread flipper([&] {
    std::mt19937 r(7);
    while (flipping) {
      const std::string k = kpis[std::uniform_int_distribution<std::size_t>(0, kpis.size() - 1)(r)];
      const int value = std::uniform_int_distribution<int>(0, 1)(r) == 0 ? 1 : 5;
      std::string out;
      RunCommand("sqlite3 " + (dir_.path() / "data.db").string() + " \"UPDATE kpi SET value = " +
                     std::to_string(value) + " WHERE name = '" + k + "';\"",
                 &out);
      std::this_thread::sleep_for(250ms);
    }
  });
  struct Join {
    std::atomic<bool>& flag;
    std::thread& thread;
    ~Join() {
      flag = false;
      if (thread.joinable()) thread.join();
    }
  } join{flipping, flipper};

  // Outbox rows seen after each kill: committed, not yet acknowledged.
  std::map<std::int64_t, std::vector<std::string>> committed;
  constexpr int kKills = 50;
  std::uniform_int_distribution<int> life_ms(0, 1500);
  for (int run = 0; run < kKills; ++run) {
    auto kpid = Start(run);
    ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/healthy")).status == 200; }))
        << kpid->Output();
    int life = 0;
    {
      const std::lock_guard lock(random_mutex);
      life = life_ms(random);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(life));
    kpid->Signal(SIGKILL);
    ASSERT_EQ(kpid->Wait(10s), 128 + SIGKILL);
    std::string out;
    ASSERT_EQ(RunCommand("sqlite3 -json " + Store() + " 'SELECT id, payload FROM outbox'", &out), 0)
        << out;
    if (out.find('[') == std::string::npos) continue;  // no rows: no output
    for (const Json& row : Json::parse(out)) {
      std::vector<std::string> keys;
      for (const Json& a : Alerts(row["payload"].get<std::string>())) {
        keys.push_back(OutboxAlertKey(a));
      }
      committed[row["id"].get<std::int64_t>()] = keys;
    }
  }
  flipping = false;
  flipper.join();

  // A last run without a kill delivers what is left; alerts settle on the final values.
  auto kpid = Start(kKills);
  auto received = [&] {
    std::map<std::string, int> keys;
    for (const HttpTestRequest& r : hook.Requests()) {
      for (const Json& a : Alerts(r.body)) ++keys[WebhookAlertKey(a)];
    }
    return keys;
  };
  // Settled: the outbox is empty and each alert's last state reached the webhook. A firing
  // alert: its firing with the current status. Otherwise: no firing was received that a
  // resolve has not followed (an episode never told firing is not resolved either).
  std::string unsettled;
  auto settled = [&] {
    if (Metric("kpid_notification_queue_length") != 0) {
      unsettled = "outbox not empty";
      return false;
    }
    const auto got = received();
    for (const std::string& k : kpis) {
      const Json kpi = Json::parse(HttpGet(Url("/api/v1/kpis/" + k)).body, nullptr, false);
      if (kpi.is_discarded() || kpi.value("alerts", Json::array()).empty()) return false;
      const Json& alert = kpi["alerts"][0];
      const std::string id = k + "/goal|";
      if (alert["state"] == "firing") {
        if (!alert["status"].is_string() || !alert["fired_at"].is_string()) {
          unsettled = "not judged yet: " + alert.dump();
          return false;
        }
        const std::string key = id + "firing|" + alert["status"].get<std::string>() + "|" +
                                WithMillis(alert["fired_at"].get<std::string>());
        if (!got.contains(key)) {
          unsettled = "not received: " + key;
          return false;
        }
        continue;
      }
      std::string last_fired;
      std::string last_resolved;
      for (const auto& [key, count] : got) {
        if (!key.starts_with(id)) continue;
        const std::string at = key.substr(key.rfind('|') + 1);
        std::string& last = key.find("|firing|") != std::string::npos ? last_fired : last_resolved;
        last = std::max(last, at);
      }
      if (last_fired > last_resolved) {
        unsettled = k + " was told firing at " + last_fired + " and not resolved since; it is " +
                    alert.dump();
        return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << kpid->Output();
  ASSERT_TRUE(WaitFor(settled, 30s)) << kpid->Output() << "\n"
                                     << unsettled << "\nreceived: " << Json(received());
  kpid->Signal(SIGTERM);
  ASSERT_EQ(kpid->Wait(10s), 0) << kpid->Output();

  EXPECT_EQ(StoreQuery(Store(), "PRAGMA integrity_check; SELECT COUNT(*) FROM outbox;"), "ok\n0\n");
  const auto got = received();
  std::size_t missing = 0;
  for (const auto& [id, keys] : committed) {
    for (const std::string& key : keys) {
      if (!got.contains(key)) {
        ++missing;
        ADD_FAILURE() << "outbox row " << id << " never delivered: " << key;
      }
    }
  }
  // Exactly once, unless a kill found it still in the outbox (sent, not yet acknowledged).
  std::set<std::string> queued_at_a_kill;
  for (const auto& [id, keys] : committed) queued_at_a_kill.insert(keys.begin(), keys.end());
  std::size_t duplicates = 0;
  for (const auto& [key, count] : got) {
    duplicates += static_cast<std::size_t>(count - 1);
    EXPECT_TRUE(count == 1 || queued_at_a_kill.contains(key))
        << key << " delivered " << count << " times but never left in the outbox by a kill";
  }
  std::cout << "[ figures  ] kills=" << kKills
            << " outbox rows seen after kills=" << committed.size()
            << " alert notifications received=" << got.size()
            << " repeated deliveries=" << duplicates << " lost=" << missing << std::endl;
  EXPECT_FALSE(committed.empty()) << "no kill found a notification in the outbox";
  EXPECT_GE(got.size(), 10u) << "too few notifications flowed to test anything";
}

// ---------------------------------------------------------------------------------------
// 5. Reloads (SIGHUP and POST /-/reload) during a burst of notifications.

TEST_F(FaultTest, ReloadsDuringABurstLoseAndRepeatNothing) {
  std::vector<std::string> kpis;
  for (int i = 0; i < 30; ++i) kpis.push_back("r" + std::to_string(i));
  MakeTable(kpis, 1);
  // Every answer takes 300 ms: with at most 4 in flight, a burst of 30 lasts seconds.
  HttpTestServer hook([](const HttpTestRequest&) {
    HttpTestResponse response = HttpTestResponse::Json("{}");
    response.delay = 300ms;
    return response;
  });
  const std::string d = dir_.path().string();
  std::string text = Head();
  for (const std::string& k : kpis) text += BandKpi(k);
  text += Route("\"hook\", \"audit\"") + Webhook("hook", hook.port()) +
          "\n[[receiver]]\nname = \"audit\"\ntype = \"file\"\npath = \"" + d +
          "/notifications.jsonl\"\n";
  WriteConfig(text);
  auto kpid = Start(1);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(Url("/-/ready")).status == 200; })) << kpid->Output();

  // Per alert and status ("r7/goal firing"): how many times each receiver got it.
  auto hook_counts = [&] {
    std::map<std::string, int> out;
    for (const HttpTestRequest& r : hook.Requests()) {
      for (const Json& a : Alerts(r.body)) {
        ++out[a["labels"]["alert"].get<std::string>() + " " + a["status"].get<std::string>()];
      }
    }
    return out;
  };
  auto file_counts = [&] {
    std::map<std::string, int> out;
    std::ifstream in(dir_.path() / "notifications.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      for (const Json& a : Alerts(line)) {
        ++out[a["labels"]["alert"].get<std::string>() + " " + a["status"].get<std::string>()];
      }
    }
    return out;
  };
  int reloads = 0;
  auto burst = [&](double value, const std::string& status) {
    const std::size_t before = hook.request_count();
    Sql("UPDATE kpi SET value = " + std::to_string(value) + ";");
    ASSERT_TRUE(WaitFor([&] { return hook.request_count() > before; })) << kpid->Output();
    // Reloads while the burst is being delivered; the config changes a little each time.
    for (int i = 0; i < 6; ++i) {
      std::ofstream(dir_.path() / "kpid.toml", std::ios::app) << "# reload " << reloads << "\n";
      if (i % 2 == 0) {
        kpid->Signal(SIGHUP);
      } else {
        auto res = testing::HttpRequest("POST", Url("/-/reload"));
        EXPECT_EQ(res.status, 200) << res.body;
      }
      ++reloads;
      std::this_thread::sleep_for(250ms);
    }
    std::map<std::string, int> expected;
    for (const std::string& k : kpis) expected[k + "/goal " + status] = 1;
    ASSERT_TRUE(WaitFor(
        [&] {
          return Metric("kpid_notification_queue_length") == 0 &&
                 hook_counts().size() >= expected.size() * (status == "firing" ? 1 : 2);
        },
        60s))
        << kpid->Output();
    std::this_thread::sleep_for(2s);  // two more evaluations: nothing more is sent
    std::map<std::string, int> hook_now;
    std::map<std::string, int> file_now;
    for (const auto& [key, count] : hook_counts()) {
      if (key.ends_with(status)) hook_now[key] = count;
    }
    for (const auto& [key, count] : file_counts()) {
      if (key.ends_with(status)) file_now[key] = count;
    }
    EXPECT_EQ(hook_now, expected);
    EXPECT_EQ(file_now, expected);
  };
  burst(5, "firing");
  burst(1, "resolved");
  EXPECT_THAT(kpid->Output(), HasSubstr("config reloaded trigger=SIGHUP"));
  EXPECT_THAT(kpid->Output(), HasSubstr("config reloaded trigger=http"));
  EXPECT_EQ(Metric("kpid_config_last_reload_successful"), 1);
  EXPECT_EQ(HttpGet(Url("/-/healthy")).status, 200);
  EXPECT_TRUE(kpid->Running());
  kpid->Signal(SIGTERM);
  EXPECT_EQ(kpid->Wait(10s), 0);
}

}  // namespace
}  // namespace kpid
