#include "rules/time_spec.hpp"

#include <array>
#include <cstdio>
#include <utility>

#include "rules/local_time.hpp"
#include "rules/parse_text.hpp"

namespace kpid::rules {
namespace {

using internal::DescribeCharAt;
using internal::IsDigit;

enum class Field { kYear, kMonth, kDay, kHour, kMinute, kSecond, kNanosecond, kOffset };

struct Problem {
  Field field;
  std::string message;
};

std::string OutOfRange(std::string_view name, int value, std::string_view expected) {
  return std::string(name) + " " + std::to_string(value) + " is out of range; expected " +
         std::string(expected);
}

std::string FormatOffset(int offset_minutes) {
  const int magnitude = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%c%02d:%02d", offset_minutes < 0 ? '-' : '+',
                magnitude / 60, magnitude % 60);
  return buffer.data();
}

std::optional<Problem> Check(const TimeSpec& spec) {
  // The instant must fit the daemon's TimePoint (system_clock: 64-bit nanoseconds, years
  // 1677-2262), with room for a day bound and an offset.
  if (spec.year < 1900 || spec.year > 2200) {
    return Problem{Field::kYear, OutOfRange("year", spec.year, "1900-2200")};
  }
  if (spec.month < 1 || spec.month > 12) {
    return Problem{Field::kMonth, OutOfRange("month", spec.month, "1-12")};
  }
  const date::year_month ym{date::year(spec.year), date::month(static_cast<unsigned>(spec.month))};
  const int last_day = static_cast<int>(static_cast<unsigned>((ym / date::last).day()));
  if (spec.day < 1 || spec.day > last_day) {
    std::array<char, 64> buffer{};
    std::snprintf(buffer.data(), buffer.size(), " for %04d-%02d; expected 1-%d", spec.year,
                  spec.month, last_day);
    return Problem{Field::kDay,
                   "day " + std::to_string(spec.day) + " is out of range" + buffer.data()};
  }
  if (spec.kind == TimeSpec::Kind::kDate) return std::nullopt;
  if (spec.hour < 0 || spec.hour > 23) {
    return Problem{Field::kHour, OutOfRange("hour", spec.hour, "0-23")};
  }
  if (spec.minute < 0 || spec.minute > 59) {
    return Problem{Field::kMinute, OutOfRange("minute", spec.minute, "0-59")};
  }
  if (spec.second < 0 || spec.second > 59) {
    return Problem{Field::kSecond, OutOfRange("second", spec.second, "0-59")};
  }
  if (spec.nanosecond < 0 || spec.nanosecond > 999'999'999) {
    return Problem{Field::kNanosecond, OutOfRange("nanosecond", spec.nanosecond, "0-999999999")};
  }
  if (spec.kind == TimeSpec::Kind::kOffsetDateTime &&
      (spec.offset_minutes < -(23 * 60 + 59) || spec.offset_minutes > 23 * 60 + 59)) {
    return Problem{Field::kOffset, "offset " + FormatOffset(spec.offset_minutes) +
                                       " is out of range; expected -23:59 to +23:59"};
  }
  return std::nullopt;
}

class SpecParser {
 public:
  explicit SpecParser(std::string_view text) : text_(text) {}

  ParseResult<TimeSpec> Parse() {
    TimeSpec spec;
    std::array<std::size_t, 8> offsets{};
    auto at = [&](Field f) -> std::size_t& { return offsets[static_cast<std::size_t>(f)]; };

    if (!Number(4, "a 4-digit year", at(Field::kYear), spec.year) || !Char('-', "\"-\"") ||
        !Number(2, "a 2-digit month", at(Field::kMonth), spec.month) || !Char('-', "\"-\"") ||
        !Number(2, "a 2-digit day", at(Field::kDay), spec.day)) {
      return std::move(*error_);
    }
    spec.kind = TimeSpec::Kind::kDate;
    if (pos_ < text_.size()) {
      const char separator = text_[pos_];
      if (separator != 'T' && separator != 't' && separator != ' ') {
        return Fail("\"T\" and a time, or the end");
      }
      ++pos_;
      if (!Number(2, "a 2-digit hour", at(Field::kHour), spec.hour) || !Char(':', "\":\"") ||
          !Number(2, "a 2-digit minute", at(Field::kMinute), spec.minute)) {
        return std::move(*error_);
      }
      if (pos_ < text_.size() && text_[pos_] == ':') {
        ++pos_;
        if (!Number(2, "a 2-digit second", at(Field::kSecond), spec.second)) {
          return std::move(*error_);
        }
        if (pos_ < text_.size() && text_[pos_] == '.') {
          ++pos_;
          at(Field::kNanosecond) = pos_;
          int digits = 0;
          while (pos_ < text_.size() && IsDigit(text_[pos_])) {
            // Digits past nanoseconds are truncated, as TOML asks.
            if (digits < 9) spec.nanosecond = spec.nanosecond * 10 + (text_[pos_] - '0');
            ++digits;
            ++pos_;
          }
          if (digits == 0) return Fail("digits after \".\"");
          for (; digits < 9; ++digits) spec.nanosecond *= 10;
        }
      }
      spec.kind = TimeSpec::Kind::kLocalDateTime;
      if (pos_ < text_.size()) {
        at(Field::kOffset) = pos_;
        const char sign = text_[pos_];
        if (sign == 'Z' || sign == 'z') {
          ++pos_;
        } else if (sign == '+' || sign == '-') {
          ++pos_;
          int hours = 0;
          int minutes = 0;
          std::size_t offset_pos = 0;
          if (!Number(2, "a 2-digit offset hour", offset_pos, hours) || !Char(':', "\":\"") ||
              !Number(2, "a 2-digit offset minute", offset_pos, minutes)) {
            return std::move(*error_);
          }
          if (minutes > 59) {
            return ParseError{offset_pos, OutOfRange("offset minute", minutes, "0-59")};
          }
          spec.offset_minutes = (sign == '-' ? -1 : 1) * (hours * 60 + minutes);
        } else {
          return Fail("\"Z\", an offset like +01:00, or the end");
        }
        spec.kind = TimeSpec::Kind::kOffsetDateTime;
        if (pos_ < text_.size()) return Fail("the end");
      }
    }
    if (auto problem = Check(spec)) {
      return ParseError{at(problem->field), std::move(problem->message)};
    }
    return spec;
  }

 private:
  ParseError Fail(std::string_view expected) {
    return ParseError{
        pos_, "unexpected " + DescribeCharAt(text_, pos_) + "; expected " + std::string(expected)};
  }

  bool Number(int width, std::string_view what, std::size_t& offset, int& value) {
    offset = pos_;
    value = 0;
    for (int i = 0; i < width; ++i) {
      if (pos_ >= text_.size() || !IsDigit(text_[pos_])) {
        error_ = Fail(what);
        return false;
      }
      value = value * 10 + (text_[pos_] - '0');
      ++pos_;
    }
    return true;
  }

  bool Char(char c, std::string_view what) {
    if (pos_ >= text_.size() || text_[pos_] != c) {
      error_ = Fail(what);
      return false;
    }
    ++pos_;
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::optional<ParseError> error_;
};

}  // namespace

std::optional<std::string> Validate(const TimeSpec& spec) {
  if (auto problem = Check(spec)) return std::move(problem->message);
  return std::nullopt;
}

std::chrono::sys_time<std::chrono::milliseconds> Resolve(const TimeSpec& spec,
                                                         const date::time_zone* tz,
                                                         DayBound bound) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  using std::chrono::nanoseconds;
  using std::chrono::seconds;
  const date::year_month_day ymd{date::year(spec.year),
                                 date::month(static_cast<unsigned>(spec.month)),
                                 date::day(static_cast<unsigned>(spec.day))};
  switch (spec.kind) {
    case TimeSpec::Kind::kDate: {
      date::local_days day{ymd};
      if (bound == DayBound::kEnd) day += date::days(1);
      return ToSys(date::local_time<milliseconds>(day), tz);
    }
    case TimeSpec::Kind::kLocalDateTime: {
      const date::local_time<milliseconds> local =
          date::local_days{ymd} + hours(spec.hour) + minutes(spec.minute) + seconds(spec.second) +
          date::floor<milliseconds>(nanoseconds(spec.nanosecond));
      return ToSys(local, tz);
    }
    case TimeSpec::Kind::kOffsetDateTime:
      return date::sys_days{ymd} + hours(spec.hour) + minutes(spec.minute) + seconds(spec.second) +
             date::floor<milliseconds>(nanoseconds(spec.nanosecond)) - minutes(spec.offset_minutes);
  }
  return {};
}

ParseResult<TimeSpec> ParseTimeSpec(std::string_view text) { return SpecParser(text).Parse(); }

}  // namespace kpid::rules
