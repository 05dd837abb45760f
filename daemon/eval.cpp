#include "daemon/eval.hpp"

#include <iomanip>
#include <map>
#include <sstream>

#include <date/date.h>
#include <nlohmann/json.hpp>

#include "daemon/collection.hpp"
#include "rules/expression.hpp"

namespace kpid {
namespace {

struct Row {
  std::string kpi;
  std::string source;  // "expr" for derived KPIs
  std::optional<collectors::Sample> sample;
  std::optional<collectors::CollectError> error;
  double seconds = 0;
};

std::string FormatTime(collectors::Clock::time_point t) {
  return date::format("%FT%TZ", std::chrono::floor<std::chrono::seconds>(t));
}

std::string FormatValue(double v) {
  std::ostringstream s;
  s << std::setprecision(15) << v;
  return s.str();
}

// Derived KPIs, in the config's dependency order, from the values collected so far.
void Derive(const config::Config& config, std::map<std::string, Row>& rows) {
  std::vector<std::string> names;
  for (const config::Kpi& k : config.kpis) names.push_back(k.name);
  rules::VariableSet vars(names);
  for (const auto& [name, row] : rows) {
    if (row.sample) vars.Set(name, row.sample->value);
  }
  for (const config::Kpi& k : config.kpis) {
    if (!k.expr) continue;
    Row row{k.name, "expr", std::nullopt, std::nullopt, 0};
    auto compiled = rules::Expression::Compile(k.expr->text, vars);
    if (auto* parse_error = std::get_if<rules::ParseError>(&compiled)) {
      row.error = collectors::CollectError{collectors::ErrorKind::kInternal, parse_error->message};
    } else {
      auto value = std::get<rules::Expression>(compiled).Evaluate();
      if (auto* v = std::get_if<double>(&value)) {
        row.sample = collectors::Sample{*v, collectors::Clock::now()};
        vars.Set(k.name, *v);
      } else {
        row.error = collectors::CollectError{
            collectors::ErrorKind::kEmpty,
            "expression \"" + k.expr->text + "\": " + std::get<std::string>(value)};
      }
    }
    rows[k.name] = std::move(row);
  }
}

void PrintTable(const config::Config& config, const std::map<std::string, Row>& rows,
                std::ostream& out) {
  std::vector<std::array<std::string, 5>> table = {
      {"KPI", "VALUE", "TIMESTAMP", "SOURCE", "ERROR"}};
  for (const config::Kpi& k : config.kpis) {
    auto it = rows.find(k.name);
    if (it == rows.end()) continue;
    const Row& r = it->second;
    table.push_back(
        {r.kpi, r.sample ? FormatValue(r.sample->value) : "-",
         r.sample ? FormatTime(r.sample->timestamp) : "-", r.source,
         r.error ? std::string(collectors::ErrorKindName(r.error->kind)) + ": " + r.error->message
                 : ""});
  }
  std::array<std::size_t, 5> width{};
  for (const auto& line : table) {
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  for (const auto& line : table) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      out << line[i];
      if (i + 1 < line.size()) out << std::string(width[i] - line[i].size() + 2, ' ');
    }
    out << '\n';
  }
}

void PrintJson(const config::Config& config, const std::map<std::string, Row>& rows,
               std::ostream& out) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const config::Kpi& k : config.kpis) {
    auto it = rows.find(k.name);
    if (it == rows.end()) continue;
    const Row& r = it->second;
    nlohmann::ordered_json j;
    j["kpi"] = r.kpi;
    j["source"] = r.source;
    j["value"] = r.sample ? nlohmann::ordered_json(r.sample->value) : nullptr;
    j["timestamp"] = r.sample ? nlohmann::ordered_json(FormatTime(r.sample->timestamp)) : nullptr;
    if (r.error) {
      j["error"] = {{"kind", collectors::ErrorKindName(r.error->kind)},
                    {"message", r.error->message}};
    } else {
      j["error"] = nullptr;
    }
    j["duration_seconds"] = r.seconds;
    list.push_back(std::move(j));
  }
  out << list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

}  // namespace

int RunEval(const config::Config& config, const std::string& only_kpi, EvalFormat format,
            std::ostream& out, std::ostream& err) {
  if (!only_kpi.empty() && config.FindKpi(only_kpi) == nullptr) {
    err << "kpid eval: no KPI named \"" << only_kpi << "\" in " << config.path << '\n';
    return 1;
  }
  boost::asio::io_context io;
  prometheus::Registry registry;
  Collection collection(io, registry);
  std::map<std::string, Row> rows;
  std::size_t expected = 0;
  collection.SetObserver([&](const Collection::Outcome& o) {
    Row row{o.kpi, o.source, std::nullopt, std::nullopt,
            std::chrono::duration<double>(o.took).count()};
    if (const auto* sample = std::get_if<collectors::Sample>(&o.result)) {
      row.sample = *sample;
    } else {
      row.error = std::get<collectors::CollectError>(o.result);
    }
    rows[o.kpi] = std::move(row);
    if (rows.size() == expected) io.stop();
  });
  collection.Apply(config, nullptr);
  // A derived KPI needs the KPIs it reads: with --kpi on a derived KPI, collect them all.
  const config::Kpi* selected = only_kpi.empty() ? nullptr : config.FindKpi(only_kpi);
  bool all = selected == nullptr || selected->expr.has_value();
  for (const config::Kpi& k : config.kpis) {
    if (k.source.empty() || (!all && k.name != only_kpi)) continue;
    ++expected;
  }
  for (const config::Kpi& k : config.kpis) {
    if (k.source.empty() || (!all && k.name != only_kpi)) continue;
    collection.CollectNow(k.name);
  }
  if (expected > 0) io.run();
  collection.Stop();
  Derive(config, rows);
  if (selected != nullptr) {
    Row row = rows[only_kpi];
    rows = {{only_kpi, std::move(row)}};
  }
  if (format == EvalFormat::kJson) {
    PrintJson(config, rows, out);
  } else {
    PrintTable(config, rows, out);
  }
  bool failed =
      std::any_of(rows.begin(), rows.end(), [](const auto& r) { return !r.second.sample; });
  return failed ? 1 : 0;
}

}  // namespace kpid
