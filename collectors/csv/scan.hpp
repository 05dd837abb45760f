// One pass over a CSV stream for one KPI: header lookup, `where` filter, number and
// timestamp parsing, the aggregate and, on request, the history. Pure: bytes in (through
// a Reader), a value or an error out; file handling and caching live in the collector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.hpp"
#include "collectors/csv/reader.hpp"
#include "collectors/csv/settings.hpp"

namespace kpid::collectors::csv {

// A cell as a number: integers, decimals, exponents, a leading + or -, surrounding spaces.
// Rejects thousands separators, inf, nan and anything else.
std::optional<double> ParseNumber(std::string_view text);

// A cell as a point in time (surrounding spaces allowed):
//   YYYY-MM-DD                               midnight UTC
//   YYYY-MM-DD(T| )HH:MM[:SS[.fraction]]     UTC unless followed by
//                                            Z | +HH:MM | -HH:MM | +HHMM | +HH
std::optional<Clock::time_point> ParseTimestamp(std::string_view text);

struct ScanOptions {
  bool history = false;  // also build the history (needs a timestamp column)
  std::size_t max_history_rows = 1'000'000;
  std::string_view path;  // for messages only
};

struct ScanOutput {
  // Structural problems and "nothing to aggregate", without the source prefix. When set,
  // value is unset; bad-row counts are still filled in.
  std::optional<CollectError> error;
  std::optional<double> value;
  // With a timestamp column: the greatest timestamp among the rows aggregated.
  std::optional<Clock::time_point> timestamp;
  std::vector<Sample> history;                // oldest first; one sample per distinct timestamp
  std::optional<CollectError> history_error;  // the history is over max_history_rows
  std::uint64_t rows = 0;                     // data rows (the header excluded)
  std::uint64_t kept = 0;                     // rows that passed `where` and were aggregated
  std::uint64_t bad_rows = 0;
  std::string first_bad_row;  // "line 7: 3 fields, header has 4"
};

// Reads the whole stream. An aborted read (the ReadFn returned < 0) yields an error of
// kind kInternal that the caller replaces with the reason it knows.
ScanOutput Scan(Reader& reader, const KpiSettings& kpi, const ScanOptions& options);

}  // namespace kpid::collectors::csv
