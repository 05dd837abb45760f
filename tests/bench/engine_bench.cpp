// The daemon's evaluation pass end to end (daemon/engine): N KPIs with a deadline goal and
// a rule, each seeded with H samples of history, then cycles in which every KPI gets one
// new sample (Record) and the whole fleet is evaluated (Evaluate: derived values, status,
// forecast, rule expression, two alert steps). Prints time per cycle, per goal, and RSS.
//   kpid_engine_bench [KPIS=100000] [HISTORY=1000] [CYCLES=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/engine.hpp"
#include "daemon/load_config.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using kpid::TimePoint;

long RssMiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10) / 1024;
  }
  return -1;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  const std::size_t kpis = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100'000;
  const std::size_t history = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1'000;
  const int cycles = argc > 3 ? std::atoi(argv[3]) : 5;
  const auto interval = std::chrono::minutes(15);
  const TimePoint now = std::chrono::floor<std::chrono::hours>(std::chrono::system_clock::now());

  std::string text =
      "[storage]\npath = \":memory:\"\n[[source]]\nname = \"db\"\ntype = \"sql\"\n"
      "driver = \"sqlite3\"\nconnection = \"/nonexistent.db\"\n";
  for (std::size_t i = 0; i < kpis; ++i) {
    text += "[[kpi]]\nname = \"k" + std::to_string(i) +
            "\"\nsource = \"db\"\nquery = \"SELECT 1\"\ninterval = \"15m\"\n"
            "stale_after = \"1h\"\n[kpi.goal]\nbaseline = 0\ntarget = 1000\n"
            "start = 2026-01-01\ndeadline = 2027-12-31\nforecast_window = \"30d\"\n"
            "[[kpi.rule]]\nname = \"jump\"\nwhen = \"delta > 5\"\n";
  }
  auto started = Clock::now();
  auto loaded = kpid::config::LoadFromString(text, "bench.toml", kpid::BuiltinExtensions());
  if (!loaded.config) {
    std::fprintf(stderr, "config: %s\n", loaded.errors.front().ToString().c_str());
    return 1;
  }
  auto config = std::make_shared<const kpid::config::Config>(std::move(*loaded.config));
  text.clear();
  text.shrink_to_fit();
  const double load_s = Seconds(Clock::now() - started);

  kpid::Engine engine;
  started = Clock::now();
  engine.Apply(config);
  std::vector<kpid::rules::Sample> samples(history);
  for (std::size_t i = 0; i < kpis; ++i) {
    for (std::size_t h = 0; h < history; ++h) {
      samples[h] = {now - interval * static_cast<int>(history - h),
                    static_cast<double>(h) * 0.5 + static_cast<double>(i % 7)};
    }
    engine.Seed("k" + std::to_string(i), samples, now);
  }
  const double seed_s = Seconds(Clock::now() - started);
  std::printf("kpis=%zu history=%zu config_load=%.2fs seed=%.2fs rss_after_seed=%ld MiB\n", kpis,
              history, load_s, seed_s, RssMiB());

  std::vector<std::string> names;
  for (std::size_t i = 0; i < kpis; ++i) names.push_back("k" + std::to_string(i));
  std::vector<double> evaluate_s;
  std::vector<double> record_s;
  for (int c = 1; c <= cycles; ++c) {
    const TimePoint t = now + interval * c;
    started = Clock::now();
    for (std::size_t i = 0; i < kpis; ++i) {
      (void)engine.Record(names[i],
                          kpid::collectors::Sample{
                              static_cast<double>(history + static_cast<std::size_t>(c)) * 0.5, t});
    }
    record_s.push_back(Seconds(Clock::now() - started));
    started = Clock::now();
    auto cycle = engine.Evaluate(t);
    evaluate_s.push_back(Seconds(Clock::now() - started));
    std::printf("cycle %d: record %.3fs, evaluate %.3fs (%.0f ns/goal), %zu alert changes\n", c,
                record_s.back(), evaluate_s.back(),
                evaluate_s.back() * 1e9 / static_cast<double>(kpis), cycle.changes.size());
  }
  std::sort(evaluate_s.begin(), evaluate_s.end());
  std::sort(record_s.begin(), record_s.end());
  const double median = evaluate_s[evaluate_s.size() / 2];
  const double record_median = record_s[record_s.size() / 2];
  std::printf(
      "median: evaluate %.3fs per cycle = %.0f ns per goal; record %.0f ns per sample; "
      "rss=%ld MiB\n",
      median, median * 1e9 / static_cast<double>(kpis),
      record_median * 1e9 / static_cast<double>(kpis), RssMiB());
  return 0;
}
