// The shipped configs against the real binary: `kpid check` passes on every
// deploy/examples/*.toml and on deploy/kpid.toml (the package's /etc/kpid/kpid.toml),
// with secrets where systemd's LoadCredential= puts them ($CREDENTIALS_DIRECTORY); the
// starting config and the CSV example also collect with `kpid eval`, without any server.
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/deploy/deploy_files.hpp"
#include "tests/support/process.hpp"

namespace kpid::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kSource = KPID_SOURCE_DIR;

// The secret files the examples name, as an operator would keep them in /etc/kpid/secrets.
class ExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"warehouse", "shop-db", "crm-token", "analytics-token", "smtp"}) {
      secrets_.Write(name, "not-a-real-secret\n");
    }
    for (const char* name : {"slack-sales", "slack-oncall"}) {
      secrets_.Write(name, "https://hooks.slack.com/services/T0/B0/X\n");
    }
  }

  int Kpid(const std::string& args, std::string* output) const {
    return RunCommand("CREDENTIALS_DIRECTORY='" + secrets_.path().string() + "' KPID_DEMO_DIR='" +
                          secrets_.path().string() + "' '" KPID_BINARY "' " + args,
                      output);
  }

  TempDir secrets_;
};

std::vector<fs::path> ShippedConfigs() {
  std::vector<fs::path> files = {kSource / "deploy/kpid.toml"};
  for (const auto& entry : fs::directory_iterator(kSource / "deploy/examples")) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  }
  return files;
}

TEST_F(ExamplesTest, EveryShippedConfigPassesCheck) {
  const auto files = ShippedConfigs();
  // The seven examples the docs promise, the demo and the starting config.
  EXPECT_GE(files.size(), 9U);
  for (const fs::path& file : files) {
    std::string output;
    EXPECT_EQ(Kpid("check --config '" + file.string() + "'", &output), 0) << file << ":\n"
                                                                          << output;
    EXPECT_THAT(output, HasSubstr(": OK (")) << file;
  }
}

TEST_F(ExamplesTest, StartingConfigCollectsWithoutAnyServer) {
  std::string output;
  EXPECT_EQ(Kpid("eval --config '" + (kSource / "deploy/kpid.toml").string() + "' --format json",
                 &output),
            0)
      << output;
  EXPECT_THAT(output, HasSubstr("example_year_elapsed"));
  EXPECT_THAT(output, HasSubstr("example_days_left"));
}

// finance.csv beside the CSV example has the columns the example reads.
TEST_F(ExamplesTest, CsvExampleReadsTheCsvBesideIt) {
  std::string config = ReadFile(kSource / "deploy/examples/finance-csv.toml");
  config =
      std::regex_replace(config, std::regex(R"(path = "/srv/finance/weekly.csv")"),
                         "path = \"" + (kSource / "deploy/examples/finance.csv").string() + "\"");
  const fs::path copy = secrets_.Write("finance-csv.toml", config);
  std::string output;
  EXPECT_EQ(Kpid("eval --config '" + copy.string() + "' --format json", &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("eu_weekly_revenue"));
}

}  // namespace
}  // namespace kpid::testing
