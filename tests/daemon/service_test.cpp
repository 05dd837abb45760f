// The real kpid binary, started on a free loopback port: readiness, /metrics linted by
// promtool, reloads (bad and good, HTTP and SIGHUP), auth on mutating endpoints, and a
// clean stop on SIGTERM.
#include <csignal>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace kpid {
namespace {

using ::testing::HasSubstr;
using testing::HttpGet;
using testing::HttpRequest;
using ::testing::Not;
using testing::RunCommand;
using testing::Subprocess;
using testing::TempDir;
using testing::WaitFor;

std::string Config(int port, const std::string& extra = "") {
  return "[server]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n" + extra +
         R"(
[storage]
path = ":memory:"

[evaluation]
interval = "1s"

[[source]]
name = "finance"
type = "csv"
path = "/nonexistent/finance.csv"

[[kpi]]
name = "eu_orders"
source = "finance"
column = "orders"
)";
}

class ServiceTest : public ::testing::Test {
 protected:
  // Starts kpid on a free port with the config `extra` + Config(port).
  void Start(const std::string& extra = "", std::vector<std::string> extra_args = {}) {
    port_ = testing::FreePort();
    config_ = dir_.Write("kpid.toml", Config(port_, extra));
    std::vector<std::string> argv = {KPID_BINARY, "run", "--config", config_.string()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    kpid_ = std::make_unique<Subprocess>(argv, dir_.path() / "kpid.log");
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  bool Ready() const { return HttpGet(Url("/-/ready")).status == 200; }
  std::string Metric(const std::string& name) const {
    std::istringstream in(HttpGet(Url("/metrics")).body);
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with(name + " ")) return line.substr(name.size() + 1);
    }
    return "";
  }
  void ExpectCleanStop() {
    kpid_->Signal(SIGTERM);
    std::optional<int> status = kpid_->Wait(std::chrono::seconds(10));
    ASSERT_TRUE(status.has_value()) << "kpid did not stop on SIGTERM";
    EXPECT_EQ(*status, 0) << kpid_->Output();
  }

  TempDir dir_;
  int port_ = 0;
  std::filesystem::path config_;
  std::unique_ptr<Subprocess> kpid_;
};

TEST_F(ServiceTest, ServesLintedMetricsReloadsAndStopsCleanly) {
  Start();
  ASSERT_TRUE(WaitFor([&] { return Ready(); })) << kpid_->Output();

  EXPECT_EQ(HttpGet(Url("/-/healthy")).status, 200);
  testing::HttpResult metrics = HttpGet(Url("/metrics"));
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(metrics.body, HasSubstr("kpid_build_info{version=\"" KPID_VERSION "\"} 1"));
  for (const char* name :
       {"kpid_config_last_reload_successful", "kpid_config_last_reload_success_timestamp_seconds",
        "kpid_evaluation_duration_seconds_count", "process_resident_memory_bytes",
        "process_cpu_seconds_total", "process_start_time_seconds", "process_open_fds"}) {
    EXPECT_THAT(metrics.body, HasSubstr(std::string("\n") + name + " ")) << name;
  }
  EXPECT_EQ(Metric("kpid_config_last_reload_successful"), "1");
  // Ready means evaluated: the last evaluation's time is set, and recent.
  const double evaluated = std::stod(Metric("kpid_last_evaluation_timestamp_seconds"));
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(evaluated, now - 3600);
  EXPECT_LE(evaluated, now + 1);

  std::string promtool_output;
  int promtool = RunCommand("promtool check metrics", &promtool_output, metrics.body);
  EXPECT_EQ(promtool, 0) << promtool_output;

  // Unknown paths and wrong methods: JSON errors.
  testing::HttpResult missing = HttpGet(Url("/nope"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["error"], "not found: /nope");
  EXPECT_EQ(HttpRequest("DELETE", Url("/metrics")).status, 405);

  // A broken config is rejected; the old one keeps serving.
  std::string good_timestamp = Metric("kpid_config_last_reload_success_timestamp_seconds");
  dir_.Write("kpid.toml", Config(port_) + "\n[[kpi]]\nname = \"x\"\nsource = \"nowhere\"\n");
  testing::HttpResult rejected = HttpRequest("POST", Url("/-/reload"));
  EXPECT_EQ(rejected.status, 500);
  std::string error = nlohmann::json::parse(rejected.body)["error"];
  EXPECT_THAT(error, HasSubstr(config_.string() + ":22:10: unknown source \"nowhere\""));
  EXPECT_EQ(Metric("kpid_config_last_reload_successful"), "0");
  EXPECT_EQ(Metric("kpid_config_last_reload_success_timestamp_seconds"), good_timestamp);
  EXPECT_EQ(HttpGet(Url("/-/ready")).status, 200);

  kpid_->Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] {
    return kpid_->Output().find("trigger=SIGHUP") != std::string::npos ||
           kpid_->Output().find("config reload rejected") != std::string::npos;
  }));
  EXPECT_TRUE(kpid_->Running());
  EXPECT_EQ(HttpGet(Url("/-/healthy")).status, 200);

  // A good config is swapped in.
  dir_.Write("kpid.toml", Config(port_));
  EXPECT_EQ(HttpRequest("POST", Url("/-/reload")).status, 200);
  EXPECT_EQ(Metric("kpid_config_last_reload_successful"), "1");

  ExpectCleanStop();
  std::string log = kpid_->Output();
  EXPECT_THAT(log, HasSubstr("info kpid started"));
  EXPECT_THAT(log, HasSubstr("error config reload rejected"));
  EXPECT_THAT(log, HasSubstr("info config reloaded trigger=http"));
  EXPECT_THAT(log, HasSubstr("info kpid stopped"));
}

TEST_F(ServiceTest, MutatingEndpointsNeedTheBearerTokenWhenConfigured) {
  dir_.Write("token", "t0ken-canary\n");
  Start("auth_token_file = \"" + (dir_.path() / "token").string() + "\"\n",
        {"--log-format", "json"});
  ASSERT_TRUE(WaitFor([&] { return Ready(); })) << kpid_->Output();

  EXPECT_EQ(HttpRequest("POST", Url("/-/reload")).status, 401);
  EXPECT_EQ(HttpRequest("POST", Url("/-/reload"), "", {"Authorization: Bearer wrong"}).status, 401);
  EXPECT_EQ(HttpRequest("POST", Url("/-/reload"), "", {"Authorization: Bearer t0ken-canar"}).status,
            401);
  EXPECT_EQ(
      HttpRequest("POST", Url("/-/reload"), "", {"Authorization: Bearer t0ken-canary"}).status,
      200);
  // Reads stay open.
  EXPECT_EQ(HttpGet(Url("/metrics")).status, 200);
  ExpectCleanStop();

  // Every log line is one JSON object, and the token never appears.
  std::istringstream lines(kpid_->Output());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
    EXPECT_THAT(line, Not(HasSubstr("t0ken")));
    ++count;
  }
  EXPECT_GE(count, 3);
}

TEST_F(ServiceTest, InvalidConfigStartsNothing) {
  port_ = testing::FreePort();
  config_ = dir_.Write("kpid.toml", "bogus = 1\n" + Config(port_));
  Subprocess kpid({KPID_BINARY, "run", "--config", config_.string()}, dir_.path() / "run.log");
  std::optional<int> status = kpid.Wait(std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 1);
  EXPECT_THAT(kpid.Output(), HasSubstr("unknown key \\\"bogus\\\" in the top level"));
  EXPECT_EQ(HttpGet(Url("/-/healthy")).status, 0) << "nothing may listen";
}

TEST_F(ServiceTest, PortInUseIsAClearErrorAndExit1) {
  port_ = testing::FreePort();
  config_ = dir_.Write("kpid.toml", Config(port_));
  Subprocess first({KPID_BINARY, "run", "--config", config_.string()}, dir_.path() / "1.log");
  ASSERT_TRUE(WaitFor([&] { return Ready(); })) << first.Output();
  Subprocess second({KPID_BINARY, "run", "--config", config_.string()}, dir_.path() / "2.log");
  std::optional<int> status = second.Wait(std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 1);
  EXPECT_THAT(second.Output(), HasSubstr("cannot listen"));
  EXPECT_THAT(second.Output(), HasSubstr("Address already in use"));
}

TEST(CliBinaryTest, CheckVersionAndUsageExitCodes) {
  TempDir dir;
  auto good = dir.Write("good.toml", "[evaluation]\ninterval = \"30s\"\n");
  auto bad = dir.Write("bad.toml", "[evaluation]\ninterval = \"30 s\"\ntimezone = 1\n");
  std::string out;
  EXPECT_EQ(RunCommand(std::string(KPID_BINARY) + " check --config " + good.string(), &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr("OK"));
  out.clear();
  EXPECT_EQ(RunCommand(std::string(KPID_BINARY) + " check --config " + bad.string(), &out), 1);
  EXPECT_THAT(out, HasSubstr(bad.string() + ":2:12: \"interval\": invalid duration"));
  EXPECT_THAT(out, HasSubstr(bad.string() + ":3:12: \"timezone\" must be a string"));
  EXPECT_THAT(out, HasSubstr("2 errors"));
  out.clear();
  EXPECT_EQ(RunCommand(std::string(KPID_BINARY) + " version", &out), 0);
  EXPECT_EQ(out, "kpid " KPID_VERSION "\n");
  out.clear();
  EXPECT_EQ(RunCommand(std::string(KPID_BINARY) + " frobnicate", &out), 2);
  EXPECT_THAT(out, HasSubstr("unknown command"));
  out.clear();
  EXPECT_EQ(RunCommand(std::string(KPID_BINARY) + " --help", &out), 0);
  EXPECT_THAT(out, HasSubstr("Usage: kpid"));
}

}  // namespace
}  // namespace kpid
