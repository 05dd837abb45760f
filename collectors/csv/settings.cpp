#include "collectors/csv/settings.hpp"

#include <array>

#include "daemon/config/reader.hpp"

namespace kpid::collectors::csv {
namespace {

constexpr std::array<std::pair<std::string_view, Aggregate>, 6> kAggregates = {{
    {"last", Aggregate::kLast},
    {"sum", Aggregate::kSum},
    {"avg", Aggregate::kAvg},
    {"min", Aggregate::kMin},
    {"max", Aggregate::kMax},
    {"count", Aggregate::kCount},
}};

std::shared_ptr<const config::KindSettings> ParseSource(config::TableReader& r) {
  auto s = std::make_shared<SourceSettings>();
  if (auto path = r.String("path", config::Need::kRequired)) {
    if (path->empty()) r.Error("path", "\"path\" must not be empty");
    s->path = std::move(*path);
  }
  if (auto delimiter = r.Raw("delimiter")) {
    if (*delimiter == "\\t" || *delimiter == "\t") {
      s->delimiter = '\t';
    } else if (delimiter->size() == 1 && (*delimiter)[0] != '"' && (*delimiter)[0] != '\n' &&
               (*delimiter)[0] != '\r') {
      s->delimiter = (*delimiter)[0];
    } else {
      r.Error("delimiter", "\"delimiter\" must be one character other than a quote or newline");
    }
  }
  return s;
}

std::shared_ptr<const config::KindSettings> ParseKpi(config::TableReader& r,
                                                     const config::Source&) {
  auto k = std::make_shared<KpiSettings>();
  k->column = r.Raw("column", config::Need::kRequired).value_or("");
  if (auto where = r.StringTable("where", false)) k->where = std::move(*where);
  k->timestamp_column = r.Raw("timestamp_column").value_or("");
  if (auto aggregate = r.Raw("aggregate")) {
    bool known = false;
    for (const auto& [name, value] : kAggregates) {
      if (name == *aggregate) {
        k->aggregate = value;
        known = true;
      }
    }
    if (!known) {
      r.Error("aggregate", "unknown aggregate \"" + *aggregate +
                               "\"; expected last, sum, avg, min, max or count");
    }
  }
  return k;
}

}  // namespace

config::SourceKind Kind() { return {ParseSource, ParseKpi}; }

}  // namespace kpid::collectors::csv
