// Durations as written in the config: "500ms", "1s", "90s", "15m", "2h", "7d", "1w", and
// compositions like "1h30m" (Prometheus syntax). Zero is "0s" or "0".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kpid::config {

using Duration = std::chrono::milliseconds;

// Returns nullopt on a malformed or overflowing duration.
std::optional<Duration> ParseDuration(std::string_view text);

// The shortest exact form: 90000ms -> "1m30s", 0 -> "0s".
std::string FormatDuration(Duration d);

}  // namespace kpid::config
