#include "daemon/config/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace kpid::config {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t millis;
};

// Order matters for parsing: "ms" must be tried before "m". Units must appear in
// decreasing size, each at most once, as in Prometheus.
constexpr std::array<Unit, 7> kUnits = {{
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600 * 1000LL},
    {"ms", 1},
    {"m", 60 * 1000LL},
    {"s", 1000},
    {"y", 365LL * 24 * 3600 * 1000},
}};

int Rank(std::string_view suffix) {
  // Size order for the "decreasing units" rule.
  static constexpr std::array<std::string_view, 7> kOrder = {"y", "w", "d", "h", "m", "s", "ms"};
  for (std::size_t i = 0; i < kOrder.size(); ++i) {
    if (kOrder[i] == suffix) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text) {
  if (text == "0") return Duration::zero();
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  int last_rank = -1;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (number > (std::numeric_limits<std::int64_t>::max() - 9) / 10) return std::nullopt;
      number = number * 10 + (text[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(i, u.suffix.size()) == u.suffix) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return std::nullopt;
    i += unit->suffix.size();
    int rank = Rank(unit->suffix);
    if (rank <= last_rank) return std::nullopt;
    last_rank = rank;
    if (number > (std::numeric_limits<std::int64_t>::max() - total) / unit->millis) {
      return std::nullopt;
    }
    total += number * unit->millis;
  }
  if (total > kMaxDuration.count()) return std::nullopt;
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  static constexpr std::array<Unit, 5> kFormatUnits = {{
      {"d", 24LL * 3600 * 1000},
      {"h", 3600 * 1000LL},
      {"m", 60 * 1000LL},
      {"s", 1000},
      {"ms", 1},
  }};
  for (const Unit& u : kFormatUnits) {
    if (ms >= u.millis) {
      out += std::to_string(ms / u.millis);
      out += u.suffix;
      ms %= u.millis;
    }
  }
  return out;
}

}  // namespace kpid::config
