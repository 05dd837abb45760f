// The canary-secret test: a known canary string sits in every secret field and every
// ${ENV} / file expansion of one config, every error path runs (a wrong PostgreSQL
// password, an untrusted TLS certificate, HTTP 401, an SMTP AUTH refusal, Slack and webhook
// URLs that fail, wrong API credentials), and then the daemon's logs (text and JSON), the
// API, /metrics, the status pages and the output of `kpid check`, `kpid eval` and
// `kpid notify-test` are searched: no canary may appear anywhere.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/servers.hpp"
#include "tests/support/smtp_server.hpp"

namespace kpid {
namespace {

using testing::HttpRequest;
using testing::HttpResult;
using testing::HttpTestRequest;
using testing::HttpTestResponse;
using testing::HttpTestServer;
using testing::RunCommand;
using testing::Subprocess;
using testing::TempDir;
using testing::WaitFor;

// field -> canary. Each is unique, so a leak names its field.
const std::map<std::string, std::string>& Canaries() {
  static const std::map<std::string, std::string> kCanaries = {
      {"sql password_file", "CANARY-pg-file-3f9a61d2"},
      {"sql connection password", "CANARY-pg-conn-7c2e04b5"},
      {"http headers ${ENV}", "CANARY-env-header-51b8d2aa"},
      {"http bearer_token_file", "CANARY-http-bearer-e2f7c013"},
      {"http url userinfo", "CANARY-url-userinfo-0d47e9b1"},
      {"http url query", "CANARY-url-query-c3a2f19e"},
      {"smtp password_file", "CANARY-smtp-8e13aa60"},
      {"slack webhook_url_file", "CANARY-slack-5b0c3f77"},
      {"webhook url", "CANARY-webhook-url-2a7d9044"},
      {"webhook headers ${ENV}", "CANARY-env-hook-9c01ee3b"},
      {"auth_token_file", "CANARY-api-token-6f21c8d9"},
      {"basic-auth password", "CANARY-basic-pw-94e0b7f3"},
      {"basic-auth header (base64)", ""},  // filled in by the test
      {"wrong bearer sent", "CANARY-wrong-bearer-4d4d1a2b"},
      {"wrong basic password sent", "CANARY-wrong-basic-0f0f3c3c"},
  };
  return kCanaries;
}

std::string Base64(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0;
  int held = 0;
  for (const char c : in) {
    bits = (bits << 8) | static_cast<unsigned char>(c);
    held += 8;
    while (held >= 6) {
      held -= 6;
      out += kAlphabet[(bits >> held) & 63U];
    }
  }
  if (held > 0) out += kAlphabet[(bits << (6 - held)) & 63U];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto missing = testing::PostgresServer::Missing()) GTEST_SKIP() << *missing;
    if (auto missing = testing::SmtpServer::Missing()) GTEST_SKIP() << *missing;
    std::string error;
    pg_ = testing::PostgresServer::Start(&error);
    ASSERT_TRUE(pg_) << error;
    testing::SmtpServerOptions smtp = testing::SmtpWithTls("starttls", true);
    smtp.auth = "kpid:the-right-smtp-password";
    ASSERT_TRUE(smtp_.Start(smtp, &error)) << error;
    std::filesystem::create_directories(dir_.path() / "untrusted");
    ASSERT_TRUE(testing::MakeSelfSignedCertificate(dir_.path() / "untrusted", untrusted_, &error))
        << error;
    // The peers that fail: 401 on the HTTP source; an untrusted TLS certificate; Slack and
    // webhook endpoints that answer 500.
    unauthorized_ = std::make_unique<HttpTestServer>([](const HttpTestRequest&) {
      return HttpTestResponse::Json(R"({"error":"unauthorized"})", 401);
    });
    tls_source_ = std::make_unique<HttpTestServer>(
        [](const HttpTestRequest&) { return HttpTestResponse::Json(R"({"v":1})"); }, untrusted_);
    slack_ = std::make_unique<HttpTestServer>(
        [](const HttpTestRequest&) { return HttpTestResponse::Text("no_service", 500); });
    hook_ = std::make_unique<HttpTestServer>(
        [](const HttpTestRequest&) { return HttpTestResponse::Json("{}", 500); });
  }

  std::string C(const std::string& field) const { return Canaries().at(field); }

  // The config with a canary in every secret field; `port` for the listener.
  std::string Config(int port, const std::string& state) const {
    const std::string d = dir_.path().string();
    dir_.Write("pg-password", C("sql password_file"));
    dir_.Write("http-bearer", C("http bearer_token_file"));
    dir_.Write("smtp-password", C("smtp password_file"));
    dir_.Write("slack-url", slack_->Url("/services/" + C("slack webhook_url_file")));
    dir_.Write("api-token", C("auth_token_file"));
    const std::string tls_url = "https://kpid:" + C("http url userinfo") +
                                "@127.0.0.1:" + std::to_string(tls_source_->port()) +
                                "/stats?token=" + C("http url query");
    return R"([server]
listen = "127.0.0.1:)" +
           std::to_string(port) + R"("
auth_token_file = ")" +
           d + R"(/api-token"
[server.basic_auth_users]
prometheus = ")" +
           basic_hash_ +
           R"("

[storage]
path = ")" +
           d + "/" + state +
           R"(.db"

[evaluation]
interval = "1s"

[[source]]
name = "pg_file"
type = "sql"
driver = "postgresql"
connection = ")" +
           pg_->ConnectionString() +
           R"("
password_file = ")" +
           d + R"(/pg-password"
timeout = "5s"

[[source]]
name = "pg_conn"
type = "sql"
driver = "postgresql"
connection = ")" +
           pg_->ConnectionString() + " password=" + C("sql connection password") + R"("
timeout = "5s"

[[source]]
name = "crm_401"
type = "http"
url = ")" + unauthorized_->Url("/stats") +
           R"("
headers = { X-Api-Key = "${KPID_CANARY_HEADER}" }
bearer_token_file = ")" +
           d + R"(/http-bearer"
timeout = "5s"

[[source]]
name = "crm_tls"
type = "http"
url = ")" + tls_url +
           R"("
timeout = "5s"

[[kpi]]
name = "from_pg_file"
labels = { team = "t" }
source = "pg_file"
query = "SELECT 1"
interval = "1s"
  [kpi.goal]
  max = 10

[[kpi]]
name = "from_pg_conn"
labels = { team = "t" }
source = "pg_conn"
query = "SELECT 1"
interval = "1s"
  [kpi.goal]
  max = 10

[[kpi]]
name = "from_crm_401"
labels = { team = "t" }
source = "crm_401"
json_pointer = "/v"
interval = "1s"
  [kpi.goal]
  max = 10

[[kpi]]
name = "from_crm_tls"
labels = { team = "t" }
source = "crm_tls"
json_pointer = "/v"
interval = "1s"
  [kpi.goal]
  max = 10

[[route]]
match = { team = "t" }
receivers = ["mail", "slack", "hook"]
group_by = ["kpi"]
group_wait = "0s"
group_interval = "1s"

[[receiver]]
name = "mail"
type = "email"
smtp_url = ")" +
           smtp_.Url() +
           R"("
starttls = "always"
ca_file = ")" +
           smtp_.certificate().string() +
           R"("
from = "kpid@example.com"
to = ["ops@example.com"]
username = "kpid"
password_file = ")" +
           d + R"(/smtp-password"

[[receiver]]
name = "slack"
type = "slack"
webhook_url_file = ")" +
           d + R"(/slack-url"

[[receiver]]
name = "hook"
type = "webhook"
url = ")" + hook_->Url("/hook/" + C("webhook url")) +
           R"("
headers = { X-Hook-Token = "${KPID_CANARY_HOOK}" }
)";
  }

  std::map<std::string, std::string> Env() const {
    return {{"KPID_CANARY_HEADER", C("http headers ${ENV}")},
            {"KPID_CANARY_HOOK", C("webhook headers ${ENV}")}};
  }

  // Runs a kpid command with the canary environment; its combined output.
  std::string Cli(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {KPID_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto log = dir_.path() / ("cli-" + std::to_string(++cli_runs_) + ".log");
    Subprocess cli(argv, log, Env());
    EXPECT_TRUE(cli.Wait(std::chrono::seconds(60))) << "kpid " << args.at(0) << " hangs";
    return cli.Output();
  }

  // Records `text` (from `where`) for the final search.
  void Collect(const std::string& where, const std::string& text) {
    seen_.emplace_back(where, text);
  }

  TempDir dir_;
  std::unique_ptr<testing::PostgresServer> pg_;
  testing::SmtpServer smtp_;
  HttpTestServer::Tls untrusted_;
  std::unique_ptr<HttpTestServer> unauthorized_;
  std::unique_ptr<HttpTestServer> tls_source_;
  std::unique_ptr<HttpTestServer> slack_;
  std::unique_ptr<HttpTestServer> hook_;
  std::string basic_hash_;
  mutable int cli_runs_ = 0;
  std::vector<std::pair<std::string, std::string>> seen_;
};

TEST_F(SecretsTest, NoCanaryReachesLogsApiMetricsPagesOrCommandOutput) {
  std::string out;
  // A bcrypt hash of the basic-auth canary, made by libxcrypt through Python's crypt.
  ASSERT_EQ(RunCommand("/usr/bin/python3 -W ignore -c 'import crypt, sys; "
                       "print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, "
                       "rounds=16)), end=\"\")' " +
                           C("basic-auth password"),
                       &out),
            0)
      << out;
  basic_hash_ = out;
  const std::string basic =
      "Authorization: Basic " + Base64("prometheus:" + C("basic-auth password"));
  std::map<std::string, std::string> canaries = Canaries();
  canaries["basic-auth header (base64)"] = Base64("prometheus:" + C("basic-auth password"));
  canaries["basic-auth bcrypt hash"] = basic_hash_;

  // Two daemons, one per log format, each with its own state.
  const int text_port = testing::FreePort();
  const int json_port = testing::FreePort();
  const auto text_config = dir_.Write("text.toml", Config(text_port, "text"));
  const auto json_config = dir_.Write("json.toml", Config(json_port, "json"));
  Subprocess text_kpid({KPID_BINARY, "run", "--config", text_config.string()},
                       dir_.path() / "kpid-text.log", Env());
  Subprocess json_kpid(
      {KPID_BINARY, "run", "--config", json_config.string(), "--log-format", "json"},
      dir_.path() / "kpid-json.log", Env());

  // Every error path has run once each source failed and each receiver was refused.
  auto driven = [](const std::string& log) {
    auto has_line = [&log](std::string_view a, std::string_view b) {
      std::istringstream in(log);
      std::string line;
      while (std::getline(in, line)) {
        if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
      }
      return false;
    };
    for (const char* source : {"pg_file", "pg_conn", "crm_401", "crm_tls"}) {
      if (!has_line("collection failing", source)) return false;
    }
    // A refused SMTP login is permanent (dropped); HTTP 500 is retried.
    for (const std::string receiver : {"mail", "slack", "hook"}) {
      bool seen = false;
      for (const std::string& field : {"receiver=" + receiver,                  // text
                                       "\"receiver\":\"" + receiver + "\""}) {  // JSON
        seen = seen || has_line("notification not delivered", field) ||
               has_line("notification dropped", field);
      }
      if (!seen) return false;
    }
    return true;
  };
  ASSERT_TRUE(WaitFor([&] { return driven(text_kpid.Output()) && driven(json_kpid.Output()); },
                      std::chrono::seconds(90)))
      << text_kpid.Output() << "\n"
      << json_kpid.Output();

  // The API, metrics and pages, with the right credentials, then wrong ones.
  for (int port : {text_port, json_port}) {
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    for (const char* path :
         {"/api/v1/kpis", "/api/v1/kpis/from_pg_conn", "/api/v1/alerts", "/api/v1/silences",
          "/metrics", "/", "/kpi/from_pg_file", "/kpi/from_crm_tls", "/-/ready", "/-/healthy"}) {
      const HttpResult r = HttpRequest("GET", base + path, "", {basic});
      EXPECT_EQ(r.status, 200) << path << ": " << r.error << r.body;
      Collect(std::string("GET ") + path, r.body);
    }
    const HttpResult wrong_basic = HttpRequest(
        "GET", base + "/metrics", "",
        {"Authorization: Basic " + Base64("prometheus:" + C("wrong basic password sent"))});
    EXPECT_EQ(wrong_basic.status, 401);
    Collect("401 body", wrong_basic.body);
    const HttpResult wrong_bearer = HttpRequest(
        "POST", base + "/-/reload", "", {"Authorization: Bearer " + C("wrong bearer sent")});
    EXPECT_EQ(wrong_bearer.status, 401);
    Collect("401 bearer body", wrong_bearer.body);
    const HttpResult reload = HttpRequest("POST", base + "/-/reload", "",
                                          {"Authorization: Bearer " + C("auth_token_file")});
    EXPECT_EQ(reload.status, 200) << reload.body;
    Collect("reload body", reload.body);
  }

  // The command line: check, eval (table and JSON) and a test notification per receiver.
  Collect("kpid check", Cli({"check", "--config", text_config.string()}));
  Collect("kpid check (json log)",
          Cli({"check", "--config", text_config.string(), "--log-format", "json"}));
  Collect("kpid eval", Cli({"eval", "--config", text_config.string()}));
  Collect("kpid eval --format json", Cli({"eval", "--config", text_config.string(), "--format",
                                          "json", "--log-format", "json"}));
  for (const char* receiver : {"mail", "slack", "hook"}) {
    const std::string output =
        Cli({"notify-test", "--config", text_config.string(), "--receiver", receiver});
    EXPECT_FALSE(output.empty()) << receiver;
    Collect(std::string("kpid notify-test ") + receiver, output);
  }
  // A config with an error in each table: `kpid check` reports them without the secrets.
  std::string broken = ReadFile(text_config);
  for (const char* table : {"[server]\n", "name = \"pg_file\"\n", "name = \"pg_conn\"\n",
                            "name = \"crm_401\"\n", "name = \"mail\"\n", "name = \"hook\"\n"}) {
    const auto at = broken.find(table);
    ASSERT_NE(at, std::string::npos) << table;
    broken.insert(at + std::string(table).size(), "unknown_key = 1\n");
  }
  const auto broken_config = dir_.Write("broken.toml", broken);
  const std::string check = Cli({"check", "--config", broken_config.string()});
  EXPECT_THAT(check, ::testing::HasSubstr("unknown_key"));
  Collect("kpid check (invalid config)", check);

  text_kpid.Signal(SIGTERM);
  json_kpid.Signal(SIGTERM);
  EXPECT_EQ(text_kpid.Wait(std::chrono::seconds(15)), 0);
  EXPECT_EQ(json_kpid.Wait(std::chrono::seconds(15)), 0);
  Collect("kpid run log (text)", text_kpid.Output());
  Collect("kpid run log (json)", json_kpid.Output());

  // The search itself. A hit names the field and where it leaked.
  ASSERT_GE(seen_.size(), 30u);
  for (const auto& [where, text] : seen_) {
    for (const auto& [field, canary] : canaries) {
      ASSERT_FALSE(canary.empty()) << field;
      EXPECT_EQ(text.find(canary), std::string::npos)
          << "the " << field << " canary leaked into " << where << ":\n"
          << text.substr(text.find(canary) > 300 ? text.find(canary) - 300 : 0, 700);
    }
  }
  // The error paths really ran (so the search above means something).
  const std::string log = text_kpid.Output();
  EXPECT_THAT(log, ::testing::HasSubstr("password authentication failed"));
  EXPECT_THAT(log, ::testing::HasSubstr("401"));
}

}  // namespace
}  // namespace kpid
