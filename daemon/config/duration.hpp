// Durations as written in the config: "500ms", "1s", "90s", "15m", "2h", "7d", "1w", and
// compositions like "1h30m" (Prometheus syntax). Zero is "0s" or "0".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kpid::config {

using Duration = std::chrono::milliseconds;

// Longer durations are refused: the daemon adds them to nanosecond time points, which
// reach only about 292 years from 1970.
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 365 * 100);

// Returns nullopt on a malformed duration or one longer than kMaxDuration.
std::optional<Duration> ParseDuration(std::string_view text);

// The shortest exact form: 90000ms -> "1m30s", 0 -> "0s".
std::string FormatDuration(Duration d);

}  // namespace kpid::config
