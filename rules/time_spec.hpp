// Points in time as written in the config (goal start/deadline, milestones, silences) and
// their resolution to instants.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <date/tz.h>

#include "rules/parse_error.hpp"

namespace kpid::rules {

struct TimeSpec {
  enum class Kind {
    kDate,            // 2026-12-31: a whole day in the evaluation zone
    kLocalDateTime,   // 2026-12-31T17:00:00: wall-clock time in the evaluation zone
    kOffsetDateTime,  // 2026-12-31T17:00:00Z or ...+01:00: an exact instant
  };
  Kind kind = Kind::kDate;
  int year = 1970;
  int month = 1;
  int day = 1;
  int hour = 0;  // hour..nanosecond are ignored for kDate
  int minute = 0;
  int second = 0;
  int nanosecond = 0;
  int offset_minutes = 0;  // east of UTC; used by kOffsetDateTime only

  friend bool operator==(const TimeSpec&, const TimeSpec&) = default;
};

// Which instant a kDate stands for; datetimes ignore it.
enum class DayBound {
  kStart,  // 00:00 of that day
  kEnd,    // 00:00 of the next day: the deadline 2026-12-31 ends with that day
};

// nullopt if every field the kind uses is in range (leap years included); otherwise why not,
// e.g. `day 29 is out of range for 2026-02; expected 1-28`.
[[nodiscard]] std::optional<std::string> Validate(const TimeSpec& spec);

// The instant `spec` names; `spec` must pass Validate(). Local times are read in `tz`
// (nullptr: UTC): an ambiguous one (fall back) resolves to its first occurrence, one skipped
// by spring forward to the first instant after the gap, so a day whose midnight is skipped
// starts at the end of the gap. Sub-millisecond digits are truncated.
[[nodiscard]] std::chrono::sys_time<std::chrono::milliseconds> Resolve(const TimeSpec& spec,
                                                                       const date::time_zone* tz,
                                                                       DayBound bound);

// RFC 3339 / TOML text: "2026-12-31", "2026-12-31T17:00[:00[.123]]" ("t" or a space also
// separate date and time) with an optional "Z" or "+01:00". For values that reach kpid as
// strings, e.g. the API's silences and ?since=. Fields are range-checked as by Validate().
[[nodiscard]] ParseResult<TimeSpec> ParseTimeSpec(std::string_view text);

}  // namespace kpid::rules
