#include "daemon/log.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kpid::log {
namespace {

constexpr std::string_view kTs = "2026-11-27T10:00:00.000Z";

TEST(LogTest, TextIsOneLineWithQuotedFields) {
  EXPECT_EQ(FormatLine(Level::kInfo, Format::kText, false, kTs, "kpid started",
                       {{"listen", "127.0.0.1:9464"}, {"note", "two words"}}),
            "2026-11-27T10:00:00.000Z info kpid started listen=127.0.0.1:9464 "
            "note=\"two words\"\n");
  // A newline inside a value must not split the event over two lines.
  EXPECT_EQ(FormatLine(Level::kError, Format::kText, false, kTs, "bad", {{"error", "a\nb \"c\""}}),
            "2026-11-27T10:00:00.000Z error bad error=\"a\\nb \\\"c\\\"\"\n");
  EXPECT_EQ(FormatLine(Level::kWarn, Format::kText, false, kTs, "x", {{"empty", ""}}),
            "2026-11-27T10:00:00.000Z warn x empty=\"\"\n");
}

TEST(LogTest, JournalGetsPriorityPrefixAndNoTimestamp) {
  EXPECT_EQ(FormatLine(Level::kError, Format::kText, true, kTs, "boom", {}), "<3>error boom\n");
  EXPECT_EQ(FormatLine(Level::kWarn, Format::kText, true, kTs, "hm", {}), "<4>warn hm\n");
  EXPECT_EQ(FormatLine(Level::kInfo, Format::kText, true, kTs, "ok", {}), "<6>info ok\n");
  EXPECT_EQ(FormatLine(Level::kDebug, Format::kText, true, kTs, "d", {}), "<7>debug d\n");
}

TEST(LogTest, JsonIsOneObjectPerLine) {
  std::string line = FormatLine(Level::kInfo, Format::kJson, false, kTs, "reloaded",
                                {{"kpis", "3"}, {"bad_utf8", "\xff"}});
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], kTs);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "reloaded");
  EXPECT_EQ(j["kpis"], "3");
}

TEST(LogTest, ParsesLevelsAndFormats) {
  EXPECT_EQ(ParseLevel("warn"), Level::kWarn);
  EXPECT_FALSE(ParseLevel("warning").has_value());
  EXPECT_EQ(ParseFormat("json"), Format::kJson);
  EXPECT_FALSE(ParseFormat("logfmt").has_value());
}

}  // namespace
}  // namespace kpid::log
