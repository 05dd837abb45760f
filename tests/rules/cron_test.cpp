#include "rules/cron.hpp"

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

namespace kpid::rules {
namespace {

using std::chrono::sys_seconds;

// "2026-03-29T01:00:00Z" <-> sys_seconds, so tables read like the times they test.
sys_seconds Utc(const char* text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  EXPECT_EQ(std::sscanf(text, "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &s), 6) << text;
  return date::sys_days(date::year(y) / mo / d) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(s);
}

std::string Format(std::optional<sys_seconds> t) {
  return t ? date::format("%FT%TZ", *t) : std::string("never");
}

CronSchedule MustParse(std::string_view text) {
  auto result = CronSchedule::Parse(text);
  if (auto* error = std::get_if<ParseError>(&result)) {
    ADD_FAILURE() << text << ": " << error->offset << ": " << error->message;
    return std::get<CronSchedule>(CronSchedule::Parse("* * * * *"));
  }
  return std::get<CronSchedule>(result);
}

struct NextCase {
  const char* schedule;
  const char* zone;  // nullptr: UTC
  const char* after;
  const char* expected;  // "never" if the schedule cannot fire
};

class CronNextTest : public testing::TestWithParam<NextCase> {};

TEST_P(CronNextTest, FirstMatchStrictlyAfter) {
  const NextCase& c = GetParam();
  const date::time_zone* tz = c.zone ? date::locate_zone(c.zone) : nullptr;
  const CronSchedule schedule = MustParse(c.schedule);
  EXPECT_EQ(Format(schedule.Next(Utc(c.after), tz)), c.expected)
      << c.schedule << " after " << c.after << " in " << (c.zone ? c.zone : "UTC");
}

INSTANTIATE_TEST_SUITE_P(
    Utc, CronNextTest,
    testing::Values(
        NextCase{"*/15 * * * *", nullptr, "2026-01-01T00:00:00Z", "2026-01-01T00:15:00Z"},
        NextCase{"*/15 * * * *", nullptr, "2026-01-01T00:14:59Z", "2026-01-01T00:15:00Z"},
        NextCase{"*/15 * * * *", nullptr, "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z"},
        NextCase{"*/15 * * * *", nullptr, "2026-01-01T23:59:00Z", "2026-01-02T00:00:00Z"},
        NextCase{"* * * * *", nullptr, "2026-01-01T10:00:30Z", "2026-01-01T10:01:00Z"},
        NextCase{"1-10/3 * * * *", nullptr, "2026-01-01T00:07:00Z", "2026-01-01T00:10:00Z"},
        NextCase{"1-10/3 * * * *", nullptr, "2026-01-01T00:10:00Z", "2026-01-01T01:01:00Z"},
        NextCase{"5/20 * * * *", nullptr, "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z"},
        NextCase{"0,30 8-9 * * *", nullptr, "2026-01-01T09:30:00Z", "2026-01-02T08:00:00Z"},
        // 2026-01-01 is a Thursday.
        NextCase{"0 9 * * MON", nullptr, "2026-01-01T10:00:00Z", "2026-01-05T09:00:00Z"},
        NextCase{"0 9 * * mon-fri", nullptr, "2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"},
        NextCase{"0 12 * * 7", nullptr, "2026-01-01T00:00:00Z", "2026-01-04T12:00:00Z"},
        NextCase{"0 12 * * SUN", nullptr, "2026-01-01T00:00:00Z", "2026-01-04T12:00:00Z"},
        NextCase{"0 12 * * 5-7", nullptr, "2026-01-03T13:00:00Z", "2026-01-04T12:00:00Z"},
        NextCase{"0 0 1 jan,Jul *", nullptr, "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z"},
        NextCase{"0 0 1 1 *", nullptr, "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"},
        // Both day fields restricted: either matches (Friday 2 January before the 13th).
        NextCase{"0 0 13 * FRI", nullptr, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
        NextCase{"30 4 1,15 * 5", nullptr, "2026-01-02T05:00:00Z", "2026-01-09T04:30:00Z"},
        NextCase{"30 4 1,15 * 5", nullptr, "2026-01-14T05:00:00Z", "2026-01-15T04:30:00Z"},
        // A day-of-month starting with "*" counts as unrestricted: both must match (the
        // first odd-numbered Monday).
        NextCase{"0 0 */2 * MON", nullptr, "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"},
        NextCase{"0 0 */2 * MON", nullptr, "2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z"},
        NextCase{"0 0 31 * *", nullptr, "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"},
        NextCase{"0 0 29 2 *", nullptr, "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
        NextCase{"0 0 29 2 *", nullptr, "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"},
        NextCase{"0 0 31 2 *", nullptr, "2026-01-01T00:00:00Z", "never"},
        NextCase{"0 0 30 2 *", nullptr, "2026-01-01T00:00:00Z", "never"},
        NextCase{"0 0 31 4,6,9,11 *", nullptr, "2026-01-01T00:00:00Z", "never"},
        NextCase{"@hourly", nullptr, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"},
        NextCase{"@daily", nullptr, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
        NextCase{"@midnight", nullptr, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
        NextCase{"@weekly", nullptr, "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
        NextCase{"@monthly", nullptr, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"},
        NextCase{"@yearly", nullptr, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
        NextCase{"@ANNUALLY", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
        NextCase{"  0   9 * *\tMON  ", "UTC", "2026-01-01T10:00:00Z", "2026-01-05T09:00:00Z"}));

// Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z); 2026-10-25 03:00 CEST ->
// 02:00 CET (01:00Z), so 02:00-02:59 is first 00:00Z-00:59Z, then 01:00Z-01:59Z.
INSTANTIATE_TEST_SUITE_P(
    Berlin, CronNextTest,
    testing::Values(
        NextCase{"0 9 * * MON", "Europe/Berlin", "2026-01-01T00:00:00Z", "2026-01-05T08:00:00Z"},
        NextCase{"0 9 * * MON", "Europe/Berlin", "2026-03-27T00:00:00Z", "2026-03-30T07:00:00Z"},
        NextCase{"30 2 * * *", "Europe/Berlin", "2026-03-28T00:00:00Z", "2026-03-28T01:30:00Z"},
        // 02:30 does not exist on the 29th: fire at the first instant after the gap.
        NextCase{"30 2 * * *", "Europe/Berlin", "2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z"},
        NextCase{"30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"},
        // Every skipped minute maps to the same instant: fire once.
        NextCase{"*/15 2 * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"},
        NextCase{"*/15 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"},
        NextCase{"0 3 * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"},
        NextCase{"59 1 * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", "2026-03-29T00:59:00Z"},
        // 02:30 happens twice on 25 October: fire on the first only.
        NextCase{"30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
        NextCase{"30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
        NextCase{"*/30 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z"},
        NextCase{"*/30 * * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z"},
        // From inside the repeated hour the next fire is the first new local time.
        NextCase{"*/30 * * * *", "Europe/Berlin", "2026-10-25T01:15:00Z", "2026-10-25T02:00:00Z"},
        NextCase{"0 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z"},
        NextCase{"0 0 31 2 *", "Europe/Berlin", "2026-01-01T00:00:00Z", "never"}));

// America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z); 2026-11-01 02:00 EDT ->
// 01:00 EST (06:00Z), so 01:30 is first 05:30Z, then 06:30Z.
INSTANTIATE_TEST_SUITE_P(
    NewYork, CronNextTest,
    testing::Values(
        NextCase{"30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z"},
        NextCase{"30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"},
        NextCase{"30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z"},
        NextCase{"30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
        NextCase{"0 9 * * 1-5", "America/New_York", "2026-11-01T00:00:00Z",
                 "2026-11-02T14:00:00Z"}));

TEST(CronTest, NextSkipsImpossibleScheduleQuickly) {
  const CronSchedule schedule = MustParse("0 0 31 2 *");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(schedule.Next(Utc("2026-01-01T00:00:00Z"), nullptr).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

struct ErrorCase {
  const char* schedule;
  std::size_t offset;
  const char* message;
};

class CronParseErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(CronParseErrorTest, ReportsOffsetAndMessage) {
  const ErrorCase& c = GetParam();
  auto result = CronSchedule::Parse(c.schedule);
  ASSERT_TRUE(std::holds_alternative<ParseError>(result)) << c.schedule;
  EXPECT_EQ(std::get<ParseError>(result), (ParseError{c.offset, c.message})) << c.schedule;
}

INSTANTIATE_TEST_SUITE_P(
    All, CronParseErrorTest,
    testing::Values(
        ErrorCase{"", 0, "empty schedule; expected 5 fields or a macro such as @daily"},
        ErrorCase{"   ", 3, "empty schedule; expected 5 fields or a macro such as @daily"},
        ErrorCase{"* * * *", 7,
                  "missing day-of-week field; expected 5 fields: minute hour day-of-month "
                  "month day-of-week"},
        ErrorCase{"0 9", 3,
                  "missing day-of-month field; expected 5 fields: minute hour day-of-month "
                  "month day-of-week"},
        ErrorCase{"* * * * * *", 10,
                  "too many fields; expected 5: minute hour day-of-month month day-of-week"},
        ErrorCase{"60 * * * *", 0, "minute 60 is out of range; expected 0-59"},
        ErrorCase{"99999999999 * * * *", 0, "minute 99999999999 is out of range; expected 0-59"},
        ErrorCase{"* 24 * * *", 2, "hour 24 is out of range; expected 0-23"},
        ErrorCase{"* * 0 * *", 4, "day-of-month 0 is out of range; expected 1-31"},
        ErrorCase{"* * 32 * *", 4, "day-of-month 32 is out of range; expected 1-31"},
        ErrorCase{"* * * 13 *", 6, "month 13 is out of range; expected JAN-DEC or 1-12"},
        ErrorCase{"* * * 0 *", 6, "month 0 is out of range; expected JAN-DEC or 1-12"},
        ErrorCase{"* * * * 8", 8, "day-of-week 8 is out of range; expected SUN-SAT or 0-7"},
        ErrorCase{"* * * JNA *", 6, "unknown month \"JNA\"; expected JAN-DEC or 1-12"},
        ErrorCase{"* * * JANUARY *", 6, "unknown month \"JANUARY\"; expected JAN-DEC or 1-12"},
        ErrorCase{"0 9 * * MON-FRY", 12, "unknown weekday \"FRY\"; expected SUN-SAT or 0-7"},
        ErrorCase{"0  9 * * XYZ", 9, "unknown weekday \"XYZ\"; expected SUN-SAT or 0-7"},
        ErrorCase{"0 9 * MON *", 6, "unknown month \"MON\"; expected JAN-DEC or 1-12"},
        ErrorCase{"abc * * * *", 0, "unexpected \"abc\" in minute; expected a number 0-59"},
        ErrorCase{"5-1 * * * *", 0, "range \"5-1\" in minute is reversed; expected start <= end"},
        ErrorCase{"0 0 * * FRI-MON", 8,
                  "range \"FRI-MON\" in day-of-week is reversed; expected start <= end"},
        ErrorCase{"*/0 * * * *", 2,
                  "step 0 in minute is out of range; expected a step from 1 to 59"},
        ErrorCase{"*/60 * * * *", 2,
                  "step 60 in minute is out of range; expected a step from 1 to 59"},
        ErrorCase{"* */24 * * *", 4,
                  "step 24 in hour is out of range; expected a step from 1 to 23"},
        ErrorCase{"*/ * * * *", 2,
                  "unexpected end of text after \"/\" in minute; expected a step from 1 to 59"},
        ErrorCase{"1,,2 * * * *", 2,
                  "empty list item in minute; expected a value, a range or \"*\""},
        ErrorCase{"1, * * * *", 2, "empty list item in minute; expected a value, a range or \"*\""},
        ErrorCase{"1-* * * * *", 2, "unexpected \"*\" in minute; expected 0-59"},
        ErrorCase{"1x * * * *", 1, "unexpected \"x\" in minute; expected \",\", \"-\" or \"/\""},
        ErrorCase{"** * * * *", 1, "unexpected \"*\" in minute; expected \",\", \"-\" or \"/\""},
        ErrorCase{"@weekly x", 8, "unexpected text after @weekly"},
        ErrorCase{"@reboot", 0,
                  "unknown macro \"@reboot\"; expected @yearly, @annually, @monthly, @weekly, "
                  "@daily, @midnight or @hourly"}));

}  // namespace
}  // namespace kpid::rules
