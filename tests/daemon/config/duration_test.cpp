#include "daemon/config/duration.hpp"

#include <gtest/gtest.h>

namespace kpid::config {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, ParsesEveryUnitAndCompositions) {
  struct Case {
    std::string_view text;
    Duration want;
  };
  const Case cases[] = {
      {"0", 0ms},          {"0s", 0ms},       {"500ms", 500ms}, {"1s", 1s},
      {"90s", 90s},        {"15m", 15min},    {"2h", 2h},       {"7d", 7 * 24h},
      {"1w", 7 * 24h},     {"1y", 365 * 24h}, {"1h30m", 90min}, {"1d2h3m4s5ms", 93784005ms},
      {"400d", 400 * 24h},
  };
  for (const Case& c : cases) {
    std::optional<Duration> got = ParseDuration(c.text);
    ASSERT_TRUE(got.has_value()) << c.text;
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(DurationTest, RejectsMalformed) {
  for (std::string_view bad :
       {"", "s", "1", "10", "1.5h", "-1s", "1 s", "1S", "30 seconds", "1m1h", "1s1s", "5x",
        "99999999999999999999s", "1h 30m", "101y", "9223372036854775s"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(DurationTest, AcceptsUpToAHundredYears) {
  EXPECT_EQ(ParseDuration("100y"), kMaxDuration);
  EXPECT_EQ(ParseDuration("400d"), std::chrono::hours(24 * 400));
}

TEST(DurationTest, FormatsShortestExactForm) {
  EXPECT_EQ(FormatDuration(0ms), "0s");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(7 * 24h), "7d");
  EXPECT_EQ(FormatDuration(1500ms), "1s500ms");
  for (std::string_view text : {"1s", "15m", "2h", "1d2h3m4s5ms"}) {
    EXPECT_EQ(FormatDuration(*ParseDuration(text)), text);
  }
}

}  // namespace
}  // namespace kpid::config
