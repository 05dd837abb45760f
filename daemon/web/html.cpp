#include "daemon/web/html.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <variant>

#include <date/date.h>

#include "daemon/api.hpp"
#include "rules/annotation.hpp"

namespace kpid::web {
namespace {

constexpr std::string_view kGroupSeparator = "\u202f";  // narrow no-break space

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Groups the integer digits of a plain decimal ("1234567.5" -> "1 234 567.5"); other
// forms (scientific, short numbers) stay as they are.
std::string GroupDigits(const std::string& number) {
  if (number.find('e') != std::string::npos) return number;
  const std::size_t sign = number.starts_with('-') ? 1 : 0;
  std::size_t end = sign;
  while (end < number.size() && IsDigit(number[end])) ++end;
  const std::size_t digits = end - sign;
  if (digits < 5) return number;
  std::string out = number.substr(0, sign);
  for (std::size_t i = 0; i < digits; ++i) {
    if (i > 0 && (digits - i) % 3 == 0) out += kGroupSeparator;
    out += number[sign + i];
  }
  return out + number.substr(end);
}

}  // namespace

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::string FormatValue(double value, int significant) {
  if (!std::isfinite(value)) return std::string(kNoValue);
  if (value == 0) return "0";
  const double magnitude = std::fabs(value);
  if (magnitude < 1e-4 || magnitude >= 1e15) return rules::FormatNumber(value);
  const int integer_digits = static_cast<int>(std::floor(std::log10(magnitude))) + 1;
  char buffer[64];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed,
                               std::max(0, significant - integer_digits));
  if (r.ec != std::errc()) return rules::FormatNumber(value);
  std::string out(buffer, r.ptr);
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") return "0";
  return GroupDigits(out);
}

std::string FormatCompact(double value) {
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e9 && magnitude < 1e15) return FormatValue(value / 1e9, 3) + "G";
  if (magnitude >= 1e6 && magnitude < 1e9) return FormatValue(value / 1e6, 3) + "M";
  if (magnitude >= 1e4 && magnitude < 1e6) return FormatValue(value / 1e3, 3) + "k";
  return FormatValue(value, 3);
}

std::string FormatQuantity(double value, std::string_view unit, int significant) {
  std::string out = FormatValue(value, significant);
  if (std::isfinite(value) && !unit.empty()) {
    out += ' ';
    out += unit;
  }
  return out;
}

std::string FormatPercent(double ratio) {
  if (!std::isfinite(ratio)) return std::string(kNoValue);
  const double percent = std::round(ratio * 1000) / 10;
  return FormatValue(percent == 0 ? 0.0 : percent) + "\u00a0%";
}

std::string FormatDaysLeft(double days) {
  if (!std::isfinite(days)) return std::string(kNoValue);
  if (days <= 0) return "deadline passed";
  if (days < 1) return "less than 1 day";
  const double whole = std::floor(days);
  return FormatValue(whole) + (whole == 1 ? " day" : " days");
}

std::string FormatRate(double per_day, std::string_view unit) {
  if (!std::isfinite(per_day)) return std::string(kNoValue);
  return (per_day > 0 ? "+" : "") + FormatQuantity(per_day, unit, kRoundedDigits) + " a day";
}

std::string FormatProjectedHit(const KpiView& view, const date::time_zone* zone) {
  const rules::Variables& v = view.evaluation.variables;
  if (v.days_to_target == 0) return "reached";
  if (view.evaluation.projected_hit) {
    const auto t = std::chrono::floor<std::chrono::seconds>(*view.evaluation.projected_hit);
    return (zone != nullptr ? date::format("%F", date::make_zoned(zone, t))
                            : date::format("%F", t)) +
           " at this rate";
  }
  return std::isfinite(v.current_rate) ? "not at this rate" : std::string(kNoValue);
}

std::string FormatTime(TimePoint t, const date::time_zone* zone) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const bool whole_minute =
      seconds.time_since_epoch() % std::chrono::minutes(1) == std::chrono::seconds::zero();
  const char* format = whole_minute ? "%F %R %Z" : "%F %T %Z";
  if (zone == nullptr) return date::format(format, seconds);  // %Z: "UTC"
  return date::format(format, date::make_zoned(zone, seconds));
}

std::string TimeElement(TimePoint t, const date::time_zone* zone) {
  return "<time datetime=\"" + api::FormatTime(t) + "\">" + FormatTime(t, zone) + "</time>";
}

std::string FormatEnd(TimePoint end, const date::time_zone* zone) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(end);
  const auto local = zone != nullptr ? date::make_zoned(zone, seconds).get_local_time()
                                     : date::local_seconds(seconds.time_since_epoch());
  if (local - std::chrono::floor<date::days>(local) != std::chrono::seconds::zero()) {
    return FormatTime(end, zone);
  }
  return date::format("%F", std::chrono::floor<date::days>(local) - date::days(1));
}

std::string EndElement(TimePoint end, const date::time_zone* zone) {
  return "<time datetime=\"" + api::FormatTime(end) + "\">" + FormatEnd(end, zone) + "</time>";
}

StatusInfo StatusOf(const KpiView& view) {
  if (!view.evaluation.judged) return {"pending", "Not judged yet", 7};
  if (!view.evaluation.status) return {"no_goal", "No goal", 6};
  switch (*view.evaluation.status) {
    case rules::Status::kMissed:
      return {"missed", "Missed", 0};
    case rules::Status::kOffTrack:
      return {"off_track", "Off track", 1};
    case rules::Status::kAtRisk:
      return {"at_risk", "At risk", 2};
    case rules::Status::kNoData:
      return {"no_data", "No data", 3};
    case rules::Status::kOnTrack:
      return {"on_track", "On track", 4};
    case rules::Status::kAchieved:
      return {"achieved", "Achieved", 5};
  }
  return {"pending", "Not judged yet", 7};
}

std::string_view StatusWordsOf(std::string_view key) {
  static constexpr std::string_view kWords[] = {"Missed",  "Off track",     "At risk",
                                                "No data", "On track",      "Achieved",
                                                "No goal", "Not judged yet"};
  for (std::size_t i = 0; i < std::size(kStatusKeys); ++i) {
    if (kStatusKeys[i] == key) return kWords[i];
  }
  return key;
}

std::string StatusBadge(const StatusInfo& status) {
  return "<span class=\"badge st-" + std::string(status.key) + "\">" + std::string(status.words) +
         "</span>";
}

std::string_view TitleOf(const KpiView& view) {
  if (view.config == nullptr) return {};
  return view.config->title.empty() ? std::string_view(view.config->name)
                                    : std::string_view(view.config->title);
}

std::string GoalText(const KpiView& view, const date::time_zone* zone) {
  if (!view.spec.goal) return "";
  const std::string_view unit = view.config != nullptr ? view.config->unit : std::string_view();
  if (const auto* d = std::get_if<rules::DeadlineGoal>(&view.spec.goal->kind)) {
    return FormatQuantity(d->target, unit) + " by " + FormatEnd(d->deadline, zone);
  }
  const auto& band = std::get<rules::BandGoal>(view.spec.goal->kind);
  if (band.min && band.max) {
    return "between " + FormatQuantity(*band.min, unit) + " and " + FormatQuantity(*band.max, unit);
  }
  if (band.max) return "at most " + FormatQuantity(*band.max, unit);
  if (band.min) return "at least " + FormatQuantity(*band.min, unit);
  return "";
}

std::string Document(std::string_view title, std::string_view body, std::chrono::seconds refresh) {
  std::string out;
  out.reserve(body.size() + 1024);
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"color-scheme\" content=\"light\">\n<title>";
  AppendEscaped(out, title);
  out +=
      "</title>\n<link rel=\"icon\" href=\"data:,\">\n"
      "<link rel=\"stylesheet\" href=\"/static/kpid.css\">\n"
      "<script src=\"/static/kpid.js\" defer></script>\n";
  if (refresh.count() > 0) {
    out += "<noscript><meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh.count()) +
           "\"></noscript>\n";
  }
  out += "</head>\n<body";
  if (refresh.count() > 0) out += " data-refresh=\"" + std::to_string(refresh.count()) + "\"";
  out += ">\n<a class=\"skip\" href=\"#main-content\">Skip to content</a>\n";
  out += body;
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace kpid::web
