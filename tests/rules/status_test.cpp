#include "rules/status.hpp"

#include <gtest/gtest.h>

namespace kpid::rules {
namespace {

TEST(StatusTest, NamesRoundTrip) {
  for (Status s : kAllStatuses) {
    auto parsed = ParseStatus(StatusName(s));
    ASSERT_TRUE(parsed.has_value()) << StatusName(s);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_FALSE(ParseStatus("offtrack").has_value());
  EXPECT_FALSE(ParseStatus("").has_value());
}

TEST(StatusTest, SeverityFollowsDesign) {
  EXPECT_EQ(SeverityOf(Status::kAtRisk), Severity::kWarning);
  EXPECT_EQ(SeverityOf(Status::kNoData), Severity::kWarning);
  EXPECT_EQ(SeverityOf(Status::kOffTrack), Severity::kCritical);
  EXPECT_EQ(SeverityOf(Status::kMissed), Severity::kCritical);
  EXPECT_EQ(ParseSeverity("critical"), Severity::kCritical);
  EXPECT_FALSE(ParseSeverity("fatal").has_value());
}

}  // namespace
}  // namespace kpid::rules
