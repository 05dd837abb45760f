// Wall-clock time in a zone, with one DST policy shared by every rules/ type that reads
// local times from the config. A null zone means UTC.
#pragma once

#include <chrono>
#include <type_traits>

#include <date/date.h>
#include <date/tz.h>

namespace kpid::rules {

template <typename Duration>
date::local_time<Duration> ToLocal(std::chrono::sys_time<Duration> t, const date::time_zone* tz) {
  if (tz == nullptr) return date::local_time<Duration>{t.time_since_epoch()};
  return date::local_time<Duration>{
      std::chrono::duration_cast<Duration>(tz->to_local(t).time_since_epoch())};
}

// The instant a local time names. An ambiguous local time (fall back) resolves to its first
// occurrence; a local time skipped by spring forward resolves to the first instant after the
// gap, i.e. the transition itself.
template <typename Duration>
std::chrono::sys_time<std::common_type_t<Duration, std::chrono::seconds>> ToSys(
    date::local_time<Duration> t, const date::time_zone* tz) {
  using Result = std::chrono::sys_time<std::common_type_t<Duration, std::chrono::seconds>>;
  if (tz == nullptr) return Result{t.time_since_epoch()};
  return tz->to_sys(t, date::choose::earliest);
}

}  // namespace kpid::rules
