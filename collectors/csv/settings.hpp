// Keys of a `type = "csv"` source and of the KPIs that use it (see sample.toml).
#pragma once

#include <string>

#include "daemon/config/config.hpp"

namespace kpid::collectors::csv {

enum class Aggregate { kLast, kSum, kAvg, kMin, kMax, kCount };

struct SourceSettings : config::KindSettings {
  std::string path;
  char delimiter = ',';
};

struct KpiSettings : config::KindSettings {
  std::string column;            // the value column (header name)
  config::StringPairs where;     // keep rows whose columns equal these values
  std::string timestamp_column;  // optional: enables history
  Aggregate aggregate = Aggregate::kLast;
};

config::SourceKind Kind();

}  // namespace kpid::collectors::csv
