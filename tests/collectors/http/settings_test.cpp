// The http kind's config keys through the real loader, and collectors/http/sample.toml.
#include "collectors/http/settings.hpp"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collectors/http/collector.hpp"
#include "tests/support/process.hpp"

namespace kpid::collectors::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Only this kind: the test needs no other plugin (nor their libraries).
const config::Extensions& HttpOnly() {
  static const config::Extensions extensions{{{"http", Kind()}}, {}};
  return extensions;
}

config::EnvLookup NoEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

std::vector<std::string> Errors(const std::string& toml) {
  config::LoadResult result = config::LoadFromString(toml, "test.toml", HttpOnly(), NoEnv());
  std::vector<std::string> errors;
  for (const auto& e : result.errors) errors.push_back(e.ToString());
  return errors;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (auto p = text.find(from); p != std::string::npos; p = text.find(from, p + to.size())) {
    text.replace(p, from.size(), to);
  }
  return text;
}

TEST(HttpSettings, SampleLoadsAndBuildsCollectors) {
  kpid::testing::TempDir dir;
  std::ifstream in(KPID_SOURCE_DIR "/collectors/http/sample.toml");
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_FALSE(text.str().empty());
  const std::string toml = Replace(text.str(), "/etc/kpid/secrets/", dir.path().string() + "/");
  dir.Write("crm-token", "crm-token-value\n");
  dir.Write("billing", "billing-pw\n");

  config::LoadResult result = config::LoadFromString(toml, "sample.toml", HttpOnly(), NoEnv());
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(result.config);
  const config::Config& config = *result.config;

  const auto& crm = dynamic_cast<const SourceSettings&>(*config.FindSource("crm")->settings);
  ASSERT_TRUE(crm.bearer_token);
  EXPECT_EQ(crm.bearer_token->Reveal(), "crm-token-value");
  EXPECT_EQ(crm.max_redirects, 3);
  EXPECT_EQ(crm.max_response_bytes, 1048576u);
  const auto& billing =
      dynamic_cast<const SourceSettings&>(*config.FindSource("billing")->settings);
  EXPECT_EQ(billing.username, "kpid");
  EXPECT_EQ(billing.password->Reveal(), "billing-pw");
  const auto& queue = dynamic_cast<const SourceSettings&>(*config.FindSource("queue")->settings);
  EXPECT_EQ(queue.max_response_bytes, 10u << 20);  // default
  EXPECT_EQ(queue.max_redirects, 5);

  const auto& eu = dynamic_cast<const KpiSettings&>(*config.FindKpi("eu_invoices")->collect);
  EXPECT_EQ(eu.json_pointer, "/regions/eu~1west/invoices/0");
  EXPECT_EQ(dynamic_cast<const KpiSettings&>(*config.FindKpi("queue_depth")->collect).format,
            Format::kText);

  boost::asio::io_context io;
  for (const config::Source& source : config.sources) {
    auto collector = Make(source, io);  // no network I/O here
    ASSERT_NE(collector, nullptr) << source.name;
    collector->Stop();
  }
}

TEST(HttpSettings, InvalidUrlIsAConfigErrorWithoutTheUrl) {
  const auto errors = Errors(R"([[source]]
name = "crm"
type = "http"
url = "http://exa mple.com/?token=canary-u-123"
)");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("test.toml:4:"));
  EXPECT_THAT(errors[0], HasSubstr("\"url\" is not a valid URL"));
  EXPECT_THAT(errors[0], Not(HasSubstr("canary")));
}

TEST(HttpSettings, AuthorizationHeaderConflictsWithBuiltInAuth) {
  const auto errors = Errors(R"([[source]]
name = "crm"
type = "http"
url = "http://127.0.0.1/"
headers = { authorization = "Basic canary-h-123" }
bearer_token = "canary-b-123"
)");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("Authorization header and username/password or bearer_token"));
  EXPECT_THAT(errors[0], Not(HasSubstr("canary")));
}

TEST(HttpSettings, UnreadableCaFile) {
  const auto errors = Errors(R"([[source]]
name = "crm"
type = "http"
url = "https://127.0.0.1/"
ca_file = "/nonexistent/ca.pem"
)");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("cannot read ca_file \"/nonexistent/ca.pem\""));
}

TEST(HttpSettings, FormatAndPointer) {
  const std::string source = R"([[source]]
name = "s"
type = "http"
url = "http://127.0.0.1/"
)";
  EXPECT_THAT(Errors(source + "[[kpi]]\nname = \"k\"\nsource = \"s\"\n"),
              ::testing::ElementsAre(HasSubstr("json_pointer")));
  EXPECT_THAT(Errors(source + "[[kpi]]\nname = \"k\"\nsource = \"s\"\njson_pointer = \"a\"\n"),
              ::testing::ElementsAre(HasSubstr("must be empty or start with \"/\"")));
  EXPECT_THAT(Errors(source + "[[kpi]]\nname = \"k\"\nsource = \"s\"\nformat = \"text\"\n"
                              "json_pointer = \"/a\"\n"),
              ::testing::ElementsAre(HasSubstr("applies to format = \"json\" only")));
  EXPECT_THAT(Errors(source + "[[kpi]]\nname = \"k\"\nsource = \"s\"\nformat = \"text\"\n"),
              ::testing::IsEmpty());
}

}  // namespace
}  // namespace kpid::collectors::http
