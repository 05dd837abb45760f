#include "daemon/eval.hpp"

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "daemon/api.hpp"
#include "daemon/collection.hpp"
#include "daemon/engine.hpp"
#include "daemon/persistence.hpp"
#include "rules/annotation.hpp"

namespace kpid {
namespace {

std::string Percent(double ratio) {
  if (std::isnan(ratio)) return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << ratio * 100 << '%';
  return out.str();
}

std::string Number(double v) { return std::isnan(v) ? "-" : rules::FormatNumber(v); }

std::string Days(double days) {
  if (std::isnan(days)) return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << days;
  return out.str();
}

void PrintTable(const std::vector<const KpiView*>& views, std::ostream& out) {
  std::vector<std::array<std::string, 9>> table = {
      {"KPI", "VALUE", "STATUS", "PROGRESS", "EXPECTED", "GAP", "FORECAST", "DAYS_LEFT", "ERROR"}};
  for (const KpiView* view : views) {
    const rules::Variables& v = view->evaluation.variables;
    table.push_back(
        {view->config->name, view->latest ? rules::FormatNumber(view->latest->value) : "-",
         view->evaluation.status ? std::string(rules::StatusName(*view->evaluation.status)) : "-",
         Percent(v.progress), Number(v.expected), Percent(v.gap), Number(v.forecast),
         Days(v.days_left),
         view->last_error ? std::string(collectors::ErrorKindName(view->last_error->kind)) + ": " +
                                view->last_error->message
                          : ""});
  }
  std::array<std::size_t, 9> width{};
  for (const auto& line : table) {
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  for (const auto& line : table) {
    std::string text;
    for (std::size_t i = 0; i < line.size(); ++i) {
      text += line[i];
      if (i + 1 < line.size()) text += std::string(width[i] - line[i].size() + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << '\n';
  }
}

// Seeds the engine from the daemon's store, read-only, so that forecasts and 7-day
// figures match the running service. A missing store is fine: eval then has no history.
void SeedFromStore(const config::Config& config, Engine& engine, TimePoint now, std::ostream& err) {
  const std::string& path = config.storage.path;
  if (path == ":memory:" || !std::filesystem::exists(path)) return;
  auto opened = store::Store::Open(path, store::Mode::kReadOnly);
  if (auto* error = std::get_if<store::Error>(&opened)) {
    err << "kpid eval: no history (forecast, 7-day figures): " << error->message << '\n';
    return;
  }
  const auto& store = std::get<std::unique_ptr<store::Store>>(opened);
  std::vector<std::string> names;
  for (const KpiView& view : engine.kpis()) {
    const std::string& name = view.config->name;
    names.push_back(name);
    auto samples = store->Samples(name, engine.HistoryStart(name, now), 1'000'000);
    if (auto* rows = std::get_if<std::vector<rules::Sample>>(&samples)) {
      engine.Seed(name, *rows, now);
    }
  }
  // The current periods of recurring goals as the daemon has them; eval saves nothing.
  (void)RestorePeriods(*store, engine, names, now);
}

}  // namespace

int RunEval(const config::Config& config, const std::string& only_kpi, EvalFormat format,
            std::ostream& out, std::ostream& err) {
  const config::Kpi* selected = only_kpi.empty() ? nullptr : config.FindKpi(only_kpi);
  if (!only_kpi.empty() && selected == nullptr) {
    err << "kpid eval: no KPI named \"" << only_kpi << "\" in " << config.path << '\n';
    return 1;
  }
  auto shared = std::make_shared<const config::Config>(config);
  Engine engine;
  engine.Apply(shared);
  SeedFromStore(*shared, engine, std::chrono::system_clock::now(), err);

  boost::asio::io_context io;
  prometheus::Registry registry;
  Collection collection(io, registry);
  std::map<std::string, double> seconds;
  std::size_t expected = 0;
  collection.SetObserver([&](const Collection::Outcome& o) {
    (void)engine.Record(o.kpi, o.result);
    seconds[o.kpi] = std::chrono::duration<double>(o.took).count();
    if (seconds.size() == expected) io.stop();
  });
  collection.Apply(*shared, nullptr);
  // A derived KPI needs the KPIs it reads: with --kpi on a derived KPI, collect them all.
  bool all = selected == nullptr || selected->expr.has_value();
  for (const config::Kpi& k : shared->kpis) {
    if (k.source.empty() || (!all && k.name != only_kpi)) continue;
    ++expected;
  }
  for (const config::Kpi& k : shared->kpis) {
    if (k.source.empty() || (!all && k.name != only_kpi)) continue;
    collection.CollectNow(k.name);
  }
  if (expected > 0) io.run();
  collection.Stop();
  (void)engine.Evaluate(std::chrono::system_clock::now());

  std::vector<const KpiView*> views;
  for (const KpiView& view : engine.kpis()) {
    if (selected != nullptr && view.config->name != only_kpi) continue;
    if (selected == nullptr && view.config->source.empty() && !view.config->expr) continue;
    views.push_back(&view);
  }
  if (format == EvalFormat::kJson) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const KpiView* view : views) {
      nlohmann::ordered_json j = api::KpiJson(*view);
      auto took = seconds.find(view->config->name);
      j["duration_seconds"] = took == seconds.end() ? 0.0 : took->second;
      list.push_back(std::move(j));
    }
    out << list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  } else {
    PrintTable(views, out);
  }
  bool failed = std::any_of(views.begin(), views.end(), [](const KpiView* v) {
    return !v->latest || v->last_error.has_value();
  });
  return failed ? 1 : 0;
}

}  // namespace kpid
