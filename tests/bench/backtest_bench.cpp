// `kpid backtest` at scale (issue 9's aim: one year of 15-minute samples, 35,040 points,
// for 1,000 KPIs in under 10 s on one core): N KPIs with a deadline goal and a rule, each
// with a year of random-walk samples every 15 minutes, replayed with a 15-minute step.
// History comes from memory, so this measures the replay, not SQLite. Prints the total
// time, the time per KPI-evaluation, what the replay found and a digest of the whole report
// (timelines, notifications, flaps), so that a speed-up can show it changed no result.
//   kpid_backtest_bench [KPIS=1000] [DAYS=365]
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/backtest.hpp"
#include "daemon/load_config.hpp"

namespace {

// FNV-1a over everything the report says.
class Digest {
 public:
  void Add(std::string_view text) {
    for (char c : text) Byte(static_cast<unsigned char>(c));
    Byte(0);
  }
  void Add(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) Byte(static_cast<unsigned char>(v >> (8 * i)));
  }
  void Add(kpid::TimePoint t) { Add(static_cast<std::uint64_t>(t.time_since_epoch().count())); }
  void Add(double v) { Add(std::bit_cast<std::uint64_t>(v)); }
  [[nodiscard]] std::uint64_t Value() const { return hash_; }

 private:
  void Byte(unsigned char b) {
    hash_ ^= b;
    hash_ *= 0x100000001b3;
  }
  std::uint64_t hash_ = 0xcbf29ce484222325;
};

std::uint64_t ReportDigest(const kpid::BacktestReport& report) {
  Digest d;
  d.Add(static_cast<std::uint64_t>(report.evaluations));
  for (const auto& k : report.kpis) {
    d.Add(k.kpi);
    d.Add(static_cast<std::uint64_t>(k.samples));
    for (const auto& s : k.timeline) {
      d.Add(s.at);
      d.Add(s.status);
    }
    for (const auto& n : k.notifications) {
      d.Add(n.at);
      d.Add(n.alert);
      d.Add(n.event);
      d.Add(n.status);
      d.Add(n.severity);
      d.Add(n.value);
      d.Add(n.summary);
      for (const auto& r : n.receivers) d.Add(r);
    }
    for (const auto& f : k.flaps) {
      d.Add(f.at);
      d.Add(f.status);
      d.Add(static_cast<std::uint64_t>(f.lasted.count()));
    }
  }
  return d.Value();
}

}  // namespace

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const std::size_t kpis = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1'000;
  const int days = argc > 2 ? std::atoi(argv[2]) : 365;
  const auto step = std::chrono::minutes(15);
  const kpid::TimePoint start = std::chrono::sys_days(std::chrono::year{2026} / 1 / 1);
  const kpid::TimePoint end = start + std::chrono::days(days);

  std::string text =
      "[storage]\npath = \":memory:\"\n[evaluation]\ninterval = \"15m\"\n"
      "[[source]]\nname = \"db\"\ntype = \"sql\"\ndriver = \"sqlite3\"\n"
      "connection = \"/nonexistent.db\"\n"
      "[[receiver]]\nname = \"audit\"\ntype = \"file\"\npath = \"/dev/null\"\n"
      "[[route]]\nreceivers = [\"audit\"]\n";
  for (std::size_t i = 0; i < kpis; ++i) {
    text += "[[kpi]]\nname = \"k" + std::to_string(i) +
            "\"\nsource = \"db\"\nquery = \"SELECT 1\"\ninterval = \"15m\"\n"
            "[kpi.goal]\nbaseline = 0\ntarget = 35000\nstart = 2026-01-01\n"
            "deadline = 2026-12-31\nforecast_window = \"30d\"\nfor = \"1h\"\n"
            "[[kpi.rule]]\nname = \"jump\"\nwhen = \"delta > 5\"\n";
  }
  auto loaded = kpid::config::LoadFromString(text, "bench.toml", kpid::BuiltinExtensions());
  if (!loaded.config) {
    std::fprintf(stderr, "config: %s\n", loaded.errors.front().ToString().c_str());
    return 1;
  }
  auto config = std::make_shared<const kpid::config::Config>(std::move(*loaded.config));

  // One random walk per KPI, 0.9 to 1.1 a step upwards (1 keeps to the trajectory), so
  // goals drift on and off track.
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> drift(0.9, 1.1);
  // Values only, sample i at start + i * step: the store's part of the memory stays small
  // next to the replay's.
  std::vector<std::vector<double>> series(kpis);
  for (auto& s : series) {
    s.reserve(static_cast<std::size_t>(days) * 96 + 1);
    std::normal_distribution<double> noise(drift(rng), 2.0);
    double v = 0;
    for (kpid::TimePoint t = start; t <= end; t += step) s.push_back(v += noise(rng));
  }
  const kpid::HistoryReader history = [&](const std::string& kpi, kpid::TimePoint from,
                                          kpid::TimePoint until) {
    const auto& s = series[std::strtoul(kpi.c_str() + 1, nullptr, 10)];
    // The first index at or after `from` and the last at or before `until`.
    auto index = [&](kpid::TimePoint t, bool up) {
      if (t <= start) return std::int64_t{0};
      const auto ticks = (t - start).count();
      const auto width = std::chrono::duration_cast<kpid::rules::Duration>(step).count();
      return ticks / width + (up && ticks % width != 0 ? 1 : 0);
    };
    std::vector<kpid::rules::Sample> out;
    const auto size = static_cast<std::int64_t>(s.size());
    const std::int64_t last = until < start ? -1 : std::min(index(until, false), size - 1);
    out.reserve(static_cast<std::size_t>(std::max<std::int64_t>(0, last + 1 - index(from, true))));
    for (std::int64_t i = index(from, true); i <= last; ++i) {
      out.push_back({start + i * std::chrono::duration_cast<kpid::rules::Duration>(step),
                     s[static_cast<std::size_t>(i)]});
    }
    return out;
  };

  kpid::BacktestOptions options;
  options.since = start;
  options.until = end;
  options.step = step;
  const auto began = Clock::now();
  const std::clock_t cpu_began = std::clock();
  const kpid::BacktestReport report = kpid::Backtest(config, history, options);
  const double seconds = std::chrono::duration<double>(Clock::now() - began).count();
  // CPU time too: on a shared machine the wall time says more about the neighbours.
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_began) / CLOCKS_PER_SEC;

  std::size_t samples = 0, changes = 0, notifications = 0, flaps = 0;
  for (const auto& k : report.kpis) {
    samples += k.samples;
    changes += k.timeline.size();
    notifications += k.notifications.size();
    flaps += k.flaps.size();
  }
  const double evaluations = static_cast<double>(report.evaluations) * static_cast<double>(kpis);
  std::printf("backtest: %zu KPIs x %zu evaluations (%d days every 15 min), %zu samples\n", kpis,
              report.evaluations, days, samples);
  std::printf("  total %.2f s (CPU %.2f s), %.0f ns per KPI-evaluation\n", seconds, cpu_seconds,
              seconds * 1e9 / evaluations);
  std::printf("  found %zu status changes, %zu notifications, %zu flaps\n", changes, notifications,
              flaps);
  std::printf("  report digest %016llx\n", static_cast<unsigned long long>(ReportDigest(report)));
  return 0;
}
