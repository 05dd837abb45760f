#include "collectors/csv/scan.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

namespace kpid::collectors::csv {
namespace {

namespace chr = std::chrono;

constexpr std::size_t kMaxQuoted = 40;
constexpr std::size_t kMaxListedColumns = 20;

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// from_chars with a leading '+' allowed and only finite results.
std::optional<double> ParseNumberSlowly(std::string_view s) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) return std::nullopt;
  }
  if (s.empty()) return std::nullopt;
  double value = 0;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

// ParseNumber() of a trimmed cell. Plain decimals of up to 15 digits take a fast path:
// the digits and the power of ten are exact doubles, so one division rounds correctly
// (Clinger); from_chars does the rest.
inline std::optional<double> ParseTrimmedNumber(std::string_view s) {
  static constexpr double kPowersOf10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                           1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  const char* p = s.data();
  const char* const end = p + s.size();
  const bool negative = p < end && *p == '-';
  if (p < end && (*p == '-' || *p == '+')) ++p;
  const char* const first = p;
  std::uint64_t mantissa = 0;
  for (; p < end && static_cast<unsigned>(*p - '0') < 10u; ++p) {
    mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
  }
  auto digits = static_cast<std::size_t>(p - first);
  std::size_t fraction = 0;
  if (p < end && *p == '.') {
    const char* const dot = ++p;
    for (; p < end && static_cast<unsigned>(*p - '0') < 10u; ++p) {
      mantissa = mantissa * 10 + static_cast<unsigned>(*p - '0');
    }
    fraction = static_cast<std::size_t>(p - dot);
    digits += fraction;
  }
  if (p == end && digits - 1 < 15) {  // 1 to 15 digits
    const double value = static_cast<double>(mantissa) / kPowersOf10[fraction];
    return negative ? -value : value;
  }
  return ParseNumberSlowly(s);
}

// A cell or column name for a message: quoted, shortened, control characters replaced.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  std::size_t n = s.size();
  if (n > kMaxQuoted) {
    n = kMaxQuoted;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0u) == 0x80u) --n;  // UTF-8 boundary
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : s[i];
  }
  if (n < s.size()) out += "...";
  out += '"';
  return out;
}

// Cells are short: a loop beats a call to memcmp.
inline bool Equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

bool Digits(std::string_view s, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > s.size()) return false;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + (s[i] - '0');
  }
  out = value;
  return true;
}

Clock::time_point ToTimePoint(chr::nanoseconds since_epoch) {
  return Clock::time_point(chr::duration_cast<Clock::duration>(since_epoch));
}

// Running aggregate; rows arrive in the order that defines `last`.
class Accumulator {
 public:
  explicit Accumulator(Aggregate kind) : kind_(kind) {}

  void Add(double value) {
    switch (kind_) {
      case Aggregate::kLast:
        acc_ = value;
        break;
      case Aggregate::kSum:
      case Aggregate::kAvg:
        acc_ += value;
        break;
      case Aggregate::kMin:
        acc_ = count_ == 0 ? value : std::min(acc_, value);
        break;
      case Aggregate::kMax:
        acc_ = count_ == 0 ? value : std::max(acc_, value);
        break;
      case Aggregate::kCount:
        acc_ += 1;
        break;
    }
    ++count_;
  }

  double Value() const {
    return kind_ == Aggregate::kAvg ? acc_ / static_cast<double>(count_) : acc_;
  }

 private:
  Aggregate kind_;
  double acc_ = 0;
  std::uint64_t count_ = 0;
};

struct Row {
  Clock::time_point timestamp;
  double value = 0;
};

class Scanner {
 public:
  Scanner(Reader& reader, const KpiSettings& kpi, const ScanOptions& options)
      : reader_(reader), kpi_(kpi), options_(options), acc_(kpi.aggregate) {}

  ScanOutput Run() {
    if (!ReadHeader()) return std::move(out_);
    const bool history = options_.history && timestamp_index_.has_value();
    const bool count = kpi_.aggregate == Aggregate::kCount;
    const bool last_by_time = kpi_.aggregate == Aggregate::kLast && timestamp_index_.has_value();
    Clock::time_point newest = Clock::time_point::min();
    std::vector<Row> rows;
    std::span<const Record> batch;
    Reader::Status status;
    while ((status = reader_.NextBatch(batch)) == Reader::Status::kRecord) {
      for (const Record& record : batch) {
        ++out_.rows;
        if (record.error != RecordError::kNone) {
          Bad(record.line, RecordErrorText(record.error));
          continue;
        }
        const auto& fields = record.fields;
        if (fields.size() != columns_) {
          if (out_.bad_rows == 0) {
            Bad(record.line,
                std::to_string(fields.size()) + " fields, header has " + std::to_string(columns_));
          } else {
            ++out_.bad_rows;
          }
          continue;
        }
        bool keep = true;
        for (const auto& [index, wanted] : where_) {
          if (!Equal(fields[index], wanted)) {
            keep = false;
            break;
          }
        }
        if (!keep) continue;
        const std::string_view cell = Trim(fields[value_index_]);
        if (cell.empty()) continue;  // no value, like SQL NULL
        double value = 1;
        if (!count) {
          const auto number = ParseTrimmedNumber(cell);
          if (!number) {
            BadCell(record.line, cell, kpi_.column, "is not a number");
            continue;
          }
          value = *number;
        }
        Clock::time_point timestamp{};
        if (timestamp_index_) {
          const auto parsed = Timestamp(fields[*timestamp_index_]);
          if (!parsed) {
            BadCell(record.line, Trim(fields[*timestamp_index_]), kpi_.timestamp_column,
                    "is not an ISO 8601 date or date-time");
            continue;
          }
          timestamp = *parsed;
          if (history && !out_.history_error) {
            if (rows.size() < options_.max_history_rows) {
              rows.push_back({timestamp, value});
            } else {
              out_.history_error =
                  CollectError{ErrorKind::kTooLarge,
                               "history of " + std::string(options_.path) + " has more than " +
                                   std::to_string(options_.max_history_rows) + " rows"};
              rows = {};
            }
          }
          if (last_by_time && timestamp < newest) {
            ++out_.kept;  // an older row: counted, but not the latest value
            continue;
          }
          newest = std::max(newest, timestamp);
        }
        ++out_.kept;
        acc_.Add(value);
      }
    }
    if (status == Reader::Status::kAborted) {
      out_.error = CollectError{ErrorKind::kInternal, "read abandoned"};
      return std::move(out_);
    }
    if (out_.kept == 0) {
      if (out_.bad_rows > 0) {
        out_.error =
            CollectError{ErrorKind::kParse, "no usable rows in " + std::string(options_.path) +
                                                ": " + std::to_string(out_.bad_rows) +
                                                " malformed, first at " + out_.first_bad_row};
      } else if (count) {
        out_.value = 0;
      } else {
        out_.error =
            CollectError{ErrorKind::kEmpty, "no rows with a value in column " + Quote(kpi_.column) +
                                                WhereText() + " in " + std::string(options_.path)};
      }
      return std::move(out_);
    }
    out_.value = acc_.Value();
    if (timestamp_index_) out_.timestamp = newest;
    if (history && !out_.history_error) BuildHistory(rows);
    return std::move(out_);
  }

 private:
  bool ReadHeader() {
    Record header;
    const Reader::Status status = reader_.Next(header);
    if (status == Reader::Status::kAborted) {
      out_.error = CollectError{ErrorKind::kInternal, "read abandoned"};
      return false;
    }
    if (status == Reader::Status::kEnd) {
      out_.error =
          CollectError{ErrorKind::kEmpty, std::string(options_.path) + " is empty (no header row)"};
      return false;
    }
    if (header.error != RecordError::kNone) {
      out_.error = CollectError{ErrorKind::kParse,
                                "header row of " + std::string(options_.path) +
                                    " is malformed (line " + std::to_string(header.line) + ": " +
                                    std::string(RecordErrorText(header.error)) + ")"};
      return false;
    }
    columns_ = header.fields.size();
    std::string missing;
    auto find = [&](const std::string& name) -> std::optional<std::size_t> {
      for (std::size_t i = 0; i < header.fields.size(); ++i) {
        if (Trim(header.fields[i]) == name) return i;
      }
      if (missing.empty()) missing = name;
      return std::nullopt;
    };
    const auto value = find(kpi_.column);
    if (value) value_index_ = *value;
    if (!kpi_.timestamp_column.empty()) timestamp_index_ = find(kpi_.timestamp_column);
    for (const auto& [column, wanted] : kpi_.where) {
      if (const auto index = find(column)) where_.emplace_back(*index, wanted);
    }
    if (missing.empty()) return true;
    std::string listed;
    for (std::size_t i = 0; i < header.fields.size() && i < kMaxListedColumns; ++i) {
      if (i > 0) listed += ", ";
      listed += Quote(Trim(header.fields[i]));
    }
    if (header.fields.size() > kMaxListedColumns) listed += ", ...";
    out_.error = CollectError{ErrorKind::kParse, "column " + Quote(missing) + " not in header of " +
                                                     std::string(options_.path) +
                                                     " (columns: " + listed + ")"};
    return false;
  }

  // Rows of a daily file repeat their date: parse each distinct text once.
  std::optional<Clock::time_point> Timestamp(std::string_view text) {
    if (last_timestamp_ && text == last_timestamp_text_) return last_timestamp_;
    last_timestamp_ = ParseTimestamp(text);
    last_timestamp_text_.assign(text);
    return last_timestamp_;
  }

  void Bad(std::uint64_t line, std::string_view what) {
    if (out_.bad_rows++ == 0)
      out_.first_bad_row = "line " + std::to_string(line) + ": " + std::string(what);
  }

  void BadCell(std::uint64_t line, std::string_view cell, const std::string& column,
               std::string_view what) {
    if (out_.bad_rows == 0) {
      std::string text = Quote(cell) + " in column " + Quote(column) + " " + std::string(what);
      if (column == kpi_.column && cell.find_first_of(",'") != std::string_view::npos) {
        text += " (thousands separators are not accepted)";
      }
      Bad(line, text);
    } else {
      ++out_.bad_rows;
    }
  }

  std::string WhereText() const {
    std::string text;
    for (const auto& [column, wanted] : kpi_.where) {
      text += text.empty() ? " where " : " and ";
      text += column + "=" + Quote(wanted);
    }
    return text;
  }

  // One sample per distinct timestamp: the aggregate over every row up to it, i.e. the
  // value a collection at that time would have returned.
  void BuildHistory(std::vector<Row>& rows) {
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.timestamp < b.timestamp; });
    Accumulator acc(kpi_.aggregate);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      acc.Add(rows[i].value);
      if (i + 1 == rows.size() || rows[i + 1].timestamp != rows[i].timestamp) {
        out_.history.push_back(Sample{acc.Value(), rows[i].timestamp});
      }
    }
  }

  Reader& reader_;
  const KpiSettings& kpi_;
  const ScanOptions& options_;
  Accumulator acc_;
  ScanOutput out_;
  std::size_t columns_ = 0;
  std::size_t value_index_ = 0;
  std::optional<std::size_t> timestamp_index_;
  std::vector<std::pair<std::size_t, std::string_view>> where_;
  std::string last_timestamp_text_;
  std::optional<Clock::time_point> last_timestamp_;
};

}  // namespace

std::optional<double> ParseNumber(std::string_view text) { return ParseTrimmedNumber(Trim(text)); }

std::optional<Clock::time_point> ParseTimestamp(std::string_view text) {
  const std::string_view s = Trim(text);
  int year = 0;
  int month = 0;
  int day = 0;
  if (s.size() < 10 || !Digits(s, 0, 4, year) || s[4] != '-' || !Digits(s, 5, 2, month) ||
      s[7] != '-' || !Digits(s, 8, 2, day)) {
    return std::nullopt;
  }
  // Clock counts nanoseconds in 64 bits: 1677-09-21 to 2262-04-11, offsets included.
  if (year < 1678 || year > 2261) return std::nullopt;
  const chr::year_month_day date{chr::year{year}, chr::month{static_cast<unsigned>(month)},
                                 chr::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  chr::nanoseconds t = chr::sys_days(date).time_since_epoch();
  if (s.size() == 10) return ToTimePoint(t);

  int hour = 0;
  int minute = 0;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  if (!Digits(s, 11, 2, hour) || s.size() < 16 || s[13] != ':' || !Digits(s, 14, 2, minute) ||
      hour > 23 || minute > 59) {
    return std::nullopt;
  }
  t += chr::hours(hour) + chr::minutes(minute);
  std::size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    int second = 0;
    if (!Digits(s, pos + 1, 2, second) || second > 59) return std::nullopt;
    t += chr::seconds(second);
    pos += 3;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      std::size_t digits = 0;
      std::int64_t fraction = 0;
      for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++digits) {
        if (digits < 9) fraction = fraction * 10 + (s[pos] - '0');
      }
      if (digits == 0) return std::nullopt;
      for (std::size_t i = digits; i < 9; ++i) fraction *= 10;
      t += chr::nanoseconds(fraction);
    }
  }
  if (pos == s.size()) return ToTimePoint(t);
  const char zone = s[pos];
  if ((zone == 'Z' || zone == 'z') && pos + 1 == s.size()) return ToTimePoint(t);
  if (zone != '+' && zone != '-') return std::nullopt;
  int offset_hours = 0;
  int offset_minutes = 0;
  if (!Digits(s, pos + 1, 2, offset_hours)) return std::nullopt;
  std::size_t rest = pos + 3;
  if (rest < s.size()) {
    if (s[rest] == ':') ++rest;
    if (!Digits(s, rest, 2, offset_minutes) || rest + 2 != s.size()) return std::nullopt;
  }
  if (offset_hours > 23 || offset_minutes > 59) return std::nullopt;
  const chr::minutes offset = chr::hours(offset_hours) + chr::minutes(offset_minutes);
  t += zone == '+' ? -offset : offset;
  return ToTimePoint(t);
}

ScanOutput Scan(Reader& reader, const KpiSettings& kpi, const ScanOptions& options) {
  return Scanner(reader, kpi, options).Run();
}

}  // namespace kpid::collectors::csv
