// Google Benchmark for Notifier::Reconcile, which runs after every evaluation pass (up to
// 20 a second when new values arrive): 1,000 KPIs with deadline goals, half of them with
// [[kpi.goal.escalate]] entries; all on track and quiet (the common case), or 200 of them
// off track with their alerts firing and told already, as in tests/bench/peer_stack.
// Nothing is queued or sent in the timed passes; this is the cost of looking.
//   kpid_reconcile_bench [--benchmark_filter=REGEX]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <date/date.h>
#include <prometheus/registry.h>

#include "daemon/engine.hpp"
#include "daemon/load_config.hpp"
#include "daemon/log.hpp"
#include "daemon/notify/notifier.hpp"
#include "daemon/notify/registry.hpp"
#include "daemon/persistence.hpp"
#include "tests/support/process.hpp"

namespace {

std::shared_ptr<const kpid::config::Config> Config(std::size_t kpis, kpid::TimePoint now) {
  const auto day = [](kpid::TimePoint t) {
    return date::format("%F", std::chrono::floor<date::days>(t));
  };
  std::string text =
      "[[source]]\nname = \"db\"\ntype = \"sql\"\ndriver = \"sqlite3\"\n"
      "connection = \"/nonexistent.db\"\n"
      "[[route]]\nreceivers = [\"hook\"]\ngroup_by = [\"kpi\"]\n"
      "[[receiver]]\nname = \"hook\"\ntype = \"file\"\npath = \"/nonexistent/hook.jsonl\"\n"
      "[[receiver]]\nname = \"lead\"\ntype = \"file\"\npath = \"/nonexistent/lead.jsonl\"\n";
  const std::string start = day(now - std::chrono::days(50));
  const std::string deadline = day(now + std::chrono::days(50));
  for (std::size_t i = 0; i < kpis; ++i) {
    text += "[[kpi]]\nname = \"k" + std::to_string(i) + "\"\nlabels = { team = \"t" +
            std::to_string(i % 10) +
            "\" }\nsource = \"db\"\nquery = \"SELECT 1\"\n[kpi.goal]\nbaseline = 0\n"
            "target = 100\nstart = " +
            start + "\ndeadline = " + deadline + "\n";
    if (i % 2 == 0) {
      text += "[[kpi.goal.escalate]]\nwithin = \"14d\"\nreceivers = [\"lead\"]\n";
    }
  }
  auto loaded = kpid::config::LoadFromString(text, "bench.toml", kpid::BuiltinExtensions());
  if (!loaded.config) {
    std::fprintf(stderr, "config: %s\n", loaded.errors.front().ToString().c_str());
    std::exit(1);
  }
  return std::make_shared<const kpid::config::Config>(std::move(*loaded.config));
}

void BM_Reconcile1000Kpis(benchmark::State& state) {
  kpid::log::Configure(kpid::log::Level::kError, kpid::log::Format::kText);
  const auto kpis = static_cast<std::size_t>(state.range(0));
  kpid::testing::TempDir dir;
  boost::asio::io_context io;
  prometheus::Registry registry;
  kpid::Persistence persistence(registry);
  if (!persistence.Open((dir.path() / "bench.db").string())) {
    state.SkipWithError("cannot open the store");
    return;
  }
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto config = Config(kpis, now);
  kpid::Engine engine;
  engine.Apply(config);
  const auto firing = static_cast<std::size_t>(state.range(1));
  for (std::size_t i = 0; i < kpis; ++i) {
    // 50 % of the way at half time: on track; 10 %: off track.
    const double value = i < firing ? 10 : 50;
    (void)engine.Record("k" + std::to_string(i), kpid::collectors::Sample{value, now});
  }
  (void)engine.Evaluate(now);
  kpid::notify::Notifier notifier(io, registry, persistence, kpid::notify::MakeReceiver);
  notifier.Apply(config, engine);
  notifier.Restore();
  notifier.Reconcile(now);  // tells the firing alerts; the timed passes find them told
  for (auto _ : state) notifier.Reconcile(now);
  notifier.Stop();
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Reconcile1000Kpis)
    ->ArgNames({"kpis", "firing"})
    ->Args({1000, 0})
    ->Args({1000, 200})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
