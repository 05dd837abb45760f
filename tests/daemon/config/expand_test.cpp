#include "daemon/config/expand.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace kpid::config {
namespace {

EnvLookup Env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (name == "TOKEN") return "s3cr3t";
    if (name == "EMPTY") return "";
    return std::nullopt;
  };
}

std::string Ok(std::string_view text) {
  auto r = Expand(text, Env());
  if (auto* e = std::get_if<std::string>(&r)) return "ERROR: " + *e;
  return std::get<Expanded>(r).value;
}

std::string Err(std::string_view text) {
  auto r = Expand(text, Env());
  if (auto* e = std::get_if<std::string>(&r)) return *e;
  return "no error";
}

TEST(ExpandTest, EnvironmentVariables) {
  EXPECT_EQ(Ok("Bearer ${TOKEN}"), "Bearer s3cr3t");
  EXPECT_EQ(Ok("${TOKEN}${TOKEN}"), "s3cr3ts3cr3t");
  EXPECT_EQ(Ok("[${EMPTY}]"), "[]");
  EXPECT_EQ(Ok("no refs, $1 and $$ stay"), "no refs, $1 and $$ stay");
  EXPECT_EQ(Ok("literal $${TOKEN}"), "literal ${TOKEN}");
  EXPECT_TRUE(std::get<Expanded>(Expand("${TOKEN}", Env())).expanded);
  EXPECT_FALSE(std::get<Expanded>(Expand("plain", Env())).expanded);
}

TEST(ExpandTest, Files) {
  auto path = std::filesystem::temp_directory_path() / "kpid_expand_test_secret";
  {
    std::ofstream out(path);
    out << "from-file\n";
  }
  EXPECT_EQ(Ok("pw=${file:" + path.string() + "}"), "pw=from-file");
  std::filesystem::remove(path);
  EXPECT_EQ(Err("${file:" + path.string() + "}"),
            "cannot read file \"" + path.string() + "\": No such file or directory");
  EXPECT_EQ(Err("${file:relative/path}"),
            "${file:...} needs an absolute path, got \"relative/path\"");
}

TEST(ExpandTest, ErrorsNameTheReferenceNeverAValue) {
  EXPECT_EQ(Err("${NOPE}"), "environment variable NOPE is not set");
  EXPECT_EQ(Err("x ${TOKEN"), "unterminated \"${\" at offset 2 (write \"$${\" for a literal)");
  EXPECT_EQ(Err("${1BAD}"), "invalid environment variable name \"1BAD\" in ${...}");
  EXPECT_EQ(Err("${}"), "invalid environment variable name \"\" in ${...}");
}

TEST(ExpandTest, SecretFileDropsOneTrailingNewline) {
  auto path = std::filesystem::temp_directory_path() / "kpid_expand_test_newline";
  {
    std::ofstream out(path);
    out << "line\n\n";
  }
  auto r = ReadSecretFile(path.string());
  ASSERT_EQ(r.index(), 0u);
  EXPECT_EQ(std::get<0>(r), "line\n");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace kpid::config
