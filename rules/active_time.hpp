// Weekly time windows during which a notification route may send.
#pragma once

#include <array>
#include <chrono>
#include <string_view>
#include <vector>

#include <date/tz.h>

#include "rules/parse_error.hpp"

namespace kpid::rules {

// Syntax: clauses separated by ";", each weekdays, times or both, in wall-clock time:
//   "Mon-Fri 08:00-18:00"   "Mon-Fri 08:00-12:00,13:00-17:30; Sat 10:00-14:00"
//   "Sat,Sun" (all day)     "09:00-17:00" (every day)
// Weekdays are Mon..Sun in any case; a range may wrap ("Fri-Mon"). Times are H:MM or HH:MM;
// a window [start, end) needs start < end, and 24:00 is allowed as an end. A window over
// midnight is written as two: "Mon 22:00-24:00; Tue 00:00-06:00". Immutable, cheap to copy.
class ActiveTime {
 public:
  [[nodiscard]] static ParseResult<ActiveTime> Parse(std::string_view text);

  // Whether the wall-clock time of `t` in `tz` (nullptr: UTC) is inside a window. A window
  // in an hour skipped by spring forward is closed; one in an hour repeated by fall back is
  // open both times.
  [[nodiscard]] bool Contains(std::chrono::sys_seconds t, const date::time_zone* tz) const;

  // The first instant at or after `t` that Contains() accepts: `t` itself if inside. A
  // window starting in a spring-forward gap opens at the end of the gap. Returns
  // sys_seconds::max() only if nothing opens within a year, which no parsed value does
  // outside a zone that skips the same hours every week.
  [[nodiscard]] std::chrono::sys_seconds NextOpen(std::chrono::sys_seconds t,
                                                  const date::time_zone* tz) const;

 private:
  struct Window {
    int begin;  // minutes after local midnight
    int end;    // exclusive, at most 24 * 60
  };

  ActiveTime() = default;
  bool ContainsLocal(date::local_seconds local) const;

  // Sorted, merged windows for each weekday; index 0 is Sunday (date::weekday::c_encoding).
  std::array<std::vector<Window>, 7> windows_;
};

}  // namespace kpid::rules
