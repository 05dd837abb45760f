#include "rules/active_time.hpp"

#include <algorithm>
#include <optional>
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

constexpr int kMinutesPerDay = 24 * 60;

// Index 0 is Sunday, as in date::weekday::c_encoding.
constexpr std::array<std::string_view, 7> kWeekdays = {"sun", "mon", "tue", "wed",
                                                       "thu", "fri", "sat"};

struct Token {
  enum class Kind { kName, kTime, kDash, kComma, kSemicolon, kEnd, kOther };
  Kind kind;
  std::size_t offset;
  std::string_view text;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) { Advance(); }

  const Token& Peek() const { return current_; }

  Token Take() {
    Token taken = current_;
    Advance();
    return taken;
  }

 private:
  void Advance() {
    while (pos_ < text_.size() && IsBlank(text_[pos_])) ++pos_;
    const std::size_t start = pos_;
    if (pos_ == text_.size()) {
      current_ = {Token::Kind::kEnd, start, {}};
      return;
    }
    const char c = text_[pos_];
    Token::Kind kind = Token::Kind::kOther;
    if (IsAlpha(c)) {
      while (pos_ < text_.size() && IsAlpha(text_[pos_])) ++pos_;
      kind = Token::Kind::kName;
    } else if (IsDigit(c)) {
      // Digits and colons; TakeTime() checks the shape.
      while (pos_ < text_.size() && (IsDigit(text_[pos_]) || text_[pos_] == ':')) ++pos_;
      kind = Token::Kind::kTime;
    } else {
      ++pos_;
      if (c == '-') kind = Token::Kind::kDash;
      if (c == ',') kind = Token::Kind::kComma;
      if (c == ';') kind = Token::Kind::kSemicolon;
    }
    current_ = {kind, start, text_.substr(start, pos_ - start)};
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  Token current_{Token::Kind::kEnd, 0, {}};
};

ParseError Error(std::size_t offset, std::string message) {
  return ParseError{offset, std::move(message)};
}

std::string Unexpected(std::string_view text, const Token& token) {
  if (token.kind == Token::Kind::kName || token.kind == Token::Kind::kTime) {
    return "unexpected \"" + std::string(token.text) + "\"";
  }
  return "unexpected " + DescribeCharAt(text, token.offset);
}

std::optional<int> WeekdayIndex(std::string_view name) {
  for (std::size_t i = 0; i < kWeekdays.size(); ++i) {
    if (EqualsIgnoreCase(name, kWeekdays[i])) return static_cast<int>(i);
  }
  return std::nullopt;
}

// "H:MM" or "HH:MM" as minutes after midnight; 24:00 only if `is_end`.
std::variant<int, ParseError> ParseClock(const Token& token, bool is_end) {
  const std::string_view s = token.text;
  const std::size_t colon = s.find(':');
  const bool shaped = colon != std::string_view::npos && (colon == 1 || colon == 2) &&
                      s.size() == colon + 3 && IsDigit(s[colon + 1]) && IsDigit(s[colon + 2]);
  if (!shaped) {
    return Error(token.offset, "invalid time \"" + std::string(s) + "\"; expected HH:MM");
  }
  int hour = 0;
  for (std::size_t i = 0; i < colon; ++i) hour = hour * 10 + (s[i] - '0');
  const int minute = (s[colon + 1] - '0') * 10 + (s[colon + 2] - '0');
  const int total = hour * 60 + minute;
  if (minute > 59 || total > kMinutesPerDay || (total == kMinutesPerDay && !is_end)) {
    return Error(token.offset, "time \"" + std::string(s) + "\" is out of range; expected " +
                                   (is_end ? "00:01 to 24:00" : "00:00 to 23:59"));
  }
  return total;
}

}  // namespace

ParseResult<ActiveTime> ActiveTime::Parse(std::string_view text) {
  Lexer lexer(text);
  if (lexer.Peek().kind == Token::Kind::kEnd) {
    return Error(lexer.Peek().offset,
                 "empty active time; expected weekdays, times or both, e.g. "
                 "\"Mon-Fri 08:00-18:00\"");
  }
  ActiveTime result;
  while (true) {
    // One clause: [weekdays] [windows].
    std::array<bool, 7> days{};
    bool has_days = false;
    if (lexer.Peek().kind == Token::Kind::kName) {
      has_days = true;
      while (true) {
        const Token first = lexer.Take();
        const auto first_day = WeekdayIndex(first.text);
        if (!first_day) {
          return Error(first.offset,
                       "unknown weekday \"" + std::string(first.text) + "\"; expected Mon..Sun");
        }
        int last_day = *first_day;
        if (lexer.Peek().kind == Token::Kind::kDash) {
          lexer.Take();
          const Token last = lexer.Take();
          if (last.kind != Token::Kind::kName) {
            return Error(last.offset, Unexpected(text, last) + " after \"" +
                                          std::string(first.text) + "-\"; expected a weekday");
          }
          const auto day = WeekdayIndex(last.text);
          if (!day) {
            return Error(last.offset,
                         "unknown weekday \"" + std::string(last.text) + "\"; expected Mon..Sun");
          }
          last_day = *day;
        }
        // Ranges run forward through the week and may wrap past Sunday.
        for (int d = *first_day;; d = (d + 1) % 7) {
          days[static_cast<std::size_t>(d)] = true;
          if (d == last_day) break;
        }
        if (lexer.Peek().kind != Token::Kind::kComma) break;
        lexer.Take();
        if (lexer.Peek().kind != Token::Kind::kName) {
          return Error(lexer.Peek().offset,
                       Unexpected(text, lexer.Peek()) + " after \",\"; expected a weekday");
        }
      }
    } else {
      days.fill(true);
    }

    std::vector<Window> windows;
    if (lexer.Peek().kind == Token::Kind::kTime) {
      while (true) {
        const Token start = lexer.Take();
        auto begin = ParseClock(start, /*is_end=*/false);
        if (auto* error = std::get_if<ParseError>(&begin)) return std::move(*error);
        if (lexer.Peek().kind != Token::Kind::kDash) {
          return Error(lexer.Peek().offset, Unexpected(text, lexer.Peek()) + " after \"" +
                                                std::string(start.text) +
                                                "\"; expected \"-\" and an end time");
        }
        lexer.Take();
        const Token stop = lexer.Take();
        if (stop.kind != Token::Kind::kTime) {
          return Error(stop.offset,
                       Unexpected(text, stop) + " after \"-\"; expected an end time HH:MM");
        }
        auto end = ParseClock(stop, /*is_end=*/true);
        if (auto* error = std::get_if<ParseError>(&end)) return std::move(*error);
        if (std::get<int>(end) <= std::get<int>(begin)) {
          return Error(stop.offset, "end " + std::string(stop.text) + " is not after start " +
                                        std::string(start.text) +
                                        "; split a window over midnight into two, e.g. "
                                        "\"Mon 22:00-24:00; Tue 00:00-06:00\"");
        }
        windows.push_back({std::get<int>(begin), std::get<int>(end)});
        if (lexer.Peek().kind != Token::Kind::kComma) break;
        lexer.Take();
        if (lexer.Peek().kind != Token::Kind::kTime) {
          return Error(lexer.Peek().offset,
                       Unexpected(text, lexer.Peek()) + " after \",\"; expected a time HH:MM");
        }
      }
    } else if (!has_days) {
      const Token& bad = lexer.Peek();
      const std::string what = bad.kind == Token::Kind::kSemicolon || bad.kind == Token::Kind::kEnd
                                   ? std::string("empty clause")
                                   : Unexpected(text, bad);
      return Error(bad.offset, what + "; expected weekdays like Mon-Fri or times like 08:00-18:00");
    } else {
      windows.push_back({0, kMinutesPerDay});
    }

    for (std::size_t d = 0; d < days.size(); ++d) {
      if (!days[d]) continue;
      result.windows_[d].insert(result.windows_[d].end(), windows.begin(), windows.end());
    }

    const Token& next = lexer.Peek();
    if (next.kind == Token::Kind::kEnd) break;
    if (next.kind != Token::Kind::kSemicolon) {
      return Error(next.offset, Unexpected(text, next) + "; expected \";\" or the end");
    }
    lexer.Take();
  }

  for (auto& day : result.windows_) {
    std::sort(day.begin(), day.end(),
              [](const Window& a, const Window& b) { return a.begin < b.begin; });
    std::vector<Window> merged;
    for (const Window& w : day) {
      if (!merged.empty() && w.begin <= merged.back().end) {
        merged.back().end = std::max(merged.back().end, w.end);
      } else {
        merged.push_back(w);
      }
    }
    day = std::move(merged);
  }
  return result;
}

bool ActiveTime::ContainsLocal(date::local_seconds local) const {
  const date::local_days day = date::floor<date::days>(local);
  const auto weekday = date::weekday(day).c_encoding();
  const auto second_of_day = (local - day).count();
  const auto& windows = windows_[weekday];
  return std::any_of(windows.begin(), windows.end(), [&](const Window& w) {
    return second_of_day >= 60L * w.begin && second_of_day < 60L * w.end;
  });
}

bool ActiveTime::Contains(std::chrono::sys_seconds t, const date::time_zone* tz) const {
  return ContainsLocal(ToLocal(t, tz));
}

std::chrono::sys_seconds ActiveTime::NextOpen(std::chrono::sys_seconds t,
                                              const date::time_zone* tz) const {
  if (Contains(t, tz)) return t;
  // Whether an instant is inside can only change from outside to inside where the local
  // time reaches a window start (once, twice on fall back, or at the end of a gap) or at a
  // zone transition (fall back may jump back into a window). Check those instants in order,
  // two weeks at a time.
  constexpr date::days kSpan(14);
  constexpr date::days kHorizon(366);
  for (std::chrono::sys_seconds from = t; from < t + kHorizon; from += kSpan) {
    const std::chrono::sys_seconds to = from + kSpan;
    std::vector<std::chrono::sys_seconds> candidates;
    auto add = [&](std::chrono::sys_seconds c) {
      if (c > from && c <= to) candidates.push_back(c);
    };
    const date::local_days first_day = date::floor<date::days>(ToLocal(from, tz)) - date::days(1);
    const date::local_days last_day = date::floor<date::days>(ToLocal(to, tz)) + date::days(1);
    for (date::local_days day = first_day; day <= last_day; day += date::days(1)) {
      for (const Window& w : windows_[date::weekday(day).c_encoding()]) {
        const date::local_seconds start = day + std::chrono::minutes(w.begin);
        if (tz == nullptr) {
          add(std::chrono::sys_seconds(start.time_since_epoch()));
          continue;
        }
        const date::local_info info = tz->get_info(start);
        switch (info.result) {
          case date::local_info::unique:
            add(std::chrono::sys_seconds(start.time_since_epoch()) - info.first.offset);
            break;
          case date::local_info::ambiguous:
            add(std::chrono::sys_seconds(start.time_since_epoch()) - info.first.offset);
            add(std::chrono::sys_seconds(start.time_since_epoch()) - info.second.offset);
            break;
          case date::local_info::nonexistent:
            add(info.first.end);
            break;
        }
      }
    }
    if (tz != nullptr) {
      for (date::sys_info info = tz->get_info(from); info.end <= to;
           info = tz->get_info(info.end)) {
        add(info.end);
      }
    }
    std::sort(candidates.begin(), candidates.end());
    for (std::chrono::sys_seconds c : candidates) {
      if (Contains(c, tz)) return c;
    }
  }
  return std::chrono::sys_seconds::max();
}

}  // namespace kpid::rules
