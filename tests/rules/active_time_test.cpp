#include "rules/active_time.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

namespace kpid::rules {
namespace {

using std::chrono::sys_seconds;

sys_seconds Utc(const char* text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  EXPECT_EQ(std::sscanf(text, "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &s), 6) << text;
  return date::sys_days(date::year(y) / mo / d) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(s);
}

std::string Format(sys_seconds t) { return date::format("%FT%TZ", t); }

ActiveTime MustParse(std::string_view text) {
  auto result = ActiveTime::Parse(text);
  if (auto* error = std::get_if<ParseError>(&result)) {
    ADD_FAILURE() << text << ": " << error->offset << ": " << error->message;
    return std::get<ActiveTime>(ActiveTime::Parse("Mon"));
  }
  return std::get<ActiveTime>(result);
}

const date::time_zone* Zone(const char* name) { return name ? date::locate_zone(name) : nullptr; }

// 2026-01-05 is a Monday.
struct ContainsCase {
  const char* spec;
  const char* zone;  // nullptr: UTC
  const char* at;
  bool inside;
};

class ActiveTimeContainsTest : public testing::TestWithParam<ContainsCase> {};

TEST_P(ActiveTimeContainsTest, Contains) {
  const ContainsCase& c = GetParam();
  EXPECT_EQ(MustParse(c.spec).Contains(Utc(c.at), Zone(c.zone)), c.inside)
      << c.spec << " at " << c.at << " in " << (c.zone ? c.zone : "UTC");
}

INSTANTIATE_TEST_SUITE_P(
    Utc, ActiveTimeContainsTest,
    testing::Values(
        ContainsCase{"Mon-Fri 08:00-18:00", nullptr, "2026-01-05T07:59:59Z", false},
        ContainsCase{"Mon-Fri 08:00-18:00", nullptr, "2026-01-05T08:00:00Z", true},
        ContainsCase{"Mon-Fri 08:00-18:00", nullptr, "2026-01-05T17:59:59Z", true},
        ContainsCase{"Mon-Fri 08:00-18:00", nullptr, "2026-01-05T18:00:00Z", false},
        ContainsCase{"Mon-Fri 08:00-18:00", nullptr, "2026-01-09T12:00:00Z", true},
        ContainsCase{"Mon-Fri 08:00-18:00", nullptr, "2026-01-10T12:00:00Z", false},
        ContainsCase{"mon-FRI 8:00-18:00", "UTC", "2026-01-06T08:00:00Z", true},
        ContainsCase{"Sat,Sun", nullptr, "2026-01-10T00:00:00Z", true},
        ContainsCase{"Sat,Sun", nullptr, "2026-01-11T23:59:59Z", true},
        ContainsCase{"Sat,Sun", nullptr, "2026-01-12T00:00:00Z", false},
        ContainsCase{"09:00-17:00", nullptr, "2026-01-10T09:00:00Z", true},
        ContainsCase{"09:00-17:00", nullptr, "2026-01-10T17:00:00Z", false},
        ContainsCase{"Mon-Fri 08:00-12:00,13:00-17:30; Sat 10:00-14:00", nullptr,
                     "2026-01-05T12:30:00Z", false},
        ContainsCase{"Mon-Fri 08:00-12:00,13:00-17:30; Sat 10:00-14:00", nullptr,
                     "2026-01-05T17:29:59Z", true},
        ContainsCase{"Mon-Fri 08:00-12:00,13:00-17:30; Sat 10:00-14:00", nullptr,
                     "2026-01-10T10:00:00Z", true},
        ContainsCase{"Mon-Fri 08:00-12:00,13:00-17:30; Sat 10:00-14:00", nullptr,
                     "2026-01-10T14:00:00Z", false},
        ContainsCase{"Mon-Fri 08:00-12:00,13:00-17:30; Sat 10:00-14:00", nullptr,
                     "2026-01-11T11:00:00Z", false},
        ContainsCase{"Fri-Mon", nullptr, "2026-01-11T11:00:00Z", true},
        ContainsCase{"Fri-Mon", nullptr, "2026-01-06T11:00:00Z", false},
        ContainsCase{"Mon 22:00-24:00; Tue 00:00-06:00", nullptr, "2026-01-05T23:59:59Z", true},
        ContainsCase{"Mon 22:00-24:00; Tue 00:00-06:00", nullptr, "2026-01-06T00:00:00Z", true},
        ContainsCase{"Mon 22:00-24:00; Tue 00:00-06:00", nullptr, "2026-01-06T06:00:00Z", false},
        ContainsCase{"Mon 08:00-10:00,09:00-11:00", nullptr, "2026-01-05T10:30:00Z", true}));

// Europe/Berlin: 2026-03-29 (Sunday) 02:00 CET -> 03:00 CEST at 01:00Z; 2026-10-25
// (Sunday) 03:00 CEST -> 02:00 CET at 01:00Z.
INSTANTIATE_TEST_SUITE_P(
    Berlin, ActiveTimeContainsTest,
    testing::Values(
        ContainsCase{"Mon-Fri 08:00-18:00", "Europe/Berlin", "2026-01-05T07:00:00Z", true},
        ContainsCase{"Mon-Fri 08:00-18:00", "Europe/Berlin", "2026-03-30T05:59:59Z", false},
        ContainsCase{"Mon-Fri 08:00-18:00", "Europe/Berlin", "2026-03-30T06:00:00Z", true},
        ContainsCase{"Sun 02:00-02:30", "Europe/Berlin", "2026-03-29T00:59:59Z", false},
        ContainsCase{"Sun 02:00-02:30", "Europe/Berlin", "2026-03-29T01:00:00Z", false},
        ContainsCase{"Sun 02:00-02:30", "Europe/Berlin", "2026-10-25T00:15:00Z", true},
        ContainsCase{"Sun 02:00-02:30", "Europe/Berlin", "2026-10-25T00:45:00Z", false},
        ContainsCase{"Sun 02:00-02:30", "Europe/Berlin", "2026-10-25T01:15:00Z", true},
        ContainsCase{"Sun 02:00-02:30", "Europe/Berlin", "2026-10-25T01:30:00Z", false}));

struct NextOpenCase {
  const char* spec;
  const char* zone;  // nullptr: UTC
  const char* from;
  const char* expected;
};

class ActiveTimeNextOpenTest : public testing::TestWithParam<NextOpenCase> {};

TEST_P(ActiveTimeNextOpenTest, NextOpen) {
  const NextOpenCase& c = GetParam();
  const ActiveTime active = MustParse(c.spec);
  const sys_seconds next = active.NextOpen(Utc(c.from), Zone(c.zone));
  EXPECT_EQ(Format(next), c.expected) << c.spec << " from " << c.from;
  EXPECT_TRUE(active.Contains(next, Zone(c.zone)));
  // Nothing between `from` and the answer is inside.
  for (sys_seconds t = Utc(c.from); t < next; t += std::chrono::minutes(1)) {
    ASSERT_FALSE(active.Contains(t, Zone(c.zone))) << Format(t);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Utc, ActiveTimeNextOpenTest,
    testing::Values(NextOpenCase{"Mon-Fri 08:00-18:00", nullptr, "2026-01-05T09:00:00Z",
                                 "2026-01-05T09:00:00Z"},
                    NextOpenCase{"Mon-Fri 08:00-18:00", nullptr, "2026-01-05T07:00:00Z",
                                 "2026-01-05T08:00:00Z"},
                    NextOpenCase{"Mon-Fri 08:00-18:00", nullptr, "2026-01-09T18:00:00Z",
                                 "2026-01-12T08:00:00Z"},
                    NextOpenCase{"Mon-Fri 08:00-18:00", nullptr, "2026-01-10T12:00:00Z",
                                 "2026-01-12T08:00:00Z"},
                    NextOpenCase{"Mon-Fri 08:00-12:00,13:00-17:30", nullptr, "2026-01-05T12:00:00Z",
                                 "2026-01-05T13:00:00Z"},
                    NextOpenCase{"Sat,Sun", "UTC", "2026-01-09T23:00:00Z", "2026-01-10T00:00:00Z"},
                    NextOpenCase{"Mon 10:00-11:00", nullptr, "2026-01-05T11:00:00Z",
                                 "2026-01-12T10:00:00Z"}));

INSTANTIATE_TEST_SUITE_P(
    Dst, ActiveTimeNextOpenTest,
    testing::Values(NextOpenCase{"Mon-Fri 08:00-18:00", "Europe/Berlin", "2026-03-28T12:00:00Z",
                                 "2026-03-30T06:00:00Z"},
                    // The window lies inside the gap on 29 March: the next Sunday.
                    NextOpenCase{"Sun 02:00-02:30", "Europe/Berlin", "2026-03-29T00:00:00Z",
                                 "2026-04-05T00:00:00Z"},
                    // The window starts inside the gap: it opens when the gap ends.
                    NextOpenCase{"Sun 02:30-04:00", "Europe/Berlin", "2026-03-29T00:00:00Z",
                                 "2026-03-29T01:00:00Z"},
                    // 02:00-02:30 comes twice on 25 October.
                    NextOpenCase{"Sun 02:00-02:30", "Europe/Berlin", "2026-10-24T12:00:00Z",
                                 "2026-10-25T00:00:00Z"},
                    NextOpenCase{"Sun 02:00-02:30", "Europe/Berlin", "2026-10-25T00:45:00Z",
                                 "2026-10-25T01:00:00Z"},
                    // Falling back from 02:59 CEST to 02:00 CET re-enters the window mid-way.
                    NextOpenCase{"Sun 01:00-02:15", "Europe/Berlin", "2026-10-25T00:20:00Z",
                                 "2026-10-25T01:00:00Z"},
                    NextOpenCase{"Mon-Fri 09:00-17:00", "America/New_York", "2026-03-07T12:00:00Z",
                                 "2026-03-09T13:00:00Z"},
                    NextOpenCase{"Sun 02:00-03:00", "America/New_York", "2026-03-08T06:00:00Z",
                                 "2026-03-15T06:00:00Z"},
                    NextOpenCase{"Sun 01:00-01:30", "America/New_York", "2026-11-01T05:45:00Z",
                                 "2026-11-01T06:00:00Z"}));

struct ErrorCase {
  const char* spec;
  std::size_t offset;
  const char* message;
};

class ActiveTimeParseErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ActiveTimeParseErrorTest, ReportsOffsetAndMessage) {
  const ErrorCase& c = GetParam();
  auto result = ActiveTime::Parse(c.spec);
  ASSERT_TRUE(std::holds_alternative<ParseError>(result)) << c.spec;
  EXPECT_EQ(std::get<ParseError>(result), (ParseError{c.offset, c.message})) << c.spec;
}

INSTANTIATE_TEST_SUITE_P(
    All, ActiveTimeParseErrorTest,
    testing::Values(
        ErrorCase{"", 0,
                  "empty active time; expected weekdays, times or both, e.g. "
                  "\"Mon-Fri 08:00-18:00\""},
        ErrorCase{"Mon-Fry 08:00-18:00", 4, "unknown weekday \"Fry\"; expected Mon..Sun"},
        ErrorCase{"Mo 08:00-18:00", 0, "unknown weekday \"Mo\"; expected Mon..Sun"},
        ErrorCase{"Monday", 0, "unknown weekday \"Monday\"; expected Mon..Sun"},
        ErrorCase{"Mon- 08:00-18:00", 5, "unexpected \"08:00\" after \"Mon-\"; expected a weekday"},
        ErrorCase{"Mon, 08:00-18:00", 5, "unexpected \"08:00\" after \",\"; expected a weekday"},
        ErrorCase{"Mon 0800-1800", 4, "invalid time \"0800\"; expected HH:MM"},
        ErrorCase{"Mon 8:0-9:00", 4, "invalid time \"8:0\"; expected HH:MM"},
        ErrorCase{"Mon 08:00", 9,
                  "unexpected end of text after \"08:00\"; expected \"-\" and an end time"},
        ErrorCase{"Mon 08:00-", 10,
                  "unexpected end of text after \"-\"; expected an end time HH:MM"},
        ErrorCase{"Mon 18:00-08:00", 10,
                  "end 08:00 is not after start 18:00; split a window over midnight into two, "
                  "e.g. \"Mon 22:00-24:00; Tue 00:00-06:00\""},
        ErrorCase{"08:00-08:00", 6,
                  "end 08:00 is not after start 08:00; split a window over midnight into two, "
                  "e.g. \"Mon 22:00-24:00; Tue 00:00-06:00\""},
        ErrorCase{"Mon 24:00-24:00", 4, "time \"24:00\" is out of range; expected 00:00 to 23:59"},
        ErrorCase{"Mon 08:00-24:30", 10, "time \"24:30\" is out of range; expected 00:01 to 24:00"},
        ErrorCase{"Mon 08:60-09:00", 4, "time \"08:60\" is out of range; expected 00:00 to 23:59"},
        ErrorCase{"Mon 08:00-12:00,", 16,
                  "unexpected end of text after \",\"; expected a time HH:MM"},
        ErrorCase{"Mon;", 4,
                  "empty clause; expected weekdays like Mon-Fri or times like 08:00-18:00"},
        ErrorCase{";Mon", 0,
                  "empty clause; expected weekdays like Mon-Fri or times like 08:00-18:00"},
        ErrorCase{"Mon 08:00-12:00 Tue", 16, "unexpected \"Tue\"; expected \";\" or the end"},
        ErrorCase{"Mon @", 4, "unexpected \"@\"; expected \";\" or the end"},
        ErrorCase{"@", 0,
                  "unexpected \"@\"; expected weekdays like Mon-Fri or times like "
                  "08:00-18:00"}));

}  // namespace
}  // namespace kpid::rules
