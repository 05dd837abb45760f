#include "collectors/registry.hpp"

#include "collectors/csv/settings.hpp"
#include "collectors/http/settings.hpp"
#include "collectors/sql/settings.hpp"

namespace kpid::collectors {

std::vector<std::pair<std::string, config::SourceKind>> ConfigKinds() {
  return {
      {"sql", sql::Kind()},
      {"http", http::Kind()},
      {"csv", csv::Kind()},
  };
}

}  // namespace kpid::collectors
