#include "daemon/config/diagnostics.hpp"

#include <algorithm>

#include <toml++/toml.h>

namespace kpid::config {

Location LocationOf(const toml::source_region& region) {
  return {static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

std::string Diagnostic::ToString() const {
  if (where.line == 0) return file + ": " + message;
  return file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
         message;
}

void Diagnostics::Error(Location where, std::string message) {
  errors_.push_back({file_, where, std::move(message)});
}

std::vector<Diagnostic> Diagnostics::Sorted() const {
  std::vector<Diagnostic> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.where.line != b.where.line) return a.where.line < b.where.line;
    return a.where.column < b.where.column;
  });
  return sorted;
}

}  // namespace kpid::config
