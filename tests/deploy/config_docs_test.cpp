// Every config key the parser accepts is documented: each config of the tree (the
// all-keys config beside this file, the design example, every collector's sample, the
// deploy examples and the packaged kpid.toml) is loaded with a KeyRecordingEnv, and each
// key the parser asked for must appear as `key` in README's configuration reference, in
// the section of its table.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/config/reader.hpp"
#include "daemon/load_config.hpp"
#include "tests/deploy/deploy_files.hpp"
#include "tests/support/process.hpp"

namespace kpid::testing {
namespace {

namespace fs = std::filesystem;
using Asked = std::set<std::pair<std::string, std::string>>;

const fs::path kSource = KPID_SOURCE_DIR;

// README's "## Configuration reference", split at its bold table headings
// (**`[server]`**, **`[[source]]`**, ...): heading -> the text up to the next one.
std::map<std::string, std::string> ReferenceSections() {
  const std::string readme = ReadFile(kSource / "README.md");
  const auto begin = readme.find("\n## Configuration reference");
  EXPECT_NE(begin, std::string::npos) << "README.md has no \"## Configuration reference\"";
  if (begin == std::string::npos) return {};
  auto end = readme.find("\n## ", begin + 1);
  const std::string ref = readme.substr(begin, end == std::string::npos ? end : end - begin);
  std::map<std::string, std::string> sections;
  std::string current;
  std::size_t pos = 0;
  while (true) {
    const auto open = ref.find("**`[", pos);
    const auto text_end = open == std::string::npos ? ref.size() : open;
    if (!current.empty()) sections[current] += ref.substr(pos, text_end - pos);
    if (open == std::string::npos) break;
    const auto close = ref.find("`**", open);
    if (close == std::string::npos) break;
    current = ref.substr(open + 3, close - open - 3);
    pos = close + 3;
  }
  return sections;
}

// The section that documents a table's keys: milestones are part of the goal's.
std::string SectionOf(const std::string& table) {
  if (table == "[[kpi.goal.milestone]]") return "[kpi.goal]";
  return table;
}

struct Secrets {
  TempDir dir;
  Secrets() {
    for (const char* name : {"api-token", "db", "token", "smtp", "warehouse", "shop-db",
                             "crm-token", "analytics-token", "ca.pem"}) {
      dir.Write(name, "not-a-real-secret\n");
    }
    for (const char* name : {"slack", "slack-webhook", "slack-sales", "slack-oncall"}) {
      dir.Write(name, "https://hooks.slack.com/services/T0/B0/X\n");
    }
  }
  config::EnvLookup Env() const {
    std::map<std::string, std::string> vars = {{"SECRETS", dir.path().string()},
                                               {"CREDENTIALS_DIRECTORY", dir.path().string()},
                                               {"KPID_TEST_SECRETS", dir.path().string()},
                                               {"KPID_DEMO_DIR", dir.path().string()},
                                               {"DB_PASSWORD", "x"},
                                               {"CRM_TOKEN", "x"},
                                               {"SHOP_DB_PASSWORD", "x"}};
    return [vars](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

std::vector<fs::path> ConfigsOfTheTree() {
  std::vector<fs::path> files = {kSource / "tests/deploy/all_keys.toml",
                                 kSource / "tests/data/config/valid/design_example.toml",
                                 kSource / "deploy/kpid.toml"};
  for (const char* dir : {"deploy/examples", "collectors"}) {
    for (const auto& entry : fs::recursive_directory_iterator(kSource / dir)) {
      if (entry.path().extension() == ".toml") files.push_back(entry.path());
    }
  }
  return files;
}

TEST(ConfigDocsTest, EveryKeyTheParserAcceptsIsInTheConfigurationReference) {
  const Secrets secrets;
  Asked asked;
  const config::EnvLookup env = config::KeyRecordingEnv{secrets.Env(), &asked};
  for (const fs::path& file : ConfigsOfTheTree()) {
    const auto result = LoadConfig(file.string(), env);
    // The all-keys config must stay valid, or keys behind its errors go unrecorded.
    if (file.filename() == "all_keys.toml") {
      for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
    }
  }
  ASSERT_FALSE(asked.empty()) << "no key recorded: is the KeyRecordingEnv passed through?";

  const auto sections = ReferenceSections();
  std::vector<std::string> undocumented;
  for (const auto& [table, key] : asked) {
    if (table == "the top level") {
      // A top-level key is a table: it needs its own heading.
      if (!sections.contains("[" + key + "]") && !sections.contains("[[" + key + "]]")) {
        undocumented.push_back("top-level table \"" + key + "\" has no **`[" + key +
                               "]`** heading");
      }
      continue;
    }
    const auto section = sections.find(SectionOf(table));
    if (section == sections.end()) {
      undocumented.push_back(table + " has no section");
      continue;
    }
    if (section->second.find("`" + key + "`") != std::string::npos) continue;
    // A sub-table (goal, rule, milestone) is documented by its own heading or mention,
    // e.g. **`[kpi.goal]`** or `[[kpi.goal.milestone]]`.
    const std::string dotted = "." + key + "]";
    const bool named_table = section->second.find(dotted) != std::string::npos ||
                             std::any_of(sections.begin(), sections.end(), [&](const auto& s) {
                               return s.first.find(dotted) != std::string::npos;
                             });
    if (!named_table) undocumented.push_back(table + " " + key);
  }
  EXPECT_THAT(undocumented, ::testing::IsEmpty())
      << "keys the parser accepts but README's configuration reference does not name";
}

// The recorder itself: it sees keys of nested tables and both spellings of a secret.
TEST(ConfigDocsTest, RecorderSeesNestedTablesAndSecretSpellings) {
  const Secrets secrets;
  Asked asked;
  const config::EnvLookup env = config::KeyRecordingEnv{secrets.Env(), &asked};
  const auto result = config::LoadFromString(R"(
[[source]]
name = "s"
type = "sql"
driver = "postgresql"
connection = "dbname=x"
password = "p"
[[kpi]]
name = "k"
source = "s"
query = "SELECT 1"
  [kpi.goal]
  max = 1
)",
                                             "test.toml", BuiltinExtensions(), env);
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  EXPECT_TRUE(asked.contains({"[[source]]", "password_file"}));
  EXPECT_TRUE(asked.contains({"[[source]]", "password"}));
  EXPECT_TRUE(asked.contains({"[kpi.goal]", "max"}));
  EXPECT_TRUE(asked.contains({"[[kpi]]", "query"}));
  EXPECT_TRUE(asked.contains({"the top level", "kpi"}));
}

}  // namespace
}  // namespace kpid::testing
