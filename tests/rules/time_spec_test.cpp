#include "rules/time_spec.hpp"

#include <chrono>
#include <optional>
#include <string>

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

namespace kpid::rules {
namespace {

using Kind = TimeSpec::Kind;

TimeSpec Date(int y, int m, int d) { return {Kind::kDate, y, m, d, 0, 0, 0, 0, 0}; }

TimeSpec Local(int y, int m, int d, int h, int mi, int s = 0, int ns = 0) {
  return {Kind::kLocalDateTime, y, m, d, h, mi, s, ns, 0};
}

TimeSpec Offset(int y, int m, int d, int h, int mi, int s, int offset_minutes) {
  return {Kind::kOffsetDateTime, y, m, d, h, mi, s, 0, offset_minutes};
}

std::string Format(std::chrono::sys_time<std::chrono::milliseconds> t) {
  return date::format("%FT%TZ", t);
}

struct ValidateCase {
  TimeSpec spec;
  const char* error;  // nullptr: valid
};

class TimeSpecValidateTest : public testing::TestWithParam<ValidateCase> {};

TEST_P(TimeSpecValidateTest, Validate) {
  const ValidateCase& c = GetParam();
  const std::optional<std::string> error = Validate(c.spec);
  if (c.error == nullptr) {
    EXPECT_FALSE(error.has_value()) << *error;
  } else {
    EXPECT_EQ(error.value_or("valid"), c.error);
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, TimeSpecValidateTest,
    testing::Values(
        ValidateCase{Date(2026, 12, 31), nullptr}, ValidateCase{Date(2024, 2, 29), nullptr},
        ValidateCase{Date(2000, 2, 29), nullptr},
        ValidateCase{Date(2026, 2, 29), "day 29 is out of range for 2026-02; expected 1-28"},
        ValidateCase{Date(2100, 2, 29), "day 29 is out of range for 2100-02; expected 1-28"},
        ValidateCase{Date(2026, 4, 31), "day 31 is out of range for 2026-04; expected 1-30"},
        ValidateCase{Date(2026, 1, 0), "day 0 is out of range for 2026-01; expected 1-31"},
        ValidateCase{Date(2026, 13, 1), "month 13 is out of range; expected 1-12"},
        ValidateCase{Date(2026, 0, 1), "month 0 is out of range; expected 1-12"},
        ValidateCase{Date(0, 1, 1), "year 0 is out of range; expected 1900-2200"},
        // Found by fuzzing: later years overflowed the nanosecond TimePoint (API ?since=).
        ValidateCase{Date(9999, 12, 31), "year 9999 is out of range; expected 1900-2200"},
        ValidateCase{Date(1899, 12, 30), "year 1899 is out of range; expected 1900-2200"},
        ValidateCase{Date(2200, 12, 31), nullptr}, ValidateCase{Date(1900, 1, 1), nullptr},
        // A date ignores the time fields.
        ValidateCase{{Kind::kDate, 2026, 1, 1, 99, 99, 99, -1, 9999}, nullptr},
        ValidateCase{Local(2026, 1, 1, 23, 59, 59, 999'999'999), nullptr},
        ValidateCase{Local(2026, 1, 1, 24, 0), "hour 24 is out of range; expected 0-23"},
        ValidateCase{Local(2026, 1, 1, 0, 60), "minute 60 is out of range; expected 0-59"},
        ValidateCase{Local(2026, 1, 1, 0, 0, 60), "second 60 is out of range; expected 0-59"},
        ValidateCase{Local(2026, 1, 1, 0, 0, 0, 1'000'000'000),
                     "nanosecond 1000000000 is out of range; expected 0-999999999"},
        // A local date-time ignores the offset.
        ValidateCase{{Kind::kLocalDateTime, 2026, 1, 1, 0, 0, 0, 0, 5000}, nullptr},
        ValidateCase{Offset(2026, 1, 1, 0, 0, 0, 23 * 60 + 59), nullptr},
        ValidateCase{Offset(2026, 1, 1, 0, 0, 0, -24 * 60),
                     "offset -24:00 is out of range; expected -23:59 to +23:59"}));

struct ResolveCase {
  TimeSpec spec;
  const char* zone;  // nullptr: UTC
  DayBound bound;
  const char* expected;
};

class TimeSpecResolveTest : public testing::TestWithParam<ResolveCase> {};

TEST_P(TimeSpecResolveTest, Resolve) {
  const ResolveCase& c = GetParam();
  const date::time_zone* tz = c.zone ? date::locate_zone(c.zone) : nullptr;
  EXPECT_EQ(Format(Resolve(c.spec, tz, c.bound)), c.expected) << (c.zone ? c.zone : "UTC");
}

INSTANTIATE_TEST_SUITE_P(
    All, TimeSpecResolveTest,
    testing::Values(
        ResolveCase{Date(2026, 12, 31), nullptr, DayBound::kStart, "2026-12-31T00:00:00.000Z"},
        ResolveCase{Date(2026, 12, 31), nullptr, DayBound::kEnd, "2027-01-01T00:00:00.000Z"},
        ResolveCase{Date(2024, 2, 28), "UTC", DayBound::kEnd, "2024-02-29T00:00:00.000Z"},
        ResolveCase{Date(2026, 12, 31), "Europe/Berlin", DayBound::kStart,
                    "2026-12-30T23:00:00.000Z"},
        // The deadline 2026-12-31 means the end of that day.
        ResolveCase{Date(2026, 12, 31), "Europe/Berlin", DayBound::kEnd,
                    "2026-12-31T23:00:00.000Z"},
        ResolveCase{Date(2026, 7, 1), "Europe/Berlin", DayBound::kStart,
                    "2026-06-30T22:00:00.000Z"},
        // The 23-hour and 25-hour days.
        ResolveCase{Date(2026, 3, 29), "Europe/Berlin", DayBound::kStart,
                    "2026-03-28T23:00:00.000Z"},
        ResolveCase{Date(2026, 3, 29), "Europe/Berlin", DayBound::kEnd, "2026-03-29T22:00:00.000Z"},
        ResolveCase{Date(2026, 10, 25), "Europe/Berlin", DayBound::kStart,
                    "2026-10-24T22:00:00.000Z"},
        ResolveCase{Date(2026, 10, 25), "Europe/Berlin", DayBound::kEnd,
                    "2026-10-25T23:00:00.000Z"},
        ResolveCase{Date(2026, 12, 31), "America/New_York", DayBound::kEnd,
                    "2027-01-01T05:00:00.000Z"},
        // Cuba springs forward at midnight (2026-03-08 00:00 CST -> 01:00 CDT): the day
        // starts when the gap ends. It falls back at 01:00 CDT (2026-11-01) so midnight
        // comes twice: the first one counts.
        ResolveCase{Date(2026, 3, 8), "America/Havana", DayBound::kStart,
                    "2026-03-08T05:00:00.000Z"},
        ResolveCase{Date(2026, 3, 7), "America/Havana", DayBound::kEnd, "2026-03-08T05:00:00.000Z"},
        ResolveCase{Date(2026, 11, 1), "America/Havana", DayBound::kStart,
                    "2026-11-01T04:00:00.000Z"},
        ResolveCase{Local(2026, 12, 31, 17, 0, 0, 123'456'789), "Europe/Berlin", DayBound::kStart,
                    "2026-12-31T16:00:00.123Z"},
        // Date-times ignore the bound.
        ResolveCase{Local(2026, 12, 31, 17, 0), "Europe/Berlin", DayBound::kEnd,
                    "2026-12-31T16:00:00.000Z"},
        ResolveCase{Local(2026, 3, 29, 2, 30, 0, 500'000'000), "Europe/Berlin", DayBound::kStart,
                    "2026-03-29T01:00:00.000Z"},
        ResolveCase{Local(2026, 10, 25, 2, 30), "Europe/Berlin", DayBound::kStart,
                    "2026-10-25T00:30:00.000Z"},
        ResolveCase{Local(2026, 3, 8, 2, 30), "America/New_York", DayBound::kStart,
                    "2026-03-08T07:00:00.000Z"},
        ResolveCase{Local(2026, 11, 1, 1, 30), "America/New_York", DayBound::kStart,
                    "2026-11-01T05:30:00.000Z"},
        ResolveCase{Offset(2026, 12, 31, 17, 0, 0, 0), "Europe/Berlin", DayBound::kEnd,
                    "2026-12-31T17:00:00.000Z"},
        ResolveCase{Offset(2026, 12, 31, 17, 0, 0, 330), "America/New_York", DayBound::kStart,
                    "2026-12-31T11:30:00.000Z"},
        ResolveCase{Offset(2026, 12, 31, 17, 0, 0, -480), nullptr, DayBound::kStart,
                    "2027-01-01T01:00:00.000Z"}));

struct ParseCase {
  const char* text;
  TimeSpec expected;
};

class TimeSpecParseTest : public testing::TestWithParam<ParseCase> {};

TEST_P(TimeSpecParseTest, Parses) {
  const ParseCase& c = GetParam();
  auto result = ParseTimeSpec(c.text);
  ASSERT_TRUE(std::holds_alternative<TimeSpec>(result))
      << c.text << ": " << std::get<ParseError>(result).message;
  EXPECT_EQ(std::get<TimeSpec>(result), c.expected) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    All, TimeSpecParseTest,
    testing::Values(ParseCase{"2026-12-31", Date(2026, 12, 31)},
                    ParseCase{"2024-02-29", Date(2024, 2, 29)},
                    ParseCase{"2026-12-31T17:00:00", Local(2026, 12, 31, 17, 0)},
                    ParseCase{"2026-12-31 17:00", Local(2026, 12, 31, 17, 0)},
                    ParseCase{"2026-12-31t17:00:05.5", Local(2026, 12, 31, 17, 0, 5, 500'000'000)},
                    ParseCase{"2026-12-31T17:00:00.1234567891",
                              Local(2026, 12, 31, 17, 0, 0, 123'456'789)},
                    ParseCase{"2026-12-31T17:00:00Z", Offset(2026, 12, 31, 17, 0, 0, 0)},
                    ParseCase{"2026-12-31T17:00z", Offset(2026, 12, 31, 17, 0, 0, 0)},
                    ParseCase{"2026-12-31T17:00:00+05:30", Offset(2026, 12, 31, 17, 0, 0, 330)},
                    ParseCase{"2026-12-31T17:00:00-08:00", Offset(2026, 12, 31, 17, 0, 0, -480)}));

struct ParseErrorCase {
  const char* text;
  std::size_t offset;
  const char* message;
};

class TimeSpecParseErrorTest : public testing::TestWithParam<ParseErrorCase> {};

TEST_P(TimeSpecParseErrorTest, ReportsOffsetAndMessage) {
  const ParseErrorCase& c = GetParam();
  auto result = ParseTimeSpec(c.text);
  ASSERT_TRUE(std::holds_alternative<ParseError>(result)) << c.text;
  EXPECT_EQ(std::get<ParseError>(result), (ParseError{c.offset, c.message})) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    All, TimeSpecParseErrorTest,
    testing::Values(
        ParseErrorCase{"", 0, "unexpected end of text; expected a 4-digit year"},
        ParseErrorCase{"26-01-05", 2, "unexpected \"-\"; expected a 4-digit year"},
        ParseErrorCase{"2026-1-05", 6, "unexpected \"-\"; expected a 2-digit month"},
        ParseErrorCase{"2026/01/05", 4, "unexpected \"/\"; expected \"-\""},
        ParseErrorCase{"2026-13-01", 5, "month 13 is out of range; expected 1-12"},
        ParseErrorCase{"2026-02-29", 8, "day 29 is out of range for 2026-02; expected 1-28"},
        ParseErrorCase{"0000-01-01", 0, "year 0 is out of range; expected 1900-2200"},
        ParseErrorCase{"2263-01-01T00:00:00Z", 0, "year 2263 is out of range; expected 1900-2200"},
        ParseErrorCase{"2026-12-31X", 10,
                       "unexpected \"X\"; expected \"T\" and a time, or the end"},
        ParseErrorCase{"2026-12-31T", 11, "unexpected end of text; expected a 2-digit hour"},
        ParseErrorCase{"2026-12-31T17", 13, "unexpected end of text; expected \":\""},
        ParseErrorCase{"2026-12-31T25:00", 11, "hour 25 is out of range; expected 0-23"},
        ParseErrorCase{"2026-12-31T17:60", 14, "minute 60 is out of range; expected 0-59"},
        ParseErrorCase{"2026-12-31T17:00:60", 17, "second 60 is out of range; expected 0-59"},
        ParseErrorCase{"2026-12-31T17:00:00.", 20,
                       "unexpected end of text; expected digits after \".\""},
        ParseErrorCase{"2026-12-31T17:00:00+1:00", 21,
                       "unexpected \":\"; expected a 2-digit offset hour"},
        ParseErrorCase{"2026-12-31T17:00:00+24:00", 19,
                       "offset +24:00 is out of range; expected -23:59 to +23:59"},
        ParseErrorCase{"2026-12-31T17:00:00+01:60", 23,
                       "offset minute 60 is out of range; expected 0-59"},
        ParseErrorCase{"2026-12-31T17:00:00Zx", 20, "unexpected \"x\"; expected the end"},
        ParseErrorCase{"2026-12-31T17:00:00 UTC", 19,
                       "unexpected \" \"; expected \"Z\", an offset like +01:00, or the end"}));

}  // namespace
}  // namespace kpid::rules
