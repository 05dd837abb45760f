// Google Benchmark for /metrics (daemon/metrics, the engine's series): the text a scrape
// gets for N KPIs with a deadline goal, labels and a rule, judged and forecast (about 17
// series per KPI).
//   kpid_metrics_bench [--benchmark_filter=REGEX]
// BM_MetricsRender/N: the first scrape after an evaluation pass: the engine's series are
// collected and serialized anew (the pass itself is not timed). BM_MetricsRenderCached/N:
// a scrape with no evaluation since the previous one: the engine's text is reused and only
// the daemon's own series are rendered.
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "daemon/engine.hpp"
#include "daemon/load_config.hpp"
#include "daemon/metrics.hpp"

namespace {

using kpid::TimePoint;

constexpr auto kInterval = std::chrono::minutes(1);
constexpr std::size_t kHistory = 20;

struct Fleet {
  std::shared_ptr<kpid::Engine> engine = std::make_shared<kpid::Engine>();
  kpid::Metrics metrics;
  TimePoint now = std::chrono::floor<std::chrono::minutes>(std::chrono::system_clock::now());
  bool ok = false;

  explicit Fleet(std::size_t kpis) {
    std::string text =
        "[storage]\npath = \":memory:\"\n[[source]]\nname = \"db\"\ntype = \"sql\"\n"
        "driver = \"sqlite3\"\nconnection = \"/nonexistent.db\"\n";
    for (std::size_t i = 0; i < kpis; ++i) {
      text += "[[kpi]]\nname = \"k" + std::to_string(i) + "\"\nlabels = { team = \"t" +
              std::to_string(i % 10) +
              "\", objective = \"growth\" }\nsource = \"db\"\nquery = \"SELECT 1\"\n"
              "interval = \"1m\"\n[kpi.goal]\nbaseline = 0\ntarget = 1000\n"
              "start = 2026-01-01\ndeadline = 2030-12-31\nforecast_window = \"1h\"\n"
              "[[kpi.rule]]\nname = \"jump\"\nwhen = \"delta > 5\"\n";
    }
    auto loaded = kpid::config::LoadFromString(text, "bench.toml", kpid::BuiltinExtensions());
    if (!loaded.config) {
      std::fprintf(stderr, "config: %s\n", loaded.errors.front().ToString().c_str());
      return;
    }
    engine->Apply(std::make_shared<const kpid::config::Config>(std::move(*loaded.config)));
    std::vector<kpid::rules::Sample> samples(kHistory);
    for (std::size_t i = 0; i < kpis; ++i) {
      const std::string& name = names.emplace_back("k" + std::to_string(i));
      for (std::size_t h = 0; h < kHistory; ++h) {
        samples[h] = {now - kInterval * static_cast<int>(kHistory - h),
                      static_cast<double>(h) + static_cast<double>(i % 500)};
      }
      engine->Seed(name, samples, now);
      (void)engine->Record(name, kpid::collectors::Sample{static_cast<double>(i % 700), now});
    }
    engine->Evaluate(now);
    metrics.Add(engine);
    ok = true;
  }

  // A minute on: every KPI collects a value and is judged, so that the series stay the same
  // however many iterations run (without samples, forecasts would leave the window).
  void Step() {
    now += kInterval;
    for (std::size_t i = 0; i < names.size(); ++i) {
      (void)engine->Record(names[i], kpid::collectors::Sample{static_cast<double>(i % 700), now});
    }
    engine->Evaluate(now);
  }
  std::vector<std::string> names;
};

Fleet& SharedFleet(std::size_t kpis) {
  static std::map<std::size_t, std::unique_ptr<Fleet>> fleets;
  auto& fleet = fleets[kpis];
  if (!fleet) fleet = std::make_unique<Fleet>(kpis);
  return *fleet;
}

void Report(benchmark::State& state, const std::string& body) {
  std::size_t series = 0;
  for (std::size_t p = 0; p < body.size();) {
    const std::size_t end = body.find('\n', p);
    if (body[p] != '#') ++series;
    p = end == std::string::npos ? body.size() : end + 1;
  }
  state.counters["bytes"] = static_cast<double>(body.size());
  state.counters["series"] = static_cast<double>(series);
}

void BM_MetricsRender(benchmark::State& state) {
  Fleet& fleet = SharedFleet(static_cast<std::size_t>(state.range(0)));
  if (!fleet.ok) {
    state.SkipWithError("config did not load");
    return;
  }
  std::string body;
  for (auto _ : state) {
    state.PauseTiming();
    fleet.Step();
    state.ResumeTiming();
    body = fleet.metrics.Render();
    benchmark::DoNotOptimize(body.data());
  }
  Report(state, body);
}
BENCHMARK(BM_MetricsRender)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_MetricsRenderCached(benchmark::State& state) {
  Fleet& fleet = SharedFleet(static_cast<std::size_t>(state.range(0)));
  if (!fleet.ok) {
    state.SkipWithError("config did not load");
    return;
  }
  std::string body = fleet.metrics.Render();
  for (auto _ : state) {
    body = fleet.metrics.Render();
    benchmark::DoNotOptimize(body.data());
  }
  Report(state, body);
}
BENCHMARK(BM_MetricsRenderCached)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
