#include "rules/cron.hpp"

#include <array>
#include <charconv>
#include <span>
#include <string>
#include <utility>

#include "rules/local_time.hpp"
#include "rules/parse_text.hpp"

namespace kpid::rules {
namespace {

using internal::DescribeCharAt;
using internal::EqualsIgnoreCase;
using internal::IsAlpha;
using internal::IsBlank;
using internal::IsDigit;

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"sun", "mon", "tue", "wed",
                                                           "thu", "fri", "sat"};

struct Field {
  std::string_view name;
  int low;
  int high;
  // Names for the values low, low + 1, ...; empty if the field takes numbers only.
  std::span<const std::string_view> names;
  std::string_view name_kind;  // "month" in `unknown month "JNA"`
  std::string_view hint;       // what a value may be, e.g. "JAN-DEC or 1-12"
};

constexpr std::array<Field, 5> kFields = {{
    {"minute", 0, 59, {}, {}, "0-59"},
    {"hour", 0, 23, {}, {}, "0-23"},
    {"day-of-month", 1, 31, {}, {}, "1-31"},
    {"month", 1, 12, kMonthNames, "month", "JAN-DEC or 1-12"},
    {"day-of-week", 0, 7, kWeekdayNames, "weekday", "SUN-SAT or 0-7"},
}};

struct Macro {
  std::string_view name;
  std::string_view expansion;
};

constexpr std::array<Macro, 7> kMacros = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

ParseError Error(std::size_t offset, std::string message) {
  return ParseError{offset, std::move(message)};
}

// Parses one field's text (no blanks inside) at `base` in the whole schedule.
class FieldParser {
 public:
  FieldParser(std::string_view text, std::size_t base, const Field& field)
      : text_(text), base_(base), field_(field) {}

  std::variant<std::uint64_t, ParseError> Parse() {
    std::uint64_t mask = 0;
    while (true) {
      const std::size_t item_start = pos_;
      if (AtEnd() || Peek() == ',') {
        return Error(base_ + pos_, "empty list item in " + std::string(field_.name) +
                                       "; expected a value, a range or \"*\"");
      }
      int first = field_.low;
      int last = field_.high;
      bool single = false;
      if (Peek() == '*') {
        ++pos_;
      } else {
        auto value = ParseValue();
        if (auto* error = std::get_if<ParseError>(&value)) return std::move(*error);
        first = std::get<int>(value);
        last = first;
        single = true;
        if (!AtEnd() && Peek() == '-') {
          ++pos_;
          auto end_value = ParseValue();
          if (auto* error = std::get_if<ParseError>(&end_value)) return std::move(*error);
          last = std::get<int>(end_value);
          single = false;
          if (last < first) {
            return Error(base_ + item_start,
                         "range \"" + std::string(text_.substr(item_start, pos_ - item_start)) +
                             "\" in " + std::string(field_.name) +
                             " is reversed; expected start <= end");
          }
        }
      }
      int step = 1;
      if (!AtEnd() && Peek() == '/') {
        ++pos_;
        auto step_value = ParseStep();
        if (auto* error = std::get_if<ParseError>(&step_value)) return std::move(*error);
        step = std::get<int>(step_value);
        if (single) last = field_.high;
      }
      for (int v = first; v <= last; v += step) mask |= std::uint64_t{1} << v;
      if (AtEnd()) break;
      if (Peek() != ',') {
        return Error(base_ + pos_, "unexpected " + DescribeCharAt(text_, pos_) + " in " +
                                       std::string(field_.name) +
                                       "; expected \",\", \"-\" or \"/\"");
      }
      ++pos_;
    }
    return mask;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  std::variant<int, ParseError> ParseValue() {
    const std::size_t start = pos_;
    if (!AtEnd() && IsDigit(Peek())) {
      while (!AtEnd() && IsDigit(Peek())) ++pos_;
      const std::string_view digits = text_.substr(start, pos_ - start);
      int value = 0;
      const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec != std::errc() || value < field_.low || value > field_.high) {
        return Error(base_ + start, std::string(field_.name) + " " + std::string(digits) +
                                        " is out of range; expected " + std::string(field_.hint));
      }
      return value;
    }
    if (!AtEnd() && IsAlpha(Peek())) {
      while (!AtEnd() && IsAlpha(Peek())) ++pos_;
      const std::string_view word = text_.substr(start, pos_ - start);
      for (std::size_t i = 0; i < field_.names.size(); ++i) {
        if (EqualsIgnoreCase(word, field_.names[i])) return field_.low + static_cast<int>(i);
      }
      if (field_.names.empty()) {
        return Error(base_ + start, "unexpected \"" + std::string(word) + "\" in " +
                                        std::string(field_.name) + "; expected a number " +
                                        std::string(field_.hint));
      }
      return Error(base_ + start, "unknown " + std::string(field_.name_kind) + " \"" +
                                      std::string(word) + "\"; expected " +
                                      std::string(field_.hint));
    }
    return Error(base_ + start, "unexpected " + DescribeCharAt(text_, start) + " in " +
                                    std::string(field_.name) + "; expected " +
                                    std::string(field_.hint));
  }

  std::variant<int, ParseError> ParseStep() {
    const std::size_t start = pos_;
    while (!AtEnd() && IsDigit(Peek())) ++pos_;
    const int max_step = field_.high - field_.low;
    const std::string hint = "expected a step from 1 to " + std::to_string(max_step);
    if (pos_ == start) {
      return Error(base_ + start, "unexpected " + DescribeCharAt(text_, start) +
                                      " after \"/\" in " + std::string(field_.name) + "; " + hint);
    }
    const std::string_view digits = text_.substr(start, pos_ - start);
    int value = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || value < 1 || value > max_step) {
      return Error(base_ + start, "step " + std::string(digits) + " in " +
                                      std::string(field_.name) + " is out of range; " + hint);
    }
    return value;
  }

  std::string_view text_;
  std::size_t base_;
  const Field& field_;
  std::size_t pos_ = 0;
};

}  // namespace

ParseResult<CronSchedule> CronSchedule::Parse(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size() && IsBlank(text[pos])) ++pos;
  if (pos == text.size()) {
    return Error(pos, "empty schedule; expected 5 fields or a macro such as @daily");
  }

  if (text[pos] == '@') {
    const std::size_t start = pos;
    while (pos < text.size() && !IsBlank(text[pos])) ++pos;
    const std::string_view word = text.substr(start, pos - start);
    while (pos < text.size() && IsBlank(text[pos])) ++pos;
    for (const Macro& macro : kMacros) {
      if (!EqualsIgnoreCase(word, macro.name)) continue;
      if (pos != text.size()) {
        return Error(pos, "unexpected text after " + std::string(macro.name));
      }
      return Parse(macro.expansion);
    }
    return Error(start, "unknown macro \"" + std::string(word) +
                            "\"; expected @yearly, @annually, @monthly, @weekly, @daily, "
                            "@midnight or @hourly");
  }

  CronSchedule schedule;
  std::array<std::uint64_t*, 5> masks = {&schedule.minutes_, &schedule.hours_,
                                         &schedule.days_of_month_, &schedule.months_,
                                         &schedule.days_of_week_};
  for (std::size_t i = 0; i < kFields.size(); ++i) {
    if (pos == text.size()) {
      return Error(pos, "missing " + std::string(kFields[i].name) +
                            " field; expected 5 fields: minute hour day-of-month month "
                            "day-of-week");
    }
    const std::size_t start = pos;
    while (pos < text.size() && !IsBlank(text[pos])) ++pos;
    const std::string_view field_text = text.substr(start, pos - start);
    auto mask = FieldParser(field_text, start, kFields[i]).Parse();
    if (auto* error = std::get_if<ParseError>(&mask)) return std::move(*error);
    *masks[i] = std::get<std::uint64_t>(mask);
    if (i == 2) schedule.day_of_month_restricted_ = field_text.front() != '*';
    if (i == 4) schedule.day_of_week_restricted_ = field_text.front() != '*';
    while (pos < text.size() && IsBlank(text[pos])) ++pos;
  }
  if (pos != text.size()) {
    return Error(pos, "too many fields; expected 5: minute hour day-of-month month day-of-week");
  }
  // 7 is another name for Sunday.
  if (schedule.days_of_week_ & (std::uint64_t{1} << 7)) {
    schedule.days_of_week_ = (schedule.days_of_week_ & ~(std::uint64_t{1} << 7)) | 1;
  }
  return schedule;
}

bool CronSchedule::MatchesDay(const date::year_month_day& ymd) const {
  const bool dom = (days_of_month_ >> static_cast<unsigned>(ymd.day())) & 1;
  const bool dow = (days_of_week_ >> date::weekday(date::sys_days(ymd)).c_encoding()) & 1;
  if (day_of_month_restricted_ && day_of_week_restricted_) return dom || dow;
  return dom && dow;
}

std::optional<std::chrono::sys_seconds> CronSchedule::Next(std::chrono::sys_seconds after,
                                                           const date::time_zone* tz) const {
  using std::chrono::hours;
  using std::chrono::minutes;
  // Local-to-instant mapping (ToSys) never decreases, so the first candidate at or after the
  // minute following local(after) that maps past `after` is the answer. Candidates that map
  // to or before `after` only occur on the repeated hour of a fall back.
  const date::local_seconds first = date::floor<minutes>(ToLocal(after, tz)) + minutes(1);
  const date::local_days first_day = date::floor<date::days>(first);
  const date::year_month_day first_ymd(first_day);
  const date::year_month first_month = first_ymd.year() / first_ymd.month();

  // The Gregorian calendar, weekdays included, repeats every 400 years: a schedule that
  // matches no day in that span never matches.
  constexpr int kMonthsToSearch = 400 * 12 + 1;
  for (int m = 0; m < kMonthsToSearch; ++m) {
    const date::year_month ym = first_month + date::months(m);
    if (!((months_ >> static_cast<unsigned>(ym.month())) & 1)) continue;
    const unsigned first_dom = m == 0 ? static_cast<unsigned>(first_ymd.day()) : 1;
    const unsigned last_dom = static_cast<unsigned>((ym / date::last).day());
    for (unsigned d = first_dom; d <= last_dom; ++d) {
      const date::year_month_day ymd = ym / date::day(d);
      if (!MatchesDay(ymd)) continue;
      const date::local_days day{ymd};
      for (int h = 0; h < 24; ++h) {
        if (!((hours_ >> h) & 1)) continue;
        for (int mi = 0; mi < 60; ++mi) {
          if (!((minutes_ >> mi) & 1)) continue;
          const date::local_seconds candidate = day + hours(h) + minutes(mi);
          if (candidate < first) continue;
          const std::chrono::sys_seconds instant = ToSys(candidate, tz);
          if (instant > after) return instant;
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace kpid::rules
