// The Prometheus and Grafana files in deploy/ against the real tools and the real kpid:
// promtool validates and unit-tests the rules; a kpid on a config that makes every metric
// family appear proves that the dashboard and the rules only use metrics it exposes, and
// that `promtool check metrics` finds nothing; a real Prometheus scraping it sees the goals'
// values, statuses and progress and evaluates every rule without an error.
#include <algorithm>
#include <cctype>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/deploy/deploy_files.hpp"
#include "tests/deploy/promql_names.hpp"
#include "tests/support/process.hpp"

namespace kpid::testing {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;
using Clock = std::chrono::system_clock;

constexpr const char* kSourceDir = KPID_SOURCE_DIR;
constexpr const char* kPromtool = "/usr/bin/promtool";
constexpr const char* kPrometheus = "/usr/bin/prometheus";

std::filesystem::path SourcePath(const std::string& relative) {
  return std::filesystem::path(kSourceDir) / relative;
}

std::string Missing(const std::string& binary) {
  return binary + " is not installed (deploy/install-deps.sh installs it)";
}

// "2026-11-05T10:00:00Z" for now + offset.
std::string Rfc3339(Clock::duration offset) {
  const std::time_t t = Clock::to_time_t(Clock::now() + offset);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string UrlEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

constexpr auto kDay = std::chrono::hours(24);

// One kpid for the whole suite, on a config where every metric family appears:
// - revenue: SQLite, deadline goal 100 -> 300 from 10 days ago to 10 days ahead, value 160:
//   progress 0.3, expected 0.5, gap 0.2 > off_track 0.15 => off_track; its goal alert and
//   a rule ("low") fire and go to a file receiver;
// - signups: CSV with three dated rows (45, 50, 55), deadline goal 0 -> 100 over the same
//   span: progress 0.55 => on_track, and a forecast from the history;
// - churn: SQLite, band goal max 3 / warn_max 2.5, value 2.8 => at_risk;
// - broken: a query on a missing table => collector result "query", status no_data.
// A second kpid, whose store cannot be opened, adds the families only a failing store has.
class KpidDeployTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::string out;
    const std::string db = (dir_->path() / "data.db").string();
    if (RunCommand("sqlite3 " + db +
                       " \"CREATE TABLE kpis (name TEXT PRIMARY KEY, value REAL);"
                       " INSERT INTO kpis VALUES ('revenue', 160), ('churn', 2.8);\"",
                   &out) != 0) {
      setup_error_ = new std::string("sqlite3: " + out);
      return;
    }
    dir_->Write("signups.csv", "date,signups\n" + Rfc3339(-3 * kDay) + ",45\n" +
                                   Rfc3339(-2 * kDay) + ",50\n" + Rfc3339(-1 * kDay) + ",55\n");
    kpid_port_ = FreePort();
    const std::string d = dir_->path().string();
    const std::string start = Rfc3339(-10 * kDay);
    const std::string deadline = Rfc3339(10 * kDay);
    config_ = new std::filesystem::path(dir_->Write("kpid.toml", R"([server]
listen = "127.0.0.1:)" + std::to_string(kpid_port_) + R"("

[storage]
path = ")" + d + R"(/kpid.db"

[evaluation]
interval = "1s"

[[source]]
name = "db"
type = "sql"
driver = "sqlite3"
connection = ")" + d + R"(/data.db"

[[source]]
name = "sheet"
type = "csv"
path = ")" + d + R"(/signups.csv"

[[kpi]]
name = "revenue"
labels = { team = "finance" }
source = "db"
query = "SELECT value FROM kpis WHERE name = 'revenue'"
interval = "1s"
  [kpi.goal]
  baseline = 100
  target = 300
  start = )" + start + R"(
  deadline = )" + deadline + R"(
  [[kpi.rule]]
  name = "low"
  when = "value < 1000"
  severity = "info"

[[kpi]]
name = "signups"
labels = { team = "growth" }
source = "sheet"
column = "signups"
timestamp_column = "date"
interval = "1s"
stale_after = "30d"
  [kpi.goal]
  baseline = 0
  target = 100
  start = )" + start + R"(
  deadline = )" + deadline + R"(

[[kpi]]
name = "churn"
labels = { team = "crm" }
source = "db"
query = "SELECT value FROM kpis WHERE name = 'churn'"
interval = "1s"
  [kpi.goal]
  max = 3
  warn_max = 2.5

[[kpi]]
name = "broken"
labels = { team = "ops" }
source = "db"
query = "SELECT value FROM missing_table"
interval = "1s"
  [kpi.goal]
  max = 10

[[route]]
receivers = ["audit"]
group_wait = "0s"

[[receiver]]
name = "audit"
type = "file"
path = ")" + d + R"(/notifications.jsonl"
)"));
    kpid_ = new Subprocess({KPID_BINARY, "run", "--config", config_->string()},
                           dir_->path() / "kpid.log");
    // Every family the dashboard and the rules use has appeared.
    const bool ready = WaitFor(
        [] {
          const std::string m = HttpGet(KpidUrl("/metrics")).body;
          const std::vector<std::string> needles = {
              "kpi_forecast_value{kpi=\"signups\"",
              "kpi_alert_firing{kpi=\"revenue\",team=\"finance\",alert=\"revenue/low\"",
              "kpi_status{kpi=\"broken\",team=\"ops\",status=\"no_data\"} 1",
              "kpid_collector_runs_total{result=\"query\",source=\"db\"}",
              "kpid_notifications_total{receiver=\"audit\",result=\"delivered\"}"};
          return std::ranges::all_of(needles, [&](const std::string& needle) {
            return m.find(needle) != std::string::npos;
          });
        },
        std::chrono::seconds(20));
    if (!ready) {
      setup_error_ =
          new std::string("kpid did not expose every family:\n" +
                          HttpGet(KpidUrl("/metrics")).body + "\nlog:\n" + kpid_->Output());
      return;
    }

    // A second kpid whose store cannot be opened, for the families that only a failing
    // store has (kpid_store_errors_total).
    broken_store_port_ = FreePort();
    broken_store_config_ = new std::filesystem::path(dir_->Write("broken-store.toml", R"([server]
listen = "127.0.0.1:)" + std::to_string(broken_store_port_) + R"("

[storage]
path = ")" + d + R"(/no/such/dir/kpid.db"

[[source]]
name = "db"
type = "sql"
driver = "sqlite3"
connection = ")" + d + R"(/data.db"

[[kpi]]
name = "churn"
source = "db"
query = "SELECT value FROM kpis WHERE name = 'churn'"
)"));
    broken_store_ = new Subprocess({KPID_BINARY, "run", "--config", broken_store_config_->string()},
                                   dir_->path() / "broken-store.log");
    if (!WaitFor(
            [] {
              return HttpGet(BrokenStoreUrl("/metrics"))
                         .body.find("kpid_store_errors_total{operation=\"open\"}") !=
                     std::string::npos;
            },
            std::chrono::seconds(20))) {
      setup_error_ = new std::string("a kpid without a store shows no store errors:\n" +
                                     HttpGet(BrokenStoreUrl("/metrics")).body + "\nlog:\n" +
                                     broken_store_->Output());
    }
  }

  static void TearDownTestSuite() {
    for (Subprocess* p : {kpid_, broken_store_}) {
      if (p == nullptr) continue;
      p->Signal(SIGTERM);
      p->Wait(std::chrono::seconds(10));
    }
    delete broken_store_;
    delete broken_store_config_;
    broken_store_ = nullptr;
    broken_store_config_ = nullptr;
    delete kpid_;
    delete config_;
    delete setup_error_;
    delete dir_;
    kpid_ = nullptr;
    config_ = nullptr;
    setup_error_ = nullptr;
    dir_ = nullptr;
  }

  void SetUp() override { ASSERT_EQ(setup_error_, nullptr) << *setup_error_; }

  static std::string KpidUrl(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(kpid_port_) + path;
  }

  static std::string BrokenStoreUrl(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(broken_store_port_) + path;
  }

  // The metric names both kpids expose.
  static std::set<std::string> Exposed() {
    std::set<std::string> names = ExposedMetricNames(HttpGet(KpidUrl("/metrics")).body);
    names.merge(ExposedMetricNames(HttpGet(BrokenStoreUrl("/metrics")).body));
    names.insert("up");  // Prometheus's own series per target
    return names;
  }

  // Fails the test for every metric name in `exprs` that is not in `exposed`.
  static void ExpectExposed(const std::vector<Expression>& exprs,
                            const std::set<std::string>& exposed) {
    for (const Expression& e : exprs) {
      for (const std::string& name : PromQlMetricNames(e.expr)) {
        EXPECT_TRUE(exposed.contains(name))
            << e.where << " uses " << name << ", which kpid does not expose: " << e.expr;
      }
    }
  }

  static TempDir* dir_;
  static std::filesystem::path* config_;
  static Subprocess* kpid_;
  static std::string* setup_error_;
  static int kpid_port_;
  static std::filesystem::path* broken_store_config_;
  static Subprocess* broken_store_;
  static int broken_store_port_;
};

TempDir* KpidDeployTest::dir_ = nullptr;
std::filesystem::path* KpidDeployTest::config_ = nullptr;
Subprocess* KpidDeployTest::kpid_ = nullptr;
std::string* KpidDeployTest::setup_error_ = nullptr;
int KpidDeployTest::kpid_port_ = 0;
std::filesystem::path* KpidDeployTest::broken_store_config_ = nullptr;
Subprocess* KpidDeployTest::broken_store_ = nullptr;
int KpidDeployTest::broken_store_port_ = 0;

TEST_F(KpidDeployTest, DashboardUsesOnlyMetricsKpidExposes) {
  const std::set<std::string> exposed = Exposed();
  const std::vector<Expression> exprs =
      DashboardExpressions(Json::parse(ReadFile(SourcePath("deploy/grafana/kpid-overview.json"))));
  ASSERT_GE(exprs.size(), 30u);
  ExpectExposed(exprs, exposed);
}

TEST_F(KpidDeployTest, AlertRulesUseOnlyMetricsKpidExposes) {
  const std::set<std::string> exposed = Exposed();
  for (const char* file : {"kpid-alerts.yml", "kpi-goal-alerts.yml"}) {
    const std::vector<Expression> exprs =
        RuleExpressions(ReadFile(SourcePath("deploy/prometheus") / file));
    ASSERT_GE(exprs.size(), 3u) << file;
    ExpectExposed(exprs, exposed);
  }
}

TEST_F(KpidDeployTest, PromtoolFindsNothingToLintInTheMetrics) {
  if (!std::filesystem::exists(kPromtool)) GTEST_SKIP() << Missing(kPromtool);
  for (const std::string& url : {KpidUrl("/metrics"), BrokenStoreUrl("/metrics")}) {
    const std::string metrics = HttpGet(url).body;
    std::string out;
    EXPECT_EQ(RunCommand(std::string(kPromtool) + " check metrics", &out, metrics), 0)
        << out << "\n--- " << url << ":\n"
        << metrics;
  }
}

TEST_F(KpidDeployTest, PrometheusScrapesTheGoalsAndEvaluatesEveryRule) {
  if (!std::filesystem::exists(kPrometheus)) GTEST_SKIP() << Missing(kPrometheus);
  TempDir prom_dir;
  const int port = FreePort();
  const std::filesystem::path config = prom_dir.Write("prometheus.yml", R"(global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - )" + SourcePath("deploy/prometheus/kpid-alerts.yml").string() + R"(
  - )" + SourcePath("deploy/prometheus/kpi-goal-alerts.yml").string() + R"(
scrape_configs:
  - job_name: kpid
    static_configs:
      - targets: ["127.0.0.1:)" + std::to_string(kpid_port_) + R"("]
)");
  Subprocess prometheus({std::string(kPrometheus), "--config.file=" + config.string(),
                         "--storage.tsdb.path=" + (prom_dir.path() / "data").string(),
                         "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                        prom_dir.path() / "prometheus.log");
  const std::string api = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/";
  // kpi -> value of the instant query's result.
  auto query = [&](const std::string& q) {
    std::map<std::string, double> out;
    const HttpResult r = HttpGet(api + "query?query=" + UrlEncode(q));
    const Json body = Json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (r.status != 200 || body.is_discarded()) return out;
    for (const Json& s : body["data"]["result"]) {
      EXPECT_EQ(s["metric"]["job"], "kpid");
      out[s["metric"].value("kpi", "") + s["metric"].value("status", "")] =
          std::stod(s["value"][1].get<std::string>());
    }
    return out;
  };

  std::map<std::string, double> statuses;
  ASSERT_TRUE(WaitFor(
      [&] {
        statuses = query("kpi_status == 1");
        return statuses.size() == 4;
      },
      std::chrono::seconds(20)))
      << prometheus.Output();
  EXPECT_EQ(statuses, (std::map<std::string, double>{{"revenueoff_track", 1},
                                                     {"signupson_track", 1},
                                                     {"churnat_risk", 1},
                                                     {"brokenno_data", 1}}));
  EXPECT_EQ(query(R"(kpi_status{status="off_track"} == 1)"),
            (std::map<std::string, double>{{"revenueoff_track", 1}}));
  EXPECT_EQ(query("kpi_value"),
            (std::map<std::string, double>{{"revenue", 160}, {"signups", 55}, {"churn", 2.8}}));
  const std::map<std::string, double> progress = query("kpi_progress_ratio");
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_DOUBLE_EQ(progress.at("revenue"), 0.3);
  EXPECT_DOUBLE_EQ(progress.at("signups"), 0.55);
  const std::map<std::string, double> expected = query("kpi_expected_progress_ratio");
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_NEAR(expected.at("revenue"), 0.5, 0.01);
  // The dashboard's team variable finds the teams.
  const Json teams = Json::parse(HttpGet(api + "label/team/values?match[]=kpi_value").body);
  EXPECT_EQ(teams["data"], Json::parse(R"(["crm", "finance", "growth"])"));

  // Every rule of both files is evaluated without an error; none of kpid's health alerts
  // stays active on this healthy kpid (KpidMissing may be pending from an evaluation before
  // the first scrape).
  Json groups;
  WaitFor(
      [&] {
        groups = Json::parse(HttpGet(api + "rules").body, nullptr, false);
        if (groups.is_discarded() || groups["data"]["groups"].size() != 2) return false;
        for (const Json& g : groups["data"]["groups"]) {
          for (const Json& rule : g["rules"]) {
            if (rule.value("lastEvaluation", "").rfind("0001-", 0) == 0) return false;
            if (g["name"] == "kpid" && rule["state"] != "inactive") return false;
          }
        }
        return true;
      },
      std::chrono::seconds(20));
  ASSERT_EQ(groups["data"]["groups"].size(), 2u) << groups.dump(2);
  int rules = 0;
  for (const Json& g : groups["data"]["groups"]) {
    for (const Json& rule : g["rules"]) {
      ++rules;
      EXPECT_EQ(rule["health"], "ok") << rule.dump(2);
      if (g["name"] == "kpid") {
        EXPECT_EQ(rule["state"], "inactive") << rule.dump(2);
      }
    }
  }
  EXPECT_EQ(rules, 14);

  prometheus.Signal(SIGTERM);
  EXPECT_EQ(prometheus.Wait(std::chrono::seconds(10)), 0) << prometheus.Output();
}

// A kpid serving /metrics over TLS behind basic auth, and a real Prometheus that scrapes
// it with tls_config.ca_file and basic_auth (the README's "Securing the listener"): the
// scrape succeeds; a job with the wrong password is refused.
TEST(SecureScrapeTest, PrometheusScrapesKpidOverTlsWithBasicAuth) {
  if (!std::filesystem::exists(kPrometheus)) GTEST_SKIP() << Missing(kPrometheus);
  TempDir dir;
  std::string out;
  const std::string d = dir.path().string();
  ASSERT_EQ(RunCommand("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                       "-nodes -days 2 -subj /CN=127.0.0.1 -addext "
                       "subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
                           d + "/key.pem -out " + d + "/cert.pem 2>&1",
                       &out),
            0)
      << out;
  // The README's recipe for a bcrypt hash on Debian 12.
  out.clear();  // RunCommand appends
  ASSERT_EQ(RunCommand("/usr/bin/python3 -W ignore -c 'import crypt; print(crypt.crypt("
                       "\"scrape-pw\", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)), "
                       "end=\"\")'",
                       &out),
            0)
      << out;
  const std::string hash = out;
  const int kpid_port = FreePort();
  const std::filesystem::path kpid_config = dir.Write("kpid.toml", R"([server]
listen = "127.0.0.1:)" + std::to_string(kpid_port) + R"("
tls_cert_file = ")" + d + R"(/cert.pem"
tls_key_file = ")" + d + R"(/key.pem"
[server.basic_auth_users]
prometheus = ")" + hash + R"("

[storage]
path = ":memory:"

[evaluation]
interval = "1s"

[[source]]
name = "sheet"
type = "csv"
path = ")" + d + R"(/sheet.csv"

[[kpi]]
name = "orders"
source = "sheet"
column = "orders"
interval = "1s"
)");
  dir.Write("sheet.csv", "orders\n42\n");
  Subprocess kpid({KPID_BINARY, "run", "--config", kpid_config.string()}, dir.path() / "kpid.log");

  const int port = FreePort();
  const std::string target = "[\"127.0.0.1:" + std::to_string(kpid_port) + "\"]";
  const std::filesystem::path config = dir.Write("prometheus.yml", R"(global:
  scrape_interval: 1s
scrape_configs:
  - job_name: kpid
    scheme: https
    tls_config:
      ca_file: )" + d + R"(/cert.pem
    basic_auth:
      username: prometheus
      password: scrape-pw
    static_configs:
      - targets: )" + target + R"(
  - job_name: wrong_password
    scheme: https
    tls_config:
      ca_file: )" + d + R"(/cert.pem
    basic_auth:
      username: prometheus
      password: not-the-password
    static_configs:
      - targets: )" + target + R"(
)");
  Subprocess prometheus({std::string(kPrometheus), "--config.file=" + config.string(),
                         "--storage.tsdb.path=" + (dir.path() / "data").string(),
                         "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                        dir.path() / "prometheus.log");
  const std::string api = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/";
  auto up = [&](const std::string& job) -> std::string {
    const Json body = Json::parse(
        HttpGet(api + "query?query=" + UrlEncode("up{job=\"" + job + "\"}")).body, nullptr, false);
    if (body.is_discarded() || body["data"]["result"].empty()) return "";
    return body["data"]["result"][0]["value"][1].get<std::string>();
  };
  ASSERT_TRUE(WaitFor([&] { return up("kpid") == "1" && !up("wrong_password").empty(); },
                      std::chrono::seconds(30)))
      << "up=" << up("kpid") << "\n"
      << prometheus.Output() << kpid.Output();
  EXPECT_EQ(up("wrong_password"), "0");
  ASSERT_TRUE(WaitFor(
      [&] {
        const Json v =
            Json::parse(HttpGet(api + "query?query=" + UrlEncode("kpi_value{job=\"kpid\"}")).body,
                        nullptr, false);
        return !v.is_discarded() && !v["data"]["result"].empty() &&
               v["data"]["result"][0]["value"][1] == "42";
      },
      std::chrono::seconds(20)))
      << kpid.Output();
  // Why the other job fails, as Prometheus reports it.
  const Json targets = Json::parse(HttpGet(api + "targets").body, nullptr, false);
  std::string last_error;
  for (const Json& t : targets["data"]["activeTargets"]) {
    if (t["labels"]["job"] == "wrong_password") last_error = t.value("lastError", "");
  }
  EXPECT_THAT(last_error, HasSubstr("401"));

  prometheus.Signal(SIGTERM);
  EXPECT_EQ(prometheus.Wait(std::chrono::seconds(10)), 0) << prometheus.Output();
  kpid.Signal(SIGTERM);
  EXPECT_EQ(kpid.Wait(std::chrono::seconds(10)), 0) << kpid.Output();
}

// promtool on the files as shipped, and on copies with a changed rule: the unit tests in
// tests/deploy/kpid-alerts.test.yml must notice.
class PromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kPromtool)) GTEST_SKIP() << Missing(kPromtool);
  }

  static int Promtool(const std::string& args, std::string* out) {
    return RunCommand(std::string(kPromtool) + " " + args, out);
  }
};

TEST_F(PromtoolTest, ConfigAndRulesAreValid) {
  std::string out;
  EXPECT_EQ(
      Promtool("check config " + SourcePath("deploy/prometheus/prometheus.yml").string(), &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr("SUCCESS: 1 rule files found"));
  out.clear();
  EXPECT_EQ(Promtool("check rules " + SourcePath("deploy/prometheus/kpid-alerts.yml").string() +
                         " " + SourcePath("deploy/prometheus/kpi-goal-alerts.yml").string(),
                     &out),
            0)
      << out;
}

TEST_F(PromtoolTest, AlertRuleUnitTestsPass) {
  std::string out;
  EXPECT_EQ(
      Promtool("test rules " + SourcePath("tests/deploy/kpid-alerts.test.yml").string(), &out), 0)
      << out;
}

TEST_F(PromtoolTest, AlertRuleUnitTestsCatchAChangedRule) {
  const std::string alerts = ReadFile(SourcePath("deploy/prometheus/kpid-alerts.yml"));
  const std::string goals = ReadFile(SourcePath("deploy/prometheus/kpi-goal-alerts.yml"));
  std::string tests = ReadFile(SourcePath("tests/deploy/kpid-alerts.test.yml"));
  tests = std::regex_replace(tests, std::regex(R"(\.\./\.\./deploy/prometheus/)"), "");
  // (file, text in it, replacement): each change breaks what one alert promises.
  const std::vector<std::array<std::string, 3>> mutations = {
      {"kpid-alerts.yml", "expr: up{job=\"kpid\"} == 0\n        for: 5m",
       "expr: up{job=\"kpid\"} == 0\n        for: 10m"},
      {"kpid-alerts.yml", "unless on (job, instance, source)", "and on (job, instance, source)"},
      {"kpid-alerts.yml", "kpid_notification_oldest_pending_seconds > 1800",
       "kpid_notification_oldest_pending_seconds > 3600"},
      {"kpid-alerts.yml", "and on (job, instance) (up offset 15m)", ""},
      {"kpid-alerts.yml", "kpid_store_up == 0", "kpid_store_up < 0"},
      {"kpid-alerts.yml", "severity: critical", "severity: page"},
      {"kpi-goal-alerts.yml", "kpi_status{status=\"off_track\"} == 1",
       "kpi_status{status=\"at_risk\"} == 1"},
  };
  for (const auto& [file, from, to] : mutations) {
    SCOPED_TRACE(from);
    const std::string original = file == "kpid-alerts.yml" ? alerts : goals;
    const std::size_t at = original.find(from);
    ASSERT_NE(at, std::string::npos);
    std::string changed = original;
    changed.replace(at, from.size(), to);
    TempDir dir;
    dir.Write("kpid-alerts.yml", file == "kpid-alerts.yml" ? changed : alerts);
    dir.Write("kpi-goal-alerts.yml", file == "kpi-goal-alerts.yml" ? changed : goals);
    const std::filesystem::path test_file = dir.Write("test.yml", tests);
    std::string out;
    EXPECT_NE(Promtool("test rules " + test_file.string(), &out), 0) << out;
    // The unchanged copies pass, so the failure is the mutation's.
    if (from == mutations.front()[1]) {
      dir.Write("kpid-alerts.yml", alerts);
      out.clear();
      EXPECT_EQ(Promtool("test rules " + test_file.string(), &out), 0) << out;
    }
  }
}

}  // namespace
}  // namespace kpid::testing
