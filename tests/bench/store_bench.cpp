// Google Benchmark for the state store (daemon/store/): samples/s with the durability
// settings in use (WAL, synchronous=NORMAL), on a file database in a fresh directory
// under /tmp for each benchmark.
//   kpid_store_bench [--benchmark_filter=REGEX] [--benchmark_repetitions=N]
// BM_Append/N: one AppendSamples() call (one transaction) of N samples, one per KPI, as a
// collection cycle writes them. BM_ReadSamples: Samples() of the newest 1,000 of a KPI's
// 10,000 samples, as a restart reloads a history.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <benchmark/benchmark.h>

#include "daemon/store/store.hpp"

namespace {

using kpid::store::Error;
using kpid::store::SampleRow;
using kpid::store::Store;
using kpid::store::TimePoint;

constexpr std::int64_t kStartMs = 1'790'000'000'000;

TimePoint Ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

// A directory under /tmp, removed with the database in it.
class BenchDir {
 public:
  BenchDir() {
    std::string pattern = "/tmp/kpid-store-bench-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~BenchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;

  // The opened store, or nullptr after marking the benchmark as failed.
  std::unique_ptr<Store> Open(benchmark::State& state) const {
    if (path_.empty()) {
      state.SkipWithError("mkdtemp failed");
      return nullptr;
    }
    auto result = Store::Open((path_ / "kpid.db").string());
    if (const Error* error = std::get_if<Error>(&result)) {
      state.SkipWithError(error->message.c_str());
      return nullptr;
    }
    return std::move(std::get<std::unique_ptr<Store>>(result));
  }

 private:
  std::filesystem::path path_;
};

void BM_Append(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  BenchDir dir;
  std::unique_ptr<Store> store = dir.Open(state);
  if (!store) return;
  std::vector<SampleRow> rows(batch);
  for (std::size_t i = 0; i < batch; ++i) rows[i].kpi = "kpi_" + std::to_string(i);
  std::int64_t ts_ms = kStartMs;
  for (auto _ : state) {
    ts_ms += 1000;
    for (SampleRow& row : rows) row.sample = {Ms(ts_ms), static_cast<double>(ts_ms % 977)};
    if (auto error = store->AppendSamples(rows)) {
      state.SkipWithError(error->message.c_str());
      break;
    }
  }
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(batch),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Append)->Arg(1)->Arg(100)->Arg(1000)->UseRealTime();

void BM_ReadSamples(benchmark::State& state) {
  constexpr std::size_t kHistory = 10'000;
  constexpr std::size_t kRead = 1'000;
  BenchDir dir;
  std::unique_ptr<Store> store = dir.Open(state);
  if (!store) return;
  // The KPI read sits between two others, as in a database of many KPIs.
  for (const char* kpi : {"kpi_a", "kpi_b", "kpi_c"}) {
    std::vector<SampleRow> rows(kHistory);
    for (std::size_t i = 0; i < kHistory; ++i) {
      const auto ms = kStartMs + static_cast<std::int64_t>(i) * 60'000;
      rows[i] = {kpi, {Ms(ms), static_cast<double>(i)}};
    }
    if (auto error = store->AppendSamples(rows)) {
      state.SkipWithError(error->message.c_str());
      return;
    }
  }
  for (auto _ : state) {
    auto samples = store->Samples("kpi_b", TimePoint::min(), kRead);
    if (const Error* error = std::get_if<Error>(&samples)) {
      state.SkipWithError(error->message.c_str());
      break;
    }
    benchmark::DoNotOptimize(samples);
  }
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(kRead),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReadSamples)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
