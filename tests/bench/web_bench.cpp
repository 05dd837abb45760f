// The status pages (daemon/web) for a large fleet: N KPIs with deadline goals and labels,
// each with H stored samples of history, spread over every status; renders the overview
// (page 1, a label filter, the last page) and one detail page through the router, as a
// request would, R times each. Prints the page size and the median and p99 render time.
// With "store" the history is read from a real SQLite state store (a temporary file, as
// the service does); otherwise from memory, which leaves the store's query time out.
//   kpid_web_bench [KPIS=10000] [HISTORY=100] [RUNS=50] [memory|store]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <unistd.h>

#include "daemon/engine.hpp"
#include "daemon/http/router.hpp"
#include "daemon/load_config.hpp"
#include "daemon/store/store.hpp"
#include "daemon/web/status_page.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using kpid::TimePoint;

// One sample an hour up to `now`, rising to `last`.
std::vector<kpid::rules::Sample> Synthetic(double last, std::size_t count, TimePoint now) {
  std::vector<kpid::rules::Sample> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back({now - std::chrono::hours(count - 1 - i),
                   last * static_cast<double>(i + 1) / static_cast<double>(count)});
  }
  return out;
}

class Source : public kpid::web::PageSource {
 public:
  Source(kpid::Engine& engine, std::size_t history, TimePoint now, const kpid::store::Store* store)
      : engine_(engine), history_(history), now_(now), store_(store) {}

  const std::vector<kpid::KpiView>& Kpis() const override { return engine_.kpis(); }
  const kpid::KpiView* Find(std::string_view kpi) const override { return engine_.Find(kpi); }
  std::vector<kpid::rules::Sample> History(const std::string& kpi, TimePoint since,
                                           std::size_t limit) const override {
    if (store_ != nullptr) {
      auto rows = store_->Samples(kpi, since, limit);
      auto* samples = std::get_if<std::vector<kpid::rules::Sample>>(&rows);
      return samples != nullptr ? std::move(*samples) : std::vector<kpid::rules::Sample>{};
    }
    const kpid::KpiView* view = engine_.Find(kpi);
    std::vector<kpid::rules::Sample> out =
        Synthetic(view != nullptr && view->latest ? view->latest->value : 0, history_, now_);
    std::erase_if(out, [&](const kpid::rules::Sample& s) { return s.at < since; });
    if (out.size() > limit) out.resize(limit);
    return out;
  }
  std::vector<kpid::web::SilenceNote> Silences(const kpid::KpiView&, TimePoint) const override {
    return {};
  }
  // The bench's histories were never restated.
  std::vector<kpid::store::RestatementRow> Restatements(const std::string&) const override {
    return {};
  }
  std::optional<TimePoint> EvaluatedAt() const override { return now_; }
  std::chrono::seconds RefreshInterval() const override { return std::chrono::seconds(60); }
  const date::time_zone* Zone() const override { return nullptr; }
  TimePoint Now() const override { return now_; }

 private:
  kpid::Engine& engine_;
  std::size_t history_;
  TimePoint now_;
  const kpid::store::Store* store_;
};

struct Figures {
  std::size_t bytes = 0;
  double median_ms = 0;
  double p99_ms = 0;
};

Figures Measure(const kpid::http::Router& router, const std::string& target, int runs) {
  kpid::http::Request req{boost::beast::http::verb::get, target, 11};
  std::vector<double> ms;
  Figures f;
  for (int i = 0; i < runs; ++i) {
    const auto started = Clock::now();
    const kpid::http::Response res = router.Dispatch(req);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    f.bytes = res.body().size();
    if (res.result() != boost::beast::http::status::ok) {
      std::fprintf(stderr, "%s: HTTP %u\n", target.c_str(), res.result_int());
    }
  }
  std::sort(ms.begin(), ms.end());
  f.median_ms = ms[ms.size() / 2];
  f.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t kpis = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10'000;
  const std::size_t history = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 50;
  const bool use_store = argc > 4 && std::string_view(argv[4]) == "store";
  const TimePoint now = std::chrono::sys_days(std::chrono::year{2026} / 11 / 15);

  std::string text =
      "[storage]\npath = \":memory:\"\n[[source]]\nname = \"db\"\ntype = \"sql\"\n"
      "driver = \"sqlite3\"\nconnection = \"/nonexistent.db\"\n";
  for (std::size_t i = 0; i < kpis; ++i) {
    text += "[[kpi]]\nname = \"k" + std::to_string(i) + "\"\ntitle = \"KPI number " +
            std::to_string(i) + "\"\nunit = \"EUR\"\nowner = \"owner" + std::to_string(i % 50) +
            "@example.com\"\nlabels = { team = \"t" + std::to_string(i % 20) +
            "\" }\nsource = \"db\"\nquery = \"SELECT 1\"\nstale_after = \"1h\"\n"
            "[kpi.goal]\nbaseline = 0\ntarget = 1000000\nstart = 2026-10-01\n"
            "deadline = 2026-12-31\n";
  }
  auto loaded = kpid::config::LoadFromString(text, "bench.toml", kpid::BuiltinExtensions());
  if (!loaded.config) {
    std::fprintf(stderr, "config: %s\n", loaded.errors.front().ToString().c_str());
    return 1;
  }
  kpid::Engine engine;
  engine.Apply(std::make_shared<const kpid::config::Config>(std::move(*loaded.config)));
  for (std::size_t i = 0; i < kpis; ++i) {
    // Progress from 0 to 1.2 across the fleet: every deadline status appears.
    const double value = 1'200'000.0 * static_cast<double>(i % 97) / 96.0;
    (void)engine.Record("k" + std::to_string(i), kpid::collectors::Sample{value, now});
  }
  (void)engine.Evaluate(now);

  std::unique_ptr<kpid::store::Store> store;
  const std::string store_path = "/tmp/kpid_web_bench." + std::to_string(getpid()) + ".db";
  if (use_store) {
    auto opened = kpid::store::Store::Open(store_path);
    auto* ok = std::get_if<std::unique_ptr<kpid::store::Store>>(&opened);
    if (ok == nullptr) {
      std::fprintf(stderr, "store: cannot open %s\n", store_path.c_str());
      return 1;
    }
    store = std::move(*ok);
    std::vector<kpid::store::SampleRow> rows;
    for (const kpid::KpiView& view : engine.kpis()) {
      for (const auto& s : Synthetic(view.latest->value, history, now)) {
        rows.push_back({view.config->name, s});
      }
    }
    if (auto error = store->AppendSamples(rows)) {
      std::fprintf(stderr, "store: cannot write samples\n");
      return 1;
    }
  }
  Source source(engine, history, now, store.get());
  kpid::http::Router router;
  kpid::web::AddRoutes(router, source);
  const std::size_t last_page = (kpis + 99) / 100;
  std::printf("%zu KPIs, %zu samples of history each (from %s), %d runs per page\n", kpis, history,
              use_store ? "the SQLite store" : "memory", runs);
  for (const std::string& target :
       {std::string("/"), std::string("/?team=t3"), "/?page=" + std::to_string(last_page),
        std::string("/kpi/k42")}) {
    const Figures f = Measure(router, target, runs);
    std::printf("%-16s %8zu bytes  median %7.2f ms  p99 %7.2f ms\n", target.c_str(), f.bytes,
                f.median_ms, f.p99_ms);
  }
  if (store) {
    store.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((store_path + suffix).c_str());
  }
  return 0;
}
