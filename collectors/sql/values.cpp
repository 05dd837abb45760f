#include "collectors/sql/values.hpp"

#include <charconv>
#include <cmath>
#include <ctime>

namespace kpid::collectors::sql {
namespace {

using std::chrono::days;
using std::chrono::duration_cast;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::size_t kQuoteLimit = 40;

std::string Quote(std::string_view text) {
  std::string out = "\"";
  out += text.substr(0, kQuoteLimit);
  if (text.size() > kQuoteLimit) out += "...";
  return out + "\"";
}

std::string_view TypeName(soci::data_type type) {
  switch (type) {
    case soci::dt_string:
      return "text";
    case soci::dt_date:
      return "date/time";
    case soci::dt_double:
      return "float";
    case soci::dt_integer:
    case soci::dt_long_long:
    case soci::dt_unsigned_long_long:
      return "integer";
    case soci::dt_blob:
      return "blob";
    case soci::dt_xml:
      return "xml";
  }
  return "unknown";
}

Failure Bad(std::string detail) { return {ErrorKind::kParse, std::move(detail)}; }

std::optional<Clock::time_point> FromTm(const std::tm& tm) {
  std::chrono::year_month_day ymd{std::chrono::year(tm.tm_year + 1900),
                                  std::chrono::month(static_cast<unsigned>(tm.tm_mon + 1)),
                                  std::chrono::day(static_cast<unsigned>(tm.tm_mday))};
  if (!ymd.ok()) return std::nullopt;
  return Clock::time_point(std::chrono::sys_days(ymd).time_since_epoch() + hours(tm.tm_hour) +
                           minutes(tm.tm_min) + seconds(tm.tm_sec));
}

std::optional<Clock::time_point> FromEpochSeconds(double s) {
  // Beyond ±10,000 years it is not a timestamp (and would overflow time_point).
  if (!std::isfinite(s) || std::fabs(s) > 3.2e11) return std::nullopt;
  return Clock::time_point(duration_cast<Clock::duration>(std::chrono::duration<double>(s)));
}

// Reads exactly `n` digits.
bool Digits(std::string_view& s, std::size_t n, int& out) {
  if (s.size() < n) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  s.remove_prefix(n);
  return true;
}

bool Take(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<double> ParseNumber(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.starts_with('+')) text.remove_prefix(1);
  if (text.empty() || text.front() == '+') return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<Clock::time_point> ParseIsoTime(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(s, 4, year) || !Take(s, '-') || !Digits(s, 2, month) || !Take(s, '-') ||
      !Digits(s, 2, day)) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(year),
                                  std::chrono::month(static_cast<unsigned>(month)),
                                  std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  Clock::duration frac{0};
  if (!s.empty() && (s.front() == 'T' || s.front() == 't' || s.front() == ' ')) {
    s.remove_prefix(1);
    if (!Digits(s, 2, hour) || !Take(s, ':') || !Digits(s, 2, minute)) return std::nullopt;
    if (Take(s, ':')) {
      if (!Digits(s, 2, second)) return std::nullopt;
      if (Take(s, '.') || Take(s, ',')) {
        double scale = 0.1, f = 0;
        std::size_t n = 0;
        while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
          f += (s.front() - '0') * scale;
          scale /= 10;
          s.remove_prefix(1);
          ++n;
        }
        if (n == 0) return std::nullopt;
        frac = duration_cast<Clock::duration>(std::chrono::duration<double>(f));
      }
    }
    if (hour > 24 || minute > 59 || second > 60) return std::nullopt;
  }
  minutes offset{0};
  if (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (Take(s, 'Z') || Take(s, 'z')) {
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh = 0, om = 0;
    if (!Digits(s, 2, oh)) return std::nullopt;
    // Minutes are optional, with or without a colon: +02, +0200, +02:00.
    if ((Take(s, ':') || !s.empty()) && !Digits(s, 2, om)) return std::nullopt;
    offset = sign * (hours(oh) + minutes(om));
  }
  if (!s.empty()) return std::nullopt;
  return Clock::time_point(std::chrono::sys_days(ymd).time_since_epoch() + hours(hour) +
                           minutes(minute) + seconds(second) - offset) +
         frac;
}

Cell CellAt(const soci::row& row, std::size_t column) {
  if (row.get_indicator(column) == soci::i_null) return NullCell{};
  soci::data_type type = row.get_properties(column).get_data_type();
  switch (type) {
    case soci::dt_integer:
      return static_cast<long long>(row.get<int>(column));
    case soci::dt_long_long:
      return row.get<long long>(column);
    case soci::dt_unsigned_long_long:
      return row.get<unsigned long long>(column);
    case soci::dt_double:
      return row.get<double>(column);
    case soci::dt_string:
      return row.get<std::string>(column);
    case soci::dt_date:
      return row.get<std::tm>(column);
    case soci::dt_blob:
    case soci::dt_xml:
      break;
  }
  return OtherCell{std::string(TypeName(type))};
}

std::variant<double, Failure> ToNumber(const Cell& cell) {
  struct Visitor {
    std::variant<double, Failure> operator()(NullCell) const {
      return Failure{ErrorKind::kEmpty, "NULL value"};
    }
    std::variant<double, Failure> operator()(long long v) const { return static_cast<double>(v); }
    std::variant<double, Failure> operator()(unsigned long long v) const {
      return static_cast<double>(v);
    }
    std::variant<double, Failure> operator()(double v) const {
      if (!std::isfinite(v)) return Bad("value " + std::to_string(v) + " is not finite");
      return v;
    }
    std::variant<double, Failure> operator()(const std::string& text) const {
      if (auto value = ParseNumber(text)) return *value;
      return Bad("text " + Quote(text) + " is not a number");
    }
    std::variant<double, Failure> operator()(const std::tm&) const {
      return Bad("a date/time column is not a number");
    }
    std::variant<double, Failure> operator()(const OtherCell& other) const {
      return Bad("a " + other.type + " column is not a number");
    }
  };
  return std::visit(Visitor{}, cell);
}

std::variant<Clock::time_point, Failure> ToTimestamp(const Cell& cell) {
  struct Visitor {
    std::optional<Clock::time_point> operator()(NullCell) const { return std::nullopt; }
    std::optional<Clock::time_point> operator()(long long v) const {
      return FromEpochSeconds(static_cast<double>(v));
    }
    std::optional<Clock::time_point> operator()(unsigned long long v) const {
      return FromEpochSeconds(static_cast<double>(v));
    }
    std::optional<Clock::time_point> operator()(double v) const { return FromEpochSeconds(v); }
    std::optional<Clock::time_point> operator()(const std::string& text) const {
      if (auto t = ParseIsoTime(text)) return t;
      if (auto n = ParseNumber(text)) return FromEpochSeconds(*n);
      return std::nullopt;
    }
    std::optional<Clock::time_point> operator()(const std::tm& tm) const { return FromTm(tm); }
    std::optional<Clock::time_point> operator()(const OtherCell&) const { return std::nullopt; }
  };
  if (std::holds_alternative<NullCell>(cell)) return Failure{ErrorKind::kEmpty, "NULL timestamp"};
  if (auto t = std::visit(Visitor{}, cell)) return *t;
  if (const auto* text = std::get_if<std::string>(&cell)) {
    return Bad("timestamp " + Quote(*text) + " is neither ISO 8601 nor epoch seconds");
  }
  if (const auto* other = std::get_if<OtherCell>(&cell)) {
    return Bad("a " + other->type + " column is not a timestamp");
  }
  return Bad("timestamp out of range");
}

}  // namespace kpid::collectors::sql
