// Google Benchmark for restated data (README "Restated data"), the io thread's work when a
// history is read again:
// - BM_CompareHistory: look up the stored values at the history's times (a SQLite file)
//   and diff them; a year of 15-minute rows (35,040) against a store holding the same, and
//   a year of daily rows against a store that also holds a sample per minute collected in
//   between (525,600 rows the lookup must not read).
// - BM_CompareStatuses: the replay of a restatement with a status change, a year back from
//   now, for one KPI of a config of 1 or 1,000 KPIs (the whole config is applied to the
//   replay's engines).
//   kpid_restatement_bench [--benchmark_filter=REGEX]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "daemon/load_config.hpp"
#include "daemon/log.hpp"
#include "daemon/restatement.hpp"
#include "daemon/store/store.hpp"
#include "tests/support/process.hpp"

namespace {

using kpid::TimePoint;
using std::chrono::minutes;

constexpr TimePoint kT0 = std::chrono::sys_days(std::chrono::year{2026} / 1 / 1);

std::unique_ptr<kpid::store::Store> OpenStore(const kpid::testing::TempDir& dir) {
  auto opened = kpid::store::Store::Open((dir.path() / "kpid.db").string());
  if (auto* error = std::get_if<kpid::store::Error>(&opened)) {
    std::fprintf(stderr, "%s\n", error->message.c_str());
    std::exit(1);
  }
  return std::move(std::get<std::unique_ptr<kpid::store::Store>>(opened));
}

// range(0): minutes between history rows; range(1): minutes between stored samples.
void BM_CompareHistory(benchmark::State& state) {
  const minutes history_step(state.range(0));
  const minutes stored_step(state.range(1));
  kpid::testing::TempDir dir;
  auto store = OpenStore(dir);
  std::vector<kpid::store::SampleRow> rows;
  for (TimePoint t = kT0; t < kT0 + std::chrono::days(365); t += stored_step) {
    rows.push_back({"revenue", {t, 1000}});
  }
  if (auto error = store->AppendSamples(rows)) std::exit(1);
  std::vector<kpid::rules::Sample> fresh;
  std::vector<TimePoint> times;
  for (TimePoint t = kT0; t < kT0 + std::chrono::days(365); t += history_step) {
    fresh.push_back({t, 1000});
    times.push_back(t);
  }
  fresh[fresh.size() / 2].value = 1001;  // one restated value
  for (auto _ : state) {
    auto stored = store->SamplesAt("revenue", times);
    const auto& held = std::get<std::vector<kpid::rules::Sample>>(stored);
    const kpid::HistoryDiff diff = kpid::DiffHistory(held, fresh);
    if (diff.restated.size() != 1) state.SkipWithError("expected one restated value");
    benchmark::DoNotOptimize(diff);
  }
  state.counters["history_rows"] = static_cast<double>(fresh.size());
  state.counters["stored_rows"] = static_cast<double>(rows.size());
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(fresh.size()));
}
BENCHMARK(BM_CompareHistory)
    ->Args({15, 15})
    ->Args({24 * 60, 1})
    ->ArgNames({"history_min", "stored_min"})
    ->Unit(benchmark::kMillisecond);

std::shared_ptr<const kpid::config::Config> Config(std::size_t kpis) {
  std::string text =
      "[evaluation]\ninterval = \"1m\"\n"
      "[[source]]\nname = \"db\"\ntype = \"sql\"\ndriver = \"sqlite3\"\n"
      "connection = \"/nonexistent.db\"\n";
  for (std::size_t i = 0; i < kpis; ++i) {
    text += "[[kpi]]\nname = \"k" + std::to_string(i) +
            "\"\nsource = \"db\"\nquery = \"SELECT 1\"\nstale_after = \"3d\"\n"
            "[kpi.goal]\nbaseline = 0\ntarget = 400\nstart = 2026-01-01\n"
            "deadline = 2026-12-31\n[[kpi.rule]]\nname = \"drop\"\nwhen = \"delta < -50\"\n";
  }
  auto loaded = kpid::config::LoadFromString(text, "bench.toml", kpid::BuiltinExtensions());
  if (!loaded.config) {
    std::fprintf(stderr, "config: %s\n", loaded.errors.front().ToString().c_str());
    std::exit(1);
  }
  return std::make_shared<const kpid::config::Config>(std::move(*loaded.config));
}

// range(0): KPIs in the config; k0 has a year of daily values on its trajectory, and the
// restatement puts one of them early in the year off track.
void BM_CompareStatuses(benchmark::State& state) {
  const auto config = Config(static_cast<std::size_t>(state.range(0)));
  std::vector<kpid::rules::Sample> before;
  for (int d = 0; d < 365; ++d) {
    before.push_back({kT0 + std::chrono::days(d), 400.0 * d / 364});
  }
  auto after = before;
  after[30].value -= 100;  // a quarter of the goal behind its trajectory: off track
  const auto reader = [](const std::vector<kpid::rules::Sample>& data) {
    return [&data](const std::string& kpi, TimePoint from, TimePoint until) {
      std::vector<kpid::rules::Sample> out;
      if (kpi != "k0") return out;
      for (const auto& s : data) {
        if (s.at >= from && s.at <= until) out.push_back(s);
      }
      return out;
    };
  };
  const TimePoint now = kT0 + std::chrono::days(365);
  std::size_t spans = 0;
  for (auto _ : state) {
    const auto changes =
        kpid::CompareStatuses(config, "k0", reader(before), reader(after), after[30].at, now);
    spans = changes.size();
    benchmark::DoNotOptimize(changes);
  }
  if (spans == 0) state.SkipWithError("the restatement changed no status");
  state.counters["spans"] = static_cast<double>(spans);
}
BENCHMARK(BM_CompareStatuses)->Arg(1)->Arg(1000)->ArgName("kpis")->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  kpid::log::Configure(kpid::log::Level::kError, kpid::log::Format::kText);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
