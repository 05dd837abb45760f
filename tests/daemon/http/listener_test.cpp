// The real kpid binary behind basic auth and TLS: who gets in (right, wrong and missing
// credentials, the bearer token, health checks), that mutating calls still need the token,
// that a reload swaps the users but not the TLS files, and that curl verifies the listener.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/http/basic_auth.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"

namespace kpid {
namespace {

using ::testing::HasSubstr;
using testing::HttpRequest;
using testing::RunCommand;
using testing::Subprocess;
using testing::TempDir;
using testing::WaitFor;

constexpr const char* kToken = "api-token-for-listener-test";

std::string Config(int port, const std::string& server_extra) {
  return "[server]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n" + server_extra +
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

std::string Users(const std::string& password) {
  return "[server.basic_auth_users]\nprometheus = \"" + http::MakeBcryptHash(password, 4) + "\"\n";
}

class ListenerTest : public ::testing::Test {
 protected:
  void Start(const std::string& server_extra, const std::string& scheme = "http") {
    port_ = testing::FreePort();
    scheme_ = scheme;
    dir_.Write("token", kToken);
    config_ = dir_.Write("kpid.toml", Config(port_, server_extra));
    kpid_ = std::make_unique<Subprocess>(
        std::vector<std::string>{KPID_BINARY, "run", "--config", config_.string()},
        dir_.path() / "kpid.log");
    ASSERT_TRUE(WaitFor([&] { return Curl("/-/healthy") == "200"; })) << kpid_->Output();
  }

  // The status code curl sees (or its error), with extra curl arguments.
  std::string Curl(const std::string& path, const std::string& args = "") const {
    std::string out;
    const std::string ca =
        scheme_ == "https" ? " --cacert '" + tls_.certificate.string() + "'" : "";
    RunCommand("curl -sS -o /dev/null -w '%{http_code}' --max-time 10" + ca + " " + args + " " +
                   scheme_ + "://127.0.0.1:" + std::to_string(port_) + path,
               &out);
    return out;
  }

  void SetUp() override {
    std::string out;
    if (RunCommand("curl --version", &out) != 0) GTEST_SKIP() << "curl is not installed";
  }

  TempDir dir_;
  testing::HttpTestServer::Tls tls_;
  int port_ = 0;
  std::string scheme_;
  std::filesystem::path config_;
  std::unique_ptr<Subprocess> kpid_;
};

TEST_F(ListenerTest, BasicAuthGuardsEveryRouteButHealthAndAdmitsTheBearerToken) {
  Start("auth_token_file = \"" + (dir_.path() / "token").string() + "\"\n" + Users("scrape-pw"));
  for (const char* path : {"/metrics", "/api/v1/kpis", "/", "/-/ready", "/nope"}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(Curl(path), "401");
    EXPECT_EQ(Curl(path, "-u prometheus:wrong"), "401");
    EXPECT_EQ(Curl(path, "-u nobody:scrape-pw"), "401");
  }
  EXPECT_EQ(Curl("/metrics", "-u prometheus:scrape-pw"), "200");
  EXPECT_EQ(Curl("/api/v1/kpis", "-u prometheus:scrape-pw"), "200");
  EXPECT_EQ(Curl("/metrics", std::string("-H 'Authorization: Bearer ") + kToken + "'"), "200");
  EXPECT_EQ(Curl("/metrics", "-H 'Authorization: Bearer wrong'"), "401");
  EXPECT_EQ(Curl("/-/healthy"), "200");

  std::string headers;
  RunCommand("curl -sS -i --max-time 10 http://127.0.0.1:" + std::to_string(port_) + "/metrics",
             &headers);
  EXPECT_THAT(headers, HasSubstr("WWW-Authenticate: Basic realm=\"kpid\""));

  // Mutating calls still need the token; basic auth alone is not enough.
  EXPECT_EQ(Curl("/-/reload", "-X POST -u prometheus:scrape-pw"), "401");
  // A reload swaps the users: the old password stops working, the new one works.
  dir_.Write("kpid.toml", Config(port_, "auth_token_file = \"" + (dir_.path() / "token").string() +
                                            "\"\n" + Users("new-pw")));
  EXPECT_EQ(Curl("/-/reload", std::string("-X POST -H 'Authorization: Bearer ") + kToken + "'"),
            "200");
  EXPECT_EQ(Curl("/metrics", "-u prometheus:scrape-pw"), "401");
  EXPECT_EQ(Curl("/metrics", "-u prometheus:new-pw"), "200");
}

TEST_F(ListenerTest, AFloodOfWrongPasswordsDoesNotStallAVerifiedScraper) {
  // bcrypt cost 11 (about 0.1 s a check here): 16 wrong passwords take seconds of checks,
  // one after another on the worker thread; the scraper, verified once and remembered, is
  // answered while they are still running.
  Start("[server.basic_auth_users]\nprometheus = \"" + http::MakeBcryptHash("scrape-pw", 11) +
        "\"\n");
  ASSERT_EQ(Curl("/metrics", "-u prometheus:scrape-pw"), "200");
  const std::filesystem::path flood = dir_.path() / "flood.txt";
  std::string out;
  ASSERT_EQ(RunCommand("for i in $(seq 16); do curl -sS -o /dev/null -w '%{http_code}\\n' "
                       "--max-time 60 -u prometheus:wrong-$i http://127.0.0.1:" +
                           std::to_string(port_) + "/metrics >> '" + flood.string() +
                           "' 2>/dev/null & done",  // inherits no pipe: returns at once
                       &out),
            0)
      << out;
  auto answered = [&] {
    std::ifstream in(flood);
    return static_cast<int>(
        std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
  };
  ASSERT_TRUE(WaitFor([&] { return answered() >= 1; }));
  EXPECT_EQ(Curl("/metrics", "-u prometheus:scrape-pw"), "200");
  EXPECT_LT(answered(), 16) << "the verified scraper waited for the wrong passwords";
  ASSERT_TRUE(WaitFor([&] { return answered() == 16; }, std::chrono::seconds(60)));
  std::ifstream in(flood);
  for (std::string code; std::getline(in, code);) EXPECT_EQ(code, "401");
}

TEST_F(ListenerTest, ServesTlsWithBasicAuthAndKeepsTheFilesOnReload) {
  std::string error;
  ASSERT_TRUE(testing::MakeSelfSignedCertificate(dir_.path(), tls_, &error)) << error;
  const std::string tls = "tls_cert_file = \"" + tls_.certificate.string() +
                          "\"\ntls_key_file = \"" + tls_.private_key.string() + "\"\n";
  Start(tls + Users("scrape-pw"), "https");
  EXPECT_EQ(Curl("/metrics", "-u prometheus:scrape-pw"), "200");
  EXPECT_EQ(Curl("/metrics"), "401");
  std::string out;
  EXPECT_NE(
      RunCommand("curl -sS --max-time 10 https://127.0.0.1:" + std::to_string(port_) + "/-/healthy",
                 &out),
      0)
      << "an untrusted certificate must fail: " << out;

  // A second certificate and a reload: TLS files need a restart, so the old ones stay
  // and the log says so.
  TempDir other;
  testing::HttpTestServer::Tls second;
  ASSERT_TRUE(testing::MakeSelfSignedCertificate(other.path(), second, &error)) << error;
  dir_.Write("kpid.toml", Config(port_, "tls_cert_file = \"" + second.certificate.string() +
                                            "\"\ntls_key_file = \"" + second.private_key.string() +
                                            "\"\n" + Users("scrape-pw")));
  kpid_->Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return kpid_->Output().find("config reloaded") != std::string::npos; }))
      << kpid_->Output();
  EXPECT_THAT(kpid_->Output(), HasSubstr("tls_cert_file or tls_key_file changed; restart kpid"));
  EXPECT_EQ(Curl("/metrics", "-u prometheus:scrape-pw"), "200");  // still the first cert

  // A key that does not match its certificate is rejected; the running config stays.
  dir_.Write("kpid.toml", Config(port_, "tls_cert_file = \"" + second.certificate.string() +
                                            "\"\ntls_key_file = \"" + tls_.private_key.string() +
                                            "\"\n" + Users("other-pw")));
  kpid_->Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] {
    return kpid_->Output().find("config reload rejected") != std::string::npos;
  })) << kpid_->Output()
      << "exit status: " << kpid_->Wait(std::chrono::milliseconds(100)).value_or(-1);
  EXPECT_THAT(kpid_->Output(), HasSubstr("does not match the certificate"));
  EXPECT_EQ(Curl("/metrics", "-u prometheus:scrape-pw"), "200");

  std::string check;
  EXPECT_EQ(RunCommand(std::string(KPID_BINARY) + " check --config " + config_.string(), &check),
            1);
  EXPECT_THAT(check, HasSubstr("tls_key_file"));
  kpid_->Signal(SIGTERM);
  EXPECT_EQ(kpid_->Wait(std::chrono::seconds(10)), 0) << kpid_->Output();
}

}  // namespace
}  // namespace kpid
