// Turning SOCI result columns into KPI values and timestamps.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <soci/soci.h>

#include "collectors/collector.hpp"
#include "collectors/sql/cell.hpp"

namespace kpid::collectors::sql {

// Column `column` (0-based, < row.size()) of a row SOCI fetched.
Cell CellAt(const soci::row& row, std::size_t column);

// A finite number: integers, floats, decimals and numeric strings. NULL is kEmpty; dates,
// blobs and other text are kParse.
std::variant<double, Failure> ToNumber(const Cell& cell);

// A point in time: a date/time column (read as UTC), a number of seconds since the Unix
// epoch, or an ISO 8601 string ("2026-10-01", "2026-10-01 12:00:00",
// "2026-10-01T12:00:00.5+02:00"; no offset means UTC). NULL is kEmpty, others kParse.
std::variant<Clock::time_point, Failure> ToTimestamp(const Cell& cell);

// "12", " -1.5e3 ", "+7" -> number; anything else (including NaN and infinities) -> nullopt.
std::optional<double> ParseNumber(std::string_view text);
std::optional<Clock::time_point> ParseIsoTime(std::string_view s);

}  // namespace kpid::collectors::sql
