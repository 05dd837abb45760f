#include "collectors/registry.hpp"

#include "collectors/csv/collector.hpp"
#include "collectors/csv/settings.hpp"
#include "collectors/http/collector.hpp"
#include "collectors/http/settings.hpp"
#include "collectors/sql/collector.hpp"
#include "collectors/sql/settings.hpp"

namespace kpid::collectors {

const std::vector<Kind>& Kinds() {
  static const std::vector<Kind> kinds = {
      {"sql", sql::Kind(), sql::Make},
      {"http", http::Kind(), http::Make},
      {"csv", csv::Kind(), csv::Make},
  };
  return kinds;
}

const Kind* FindKind(std::string_view name) {
  for (const Kind& kind : Kinds()) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

std::vector<std::pair<std::string, config::SourceKind>> ConfigKinds() {
  std::vector<std::pair<std::string, config::SourceKind>> out;
  for (const Kind& kind : Kinds()) out.emplace_back(kind.name, kind.config);
  return out;
}

}  // namespace kpid::collectors
