// 5-field cron schedules (minute hour day-of-month month day-of-week) for digests.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include <date/tz.h>

#include "rules/parse_error.hpp"

namespace kpid::rules {

// Vixie cron syntax: "*", lists, ranges, steps ("*/15", "1-10/2", "5/15" = "5-59/15"),
// JAN-DEC and SUN-SAT (any case), 0 and 7 both Sunday, and the macros @yearly (@annually),
// @monthly, @weekly, @daily (@midnight) and @hourly. When both day fields are restricted a
// day matches if either matches; as in Vixie cron, a field starting with "*" ("*/2") counts
// as unrestricted. Immutable and cheap to copy.
class CronSchedule {
 public:
  [[nodiscard]] static ParseResult<CronSchedule> Parse(std::string_view text);

  // The first matching minute strictly after `after`, read as wall-clock time in `tz`
  // (nullptr: UTC). A matching local time skipped by spring forward fires at the first
  // instant after the gap; one repeated by fall back fires once, at its first occurrence.
  // nullopt if the schedule can never fire, e.g. "0 0 31 2 *".
  [[nodiscard]] std::optional<std::chrono::sys_seconds> Next(std::chrono::sys_seconds after,
                                                             const date::time_zone* tz) const;

 private:
  CronSchedule() = default;
  bool MatchesDay(const date::year_month_day& ymd) const;

  // Bit i set: value i matches. Day-of-week uses 0 = Sunday.
  std::uint64_t minutes_ = 0;
  std::uint64_t hours_ = 0;
  std::uint64_t days_of_month_ = 0;
  std::uint64_t months_ = 0;
  std::uint64_t days_of_week_ = 0;
  bool day_of_month_restricted_ = false;
  bool day_of_week_restricted_ = false;
};

}  // namespace kpid::rules
