#include "rules/annotation.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>

namespace kpid::rules {
namespace {

// Drops trailing zeros of the fraction in [begin, end) (and the point if nothing is left
// after it); returns the new end.
char* TrimFraction(char* begin, char* end) {
  char* point = std::find(begin, end, '.');
  if (point == end) return end;
  while (end > point + 1 && end[-1] == '0') --end;
  if (end == point + 1) --end;
  return end;
}

}  // namespace

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "n/a";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0) return "0";
  const double magnitude = std::fabs(value);
  char buffer[64];
  char* const end = buffer + sizeof buffer;
  if (magnitude < 1e-4 || magnitude >= 1e15) {
    const std::to_chars_result r =
        std::to_chars(buffer, end, value, std::chars_format::scientific, 5);
    if (r.ec != std::errc()) return "n/a";
    char* const exponent = std::find(buffer, r.ptr, 'e');
    char* const mantissa_end = TrimFraction(buffer, exponent);
    return std::string(buffer, mantissa_end) + std::string(exponent, r.ptr);
  }
  const int integer_digits = static_cast<int>(std::floor(std::log10(magnitude))) + 1;
  const int decimals = std::max(0, 6 - integer_digits);
  const std::to_chars_result r =
      std::to_chars(buffer, end, value, std::chars_format::fixed, decimals);
  if (r.ec != std::errc()) return "n/a";
  return {buffer, TrimFraction(buffer, r.ptr)};
}

std::string RenderAnnotation(const Template& text, const AnnotationContext& context) {
  return text.Render([&](std::string_view name) -> std::optional<std::string> {
    if (name == "kpi") return std::string(context.kpi);
    if (name == "title") return std::string(context.title);
    if (name == "unit") return std::string(context.unit);
    if (name == "owner") return std::string(context.owner);
    if (name == "alert") return std::string(context.alert);
    if (name == "rule") return std::string(context.rule);
    if (name == "status") {
      if (!context.status) return std::nullopt;
      return std::string(StatusName(*context.status));
    }
    if (name == "severity") {
      if (!context.severity) return std::nullopt;
      return std::string(SeverityName(*context.severity));
    }
    if (name == "labels") {
      if (context.labels == nullptr) return std::nullopt;
      std::string all;
      for (const auto& [label, value] : *context.labels) {
        if (!all.empty()) all += ", ";
        all += label + "=" + value;
      }
      return all;
    }
    if (context.variables != nullptr) {
      if (std::optional<double> v = VariableByName(*context.variables, name)) {
        return FormatNumber(*v);
      }
    }
    if (context.others != nullptr) {
      if (std::optional<double> v = context.others->Get(name)) return FormatNumber(*v);
    }
    if (context.labels != nullptr) {
      for (const auto& [label, value] : *context.labels) {
        if (label == name) return value;
      }
    }
    return std::nullopt;
  });
}

}  // namespace kpid::rules
