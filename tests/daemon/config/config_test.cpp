#include "daemon/config/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "collectors/csv/settings.hpp"
#include "collectors/http/settings.hpp"
#include "collectors/sql/settings.hpp"
#include "daemon/load_config.hpp"
#include "daemon/notify/email/settings.hpp"
#include "daemon/notify/slack/settings.hpp"

namespace kpid::config {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kData = KPID_SOURCE_DIR "/tests/data/config";

// The environment the test configs see: secrets under tests/data/config/secrets.
EnvLookup TestEnv(std::map<std::string, std::string> extra = {}) {
  extra.emplace("KPID_TEST_SECRETS", (fs::path(kData) / "secrets").string());
  extra.emplace("CRM_TOKEN", "crm-token-canary-0b9e");
  extra.emplace("KPID_DEMO_DIR", "/tmp/kpid-demo");
  // The shipped examples read their secrets as systemd's LoadCredential= provides them.
  extra.emplace("CREDENTIALS_DIRECTORY", (fs::path(kData) / "secrets").string());
  return [extra](const std::string& name) -> std::optional<std::string> {
    auto it = extra.find(name);
    if (it == extra.end()) return std::nullopt;
    return it->second;
  };
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// "# expect: LINE:COL: message" lines at the end of each invalid config.
std::vector<std::string> ExpectedErrors(const fs::path& path) {
  std::vector<std::string> out;
  std::istringstream in(ReadFile(path));
  std::string line;
  constexpr std::string_view kPrefix = "# expect: ";
  while (std::getline(in, line)) {
    if (line.starts_with(kPrefix)) out.push_back(path.string() + ":" + line.substr(kPrefix.size()));
  }
  return out;
}

std::vector<fs::path> TomlFiles(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".toml") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ConfigTest, InvalidConfigsReportEveryErrorAtItsLineAndColumn) {
  auto files = TomlFiles(fs::path(kData) / "invalid");
  ASSERT_GE(files.size(), 10u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    std::vector<std::string> expected = ExpectedErrors(file);
    ASSERT_FALSE(expected.empty()) << "no '# expect:' lines";
    LoadResult result = LoadConfig(file.string(), TestEnv());
    EXPECT_FALSE(result.config.has_value());
    std::vector<std::string> actual;
    for (const Diagnostic& d : result.errors) actual.push_back(d.ToString());
    EXPECT_EQ(actual, expected);
  }
}

TEST(ConfigTest, ValidConfigsAndEveryShippedExampleLoad) {
  std::vector<fs::path> files = TomlFiles(fs::path(kData) / "valid");
  auto examples = TomlFiles(fs::path(KPID_SOURCE_DIR) / "deploy/examples");
  ASSERT_FALSE(examples.empty());
  files.insert(files.end(), examples.begin(), examples.end());
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    LoadResult result = LoadConfig(file.string(), TestEnv());
    for (const Diagnostic& d : result.errors) ADD_FAILURE() << d.ToString();
    EXPECT_TRUE(result.config.has_value());
  }
}

TEST(ConfigTest, DesignExampleParsesIntoTypedValues) {
  LoadResult result =
      LoadConfig((fs::path(kData) / "valid/design_example.toml").string(), TestEnv());
  ASSERT_TRUE(result.config) << (result.errors.empty() ? "" : result.errors[0].ToString());
  const Config& c = *result.config;
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 9464);
  ASSERT_TRUE(c.server.auth_token);
  EXPECT_EQ(c.server.auth_token->Reveal(), "api-token-canary-7f3a");
  EXPECT_EQ(c.storage.retention, std::chrono::hours(400 * 24));
  EXPECT_EQ(c.evaluation.interval, std::chrono::minutes(1));
  EXPECT_EQ(c.evaluation.timezone, "Europe/Berlin");
  ASSERT_NE(c.evaluation.zone, nullptr);

  ASSERT_EQ(c.sources.size(), 3u);
  const Source* warehouse = c.FindSource("warehouse");
  ASSERT_NE(warehouse, nullptr);
  EXPECT_EQ(warehouse->timeout, std::chrono::seconds(30));
  EXPECT_EQ(warehouse->max_concurrency, 2);
  const auto& sql = dynamic_cast<const collectors::sql::SourceSettings&>(*warehouse->settings);
  EXPECT_EQ(sql.driver, collectors::sql::Driver::kPostgresql);
  ASSERT_TRUE(sql.password);
  EXPECT_EQ(sql.password->Reveal(), "warehouse-pw-canary-91c2");
  const auto& http =
      dynamic_cast<const collectors::http::SourceSettings&>(*c.FindSource("crm")->settings);
  ASSERT_EQ(http.headers.size(), 1u);
  EXPECT_EQ(http.headers[0].second.Reveal(), "Bearer crm-token-canary-0b9e");

  const Kpi* revenue = c.FindKpi("quarterly_revenue");
  ASSERT_NE(revenue, nullptr);
  EXPECT_EQ(revenue->interval, std::chrono::minutes(15));
  EXPECT_EQ(revenue->stale_after, std::chrono::hours(2));
  EXPECT_EQ(revenue->labels, (Labels{{"objective", "growth"}, {"team", "finance"}}));
  ASSERT_TRUE(revenue->goal);
  const auto& goal = std::get<DeadlineGoal>(revenue->goal->kind);
  EXPECT_EQ(goal.target, 1200000);
  EXPECT_EQ(goal.deadline.kind, rules::TimeSpec::Kind::kDate);
  EXPECT_EQ(goal.deadline.day, 31);
  ASSERT_EQ(goal.milestones.size(), 1u);
  EXPECT_EQ(goal.milestones[0].value, 500000);
  const auto& revenue_sql = dynamic_cast<const collectors::sql::KpiSettings&>(*revenue->collect);
  EXPECT_THAT(revenue_sql.history_query, HasSubstr("revenue_daily"));

  const Kpi* churn = c.FindKpi("monthly_churn");
  ASSERT_NE(churn, nullptr);
  EXPECT_EQ(churn->interval, std::chrono::minutes(1)) << "defaults to evaluation.interval";
  EXPECT_EQ(churn->stale_after, std::chrono::minutes(3)) << "defaults to 3 x interval";
  const auto& band = std::get<BandGoal>(churn->goal->kind);
  EXPECT_EQ(band.max, 0.03);
  EXPECT_FALSE(band.min.has_value());
  ASSERT_EQ(churn->rules.size(), 1u);
  EXPECT_EQ(churn->rules[0].for_duration, std::chrono::hours(1));
  EXPECT_EQ(churn->rules[0].when.text, "delta > 0.005");

  const auto& csv =
      dynamic_cast<const collectors::csv::KpiSettings&>(*c.FindKpi("eu_orders")->collect);
  EXPECT_EQ(csv.where, (StringPairs{{"region", "EU"}}));
  EXPECT_EQ(csv.aggregate, collectors::csv::Aggregate::kLast);

  // Derived KPIs come after the KPIs they read.
  auto index = [&](std::string_view name) {
    for (std::size_t i = 0; i < c.kpis.size(); ++i) {
      if (c.kpis[i].name == name) return i;
    }
    return c.kpis.size();
  };
  EXPECT_GT(index("orders_per_customer"), index("eu_orders"));
  EXPECT_GT(index("orders_per_customer"), index("active_customers"));

  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].repeat_interval, std::chrono::hours(24));
  EXPECT_TRUE(c.routes[0].active_time.has_value());
  const auto& mail =
      dynamic_cast<const notify::email::Settings&>(*c.FindReceiver("finance-mail")->settings);
  EXPECT_EQ(mail.password->Reveal(), "smtp-pw-canary-44d1");
  const auto& slack =
      dynamic_cast<const notify::slack::Settings&>(*c.FindReceiver("finance-slack")->settings);
  EXPECT_EQ(slack.webhook_url.Reveal(), "https://hooks.slack.test/services/canary-e5b0");
  ASSERT_EQ(c.digests.size(), 1u);
  EXPECT_TRUE(c.digests[0].schedule.has_value());
  ASSERT_EQ(c.silences.size(), 1u);
  EXPECT_EQ(c.silences[0].comment, "holiday freeze");
}

TEST(ConfigTest, ErrorsNeverContainSecrets) {
  // Every secret-bearing field holds a canary, and each table also has an error.
  std::string text = R"(
[server]
auth_token_file = "${KPID_TEST_SECRETS}/api-token"
listen = 1
[[source]]
name = "db"
type = "sql"
driver = "postgres"
connection = "host=x password=${DB_PASSWORD}"
password_file = "${KPID_TEST_SECRETS}/warehouse"
[[source]]
name = "crm"
type = "http"
url = "ftp://user:${DB_PASSWORD}@crm"
headers = { Authorization = "Bearer ${DB_PASSWORD}", X = 1 }
[[receiver]]
name = "slack"
type = "slack"
webhook_url = "${DB_PASSWORD}"
[[receiver]]
name = "mail"
type = "email"
smtp_url = "smtp://u:${DB_PASSWORD}@host"
password = "${DB_PASSWORD}"
from = "x"
to = ["a@b"]
)";
  LoadResult result = LoadFromString(text, "secrets.toml", BuiltinExtensions(),
                                     TestEnv({{"DB_PASSWORD", "db-pw-canary-5a5a"}}));
  ASSERT_FALSE(result.config);
  ASSERT_GE(result.errors.size(), 5u);
  for (const Diagnostic& d : result.errors) {
    std::string s = d.ToString();
    for (const char* canary : {"api-token-canary", "warehouse-pw-canary", "db-pw-canary"}) {
      EXPECT_THAT(s, Not(HasSubstr(canary))) << s;
    }
  }
}

TEST(ConfigTest, LikelihoodThresholdBecomesARuleAndRepeatCanBeNever) {
  const std::string text = R"(
[[source]]
name = "db"
type = "sql"
driver = "sqlite3"
connection = "/tmp/x.db"
[[kpi]]
name = "revenue"
source = "db"
query = "SELECT 1"
  [kpi.goal]
  baseline = 0
  target = 100
  start = 2026-10-01
  deadline = 2026-12-31
  for = "1h"
  notify_when_likelihood_below = 0.5
[[receiver]]
name = "audit"
type = "file"
path = "/tmp/n.jsonl"
[[route]]
receivers = ["audit"]
repeat_interval = "never"
)";
  LoadResult result = LoadFromString(text, "t.toml", BuiltinExtensions(), TestEnv());
  ASSERT_TRUE(result.config) << (result.errors.empty() ? "" : result.errors[0].ToString());
  const Kpi& kpi = result.config->kpis.at(0);
  ASSERT_EQ(kpi.rules.size(), 1u);
  const Rule& rule = kpi.rules[0];
  EXPECT_EQ(rule.name, "likelihood");
  EXPECT_EQ(rule.when.text, "likelihood < 0.5");
  EXPECT_EQ(rule.for_duration, std::chrono::hours(1));
  EXPECT_EQ(rule.severity, rules::Severity::kWarning);
  EXPECT_EQ(rule.where.line, 17);  // the key's place, for messages about the rule
  ASSERT_TRUE(rule.summary.has_value());
  EXPECT_THAT(rule.summary->text, HasSubstr("{{likelihood}}"));
  EXPECT_EQ(result.config->routes.at(0).repeat_interval, Duration::zero());
}

TEST(ConfigTest, UnreadableFileIsOneClearError) {
  LoadResult result = LoadConfig("/nonexistent/kpid.toml", TestEnv());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].ToString(),
            "/nonexistent/kpid.toml: cannot read config file: No such file or directory");
}

TEST(ConfigTest, EmptyConfigGetsDefaults) {
  LoadResult result = LoadFromString("", "empty.toml", BuiltinExtensions(), TestEnv());
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->server.listen, "127.0.0.1:9464");
  EXPECT_EQ(result.config->server.external_url, "http://127.0.0.1:9464");
  EXPECT_EQ(result.config->storage.path, "/var/lib/kpid/kpid.db");
  EXPECT_EQ(result.config->evaluation.timezone, "UTC");
  EXPECT_NE(result.config->evaluation.zone, nullptr);
}

TEST(ConfigTest, MatchersAreAnchoredLikeAlertmanager) {
  LoadResult result = LoadFromString(R"(
[[receiver]]
name = "audit"
type = "file"
path = "/tmp/a.jsonl"
[[route]]
match_re = { kpi = "rev.*" }
match = { team = "finance" }
receivers = ["audit"]
)",
                                     "m.toml", BuiltinExtensions(), TestEnv());
  ASSERT_TRUE(result.config);
  const auto& matchers = result.config->routes.at(0).matchers;
  ASSERT_EQ(matchers.size(), 2u);
  const Matcher& team = matchers[0].label == "team" ? matchers[0] : matchers[1];
  const Matcher& kpi = matchers[0].label == "kpi" ? matchers[0] : matchers[1];
  EXPECT_TRUE(team.Matches("finance"));
  EXPECT_FALSE(team.Matches("finance2"));
  EXPECT_TRUE(kpi.Matches("revenue"));
  EXPECT_FALSE(kpi.Matches("net_revenue"));
}

std::vector<std::string> Errors(const LoadResult& result) {
  std::vector<std::string> out;
  for (const Diagnostic& d : result.errors) out.push_back(d.ToString());
  return out;
}

TEST(ServerConfigTest, TlsCertWithoutKeyIsAnErrorAtTheGivenKey) {
  LoadResult cert_only = LoadFromString("[server]\ntls_cert_file = \"/etc/kpid/cert.pem\"\n",
                                        "test.toml", BuiltinExtensions(), TestEnv());
  EXPECT_FALSE(cert_only.config);
  EXPECT_THAT(Errors(cert_only),
              ::testing::ElementsAre(HasSubstr("test.toml:2:17: \"tls_cert_file\" needs "
                                               "\"tls_key_file\" too")));
  LoadResult key_only = LoadFromString("[server]\nlisten = \":1\"\ntls_key_file = \"/k.pem\"\n",
                                       "test.toml", BuiltinExtensions(), TestEnv());
  EXPECT_THAT(Errors(key_only), ::testing::ElementsAre(HasSubstr(
                                    "test.toml:3:16: \"tls_key_file\" needs \"tls_cert_file\"")));
}

constexpr std::string_view kHistorySource = R"([[source]]
name = "db"
type = "sql"
driver = "sqlite3"
connection = "/tmp/x.db"
)";

TEST(KpiConfigTest, HistoryIntervalDefaultsToAnHourAndNeverIsZero) {
  LoadResult result = LoadFromString(std::string(kHistorySource) + R"([[kpi]]
name = "default"
source = "db"
query = "SELECT 1"
[[kpi]]
name = "daily"
source = "db"
query = "SELECT 1"
history_interval = "1d"
[[kpi]]
name = "frozen"
source = "db"
query = "SELECT 1"
history_interval = "never"
)",
                                     "test.toml", BuiltinExtensions(), TestEnv());
  ASSERT_TRUE(result.config) << (result.errors.empty() ? "" : result.errors[0].ToString());
  EXPECT_EQ(result.config->FindKpi("default")->history_interval, std::chrono::hours(1));
  EXPECT_EQ(result.config->FindKpi("daily")->history_interval, std::chrono::hours(24));
  EXPECT_EQ(result.config->FindKpi("frozen")->history_interval, Duration::zero());
}

TEST(KpiConfigTest, BadHistoryIntervalIsAnErrorAtItsValue) {
  LoadResult result = LoadFromString(std::string(kHistorySource) + R"([[kpi]]
name = "a"
source = "db"
query = "SELECT 1"
history_interval = "sometimes"
[[kpi]]
name = "b"
source = "db"
query = "SELECT 1"
history_interval = "500ms"
[[kpi]]
name = "c"
source = "db"
query = "SELECT 1"
history_interval = 60
)",
                                     "test.toml", BuiltinExtensions(), TestEnv());
  EXPECT_FALSE(result.config);
  EXPECT_THAT(
      Errors(result),
      ::testing::ElementsAre(
          "test.toml:10:20: \"history_interval\": invalid duration \"sometimes\"; expected a "
          "number with a unit: ms, s, m, h, d, w, y (e.g. \"90s\", \"1h30m\")",
          "test.toml:15:20: \"history_interval\" must be at least 1s, got \"500ms\"",
          "test.toml:20:20: \"history_interval\" must be a duration string like \"90s\", "
          "\"15m\", \"2h\" or \"7d\", not an integer"));
}

TEST(KpiConfigTest, HistoryIntervalOnADerivedKpiIsAnUnknownKey) {
  LoadResult result = LoadFromString(std::string(kHistorySource) + R"([[kpi]]
name = "orders"
source = "db"
query = "SELECT 1"
[[kpi]]
name = "double_orders"
expr = "orders * 2"
history_interval = "1h"
query = "SELECT 2"
)",
                                     "test.toml", BuiltinExtensions(), TestEnv());
  EXPECT_FALSE(result.config);
  EXPECT_THAT(Errors(result),
              ::testing::ElementsAre("test.toml:13:1: unknown key \"history_interval\" in [[kpi]]",
                                     "test.toml:14:1: unknown key \"query\" in [[kpi]]"));
}

// Two self-signed certificates with their keys, made by the openssl CLI.
class TlsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kpid-tls-config-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    for (const char* name : {"a", "b"}) {
      const std::string command =
          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
          "-subj /CN=127.0.0.1 -keyout '" +
          (dir_ / (std::string(name) + "-key.pem")).string() + "' -out '" +
          (dir_ / (std::string(name) + "-cert.pem")).string() + "' >/dev/null 2>&1";
      if (std::system(command.c_str()) != 0) GTEST_SKIP() << "the openssl CLI is missing";
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  LoadResult Load(const std::string& cert, const std::string& key) const {
    return LoadFromString("[server]\ntls_cert_file = \"" + (dir_ / cert).string() +
                              "\"\ntls_key_file = \"" + (dir_ / key).string() + "\"\n",
                          "test.toml", BuiltinExtensions(), TestEnv());
  }

  fs::path dir_;
};

TEST_F(TlsConfigTest, MatchingFilesLoadAndLinksUseHttps) {
  LoadResult result = Load("a-cert.pem", "a-key.pem");
  ASSERT_TRUE(result.config) << ::testing::PrintToString(Errors(result));
  EXPECT_EQ(result.config->server.tls_cert_file, (dir_ / "a-cert.pem").string());
  EXPECT_EQ(result.config->server.external_url, "https://127.0.0.1:9464");
}

TEST_F(TlsConfigTest, KeyOfAnotherCertificateOrUnreadableFileIsAnError) {
  LoadResult mismatch = Load("a-cert.pem", "b-key.pem");
  EXPECT_FALSE(mismatch.config);
  EXPECT_THAT(Errors(mismatch), ::testing::ElementsAre(::testing::AllOf(
                                    HasSubstr("test.toml:3:16: \"tls_key_file\": "),
                                    HasSubstr("does not match the certificate"))));
  LoadResult missing = Load("nope.pem", "a-key.pem");
  EXPECT_THAT(Errors(missing), ::testing::ElementsAre(::testing::AllOf(
                                   HasSubstr("test.toml:2:17: \"tls_cert_file\": cannot read"),
                                   HasSubstr("No such file"))));
  // A key given as the certificate: an error that never shows the key.
  LoadResult swapped = Load("a-key.pem", "a-key.pem");
  ASSERT_EQ(swapped.errors.size(), 1u);
  EXPECT_THAT(swapped.errors[0].ToString(), Not(HasSubstr("PRIVATE KEY")));
}

TEST(ServerConfigTest, EachInvalidBcryptHashIsAnErrorAtItsLine) {
  LoadResult result = LoadFromString(R"([server.basic_auth_users]
prometheus = "$2y$10$bg1ztMU91iANtx/1feGIO.el4hNjdgl4dknsq.AE3cUE38zN2ANUa"
grafana = "plain-password-canary-9d1e"
"a:b" = "$2b$10$bg1ztMU91iANtx/1feGIO.el4hNjdgl4dknsq.AE3cUE38zN2ANUa"
)",
                                     "test.toml", BuiltinExtensions(), TestEnv());
  EXPECT_FALSE(result.config);
  EXPECT_THAT(
      Errors(result),
      ::testing::ElementsAre(HasSubstr("test.toml:3:11: user \"grafana\": not a bcrypt hash"),
                             HasSubstr("test.toml:4:9: user name \"a:b\" must not contain ':'")));
  for (const std::string& e : Errors(result)) {
    EXPECT_THAT(e, Not(HasSubstr("plain-password-canary")));
  }
}

TEST(ServerConfigTest, BasicAuthUsersLoad) {
  LoadResult result = LoadFromString(R"([server.basic_auth_users]
prometheus = "$2y$10$bg1ztMU91iANtx/1feGIO.el4hNjdgl4dknsq.AE3cUE38zN2ANUa"
)",
                                     "test.toml", BuiltinExtensions(), TestEnv());
  ASSERT_TRUE(result.config) << ::testing::PrintToString(Errors(result));
  ASSERT_EQ(result.config->server.basic_auth_users.size(), 1u);
  EXPECT_EQ(result.config->server.basic_auth_users.begin()->first, "prometheus");
  EXPECT_EQ(result.config->server.external_url, "http://127.0.0.1:9464");
}

}  // namespace
}  // namespace kpid::config
