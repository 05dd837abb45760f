// CronSchedule::Parse on any text; a schedule that parses yields strictly increasing fire
// times, in UTC and across a zone with DST.
#include "rules/cron.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <date/tz.h>

#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = kpid::rules::CronSchedule::Parse(text);
  const auto* schedule = std::get_if<kpid::rules::CronSchedule>(&parsed);
  if (schedule == nullptr) {
    const auto& error = std::get<kpid::rules::ParseError>(parsed);
    KPID_FUZZ_CHECK(error.offset <= size, "error offset inside the text");
    KPID_FUZZ_CHECK(!error.message.empty(), "error message");
    return 0;
  }
  static const date::time_zone* const berlin = date::locate_zone("Europe/Berlin");
  for (const date::time_zone* tz : {static_cast<const date::time_zone*>(nullptr), berlin}) {
    // 2026-03-28 23:30 UTC: the next day has Berlin's spring-forward gap.
    std::chrono::sys_seconds after{std::chrono::seconds(1774740600)};
    for (int i = 0; i < 4; ++i) {
      auto next = schedule->Next(after, tz);
      if (!next) break;
      KPID_FUZZ_CHECK(*next > after, "Next() is strictly later");
      after = *next;
    }
  }
  return 0;
}
