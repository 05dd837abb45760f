// Google Benchmark for goal evaluation (rules/): the work of one evaluation cycle per goal,
// with a realistic history behind every goal.
//   kpid_rules_bench [--benchmark_filter=REGEX] [--benchmark_repetitions=N]
// Fleet benchmarks hold 100,000 goals with 1,000 samples each (about 2 GB); a cycle adds one
// sample to every goal (evicting the oldest from its windows), evaluates it and steps its
// goal alert. "per_goal" is the time of one goal in a cycle.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <benchmark/benchmark.h>
#include <date/date.h>

#include "rules/alert.hpp"
#include "rules/evaluator.hpp"
#include "rules/expression.hpp"
#include "rules/goal.hpp"
#include "rules/series.hpp"

namespace {

using kpid::rules::AlertState;
using kpid::rules::Duration;
using kpid::rules::Evaluation;
using kpid::rules::KpiSpec;
using kpid::rules::Sample;
using kpid::rules::Series;
using kpid::rules::Status;
using kpid::rules::TimePoint;
using std::chrono::hours;
using std::chrono::minutes;

constexpr std::size_t kGoals = 100'000;
constexpr std::size_t kHistory = 1'000;
constexpr Duration kInterval = minutes(15);
// The forecast window holds the whole history, so every cycle also evicts from it.
constexpr Duration kForecastWindow = kInterval * static_cast<int>(kHistory);
constexpr TimePoint kStart = date::sys_days(date::year(2026) / 1 / 1);

class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  double Next() {  // [0, 1)
    state_ = state_ * 6364136223846793005u + 1442695040888963407u;
    return static_cast<double>(state_ >> 11) / 9007199254740992.0;
  }

 private:
  std::uint64_t state_;
};

// Goal i: mostly deadline goals (some with milestones, some using the forecast, some going
// down), every tenth a band goal.
KpiSpec MakeSpec(std::size_t i, Random& random) {
  KpiSpec spec;
  spec.stale_after = 3 * kInterval;
  if (i % 10 == 9) {
    spec.goal = kpid::rules::Goal{
        kpid::rules::BandGoal{0.0, 1000.0, 100.0, 900.0}, {Status::kOffTrack, Status::kNoData}, {}};
    return spec;
  }
  kpid::rules::DeadlineGoal g;
  const bool down = i % 7 == 3;
  g.baseline = down ? 1000 : 0;
  g.target = down ? 200 : 1000 + 1000 * random.Next();
  g.start = kStart;
  g.deadline = kStart + hours(24 * 90);
  g.forecast_window = kForecastWindow;
  g.use_forecast = i % 3 == 0;
  if (i % 4 == 0) {
    g.milestones = {{kStart + hours(24 * 30), g.baseline + 0.2 * (g.target - g.baseline)},
                    {kStart + hours(24 * 60), g.baseline + 0.6 * (g.target - g.baseline)}};
  }
  spec.goal = kpid::rules::Goal{
      std::move(g), {Status::kAtRisk, Status::kOffTrack, Status::kMissed, Status::kNoData}, {}};
  return spec;
}

struct Kpi {
  KpiSpec spec;
  Series series;
  AlertState alert;
  double level;  // random walk
  double step;
};

double NextValue(Kpi& kpi, Random& random) {
  kpi.level += kpi.step * (0.5 + random.Next()) + (random.Next() - 0.5) * 3;
  return kpi.level;
}

// One cycle for one KPI at `now`: the new sample, the evaluation, the goal alert.
int Cycle(Kpi& kpi, TimePoint now, double value) {
  kpi.series.Add({now, value});
  const Evaluation e = kpid::rules::Evaluate(kpi.spec, kpi.series, true, now);
  const auto t = kpid::rules::Step(kpi.alert, kpi.spec.goal->for_duration,
                                   kpid::rules::GoalAlertInput(*kpi.spec.goal, *e.status), now);
  return t ? 1 : 0;
}

double ResidentMegabytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  double kb = 0;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> kb;
      break;
    }
    status.ignore(1 << 12, '\n');
  }
  return kb / 1024;
}

// 100,000 KPIs with 1,000 samples each, built once for all fleet benchmarks.
struct Fleet {
  std::vector<Kpi> kpis;
  std::vector<double> next_values;  // pre-drawn, so the cycle measures rules/ only
  TimePoint now;
  double megabytes = 0;

  Fleet() {
    Random random(1);
    const double before = ResidentMegabytes();
    kpis.reserve(kGoals);
    for (std::size_t i = 0; i < kGoals; ++i) {
      KpiSpec spec = MakeSpec(i, random);
      Series series = kpid::rules::MakeSeries(spec);
      kpis.push_back({std::move(spec), std::move(series), {}, 0, 2 + 10 * random.Next()});
      Kpi& kpi = kpis.back();
      for (std::size_t s = 0; s < kHistory; ++s) {
        kpi.series.Add({kStart + kInterval * static_cast<int>(s), NextValue(kpi, random)});
      }
    }
    now = kStart + kInterval * static_cast<int>(kHistory - 1);
    next_values.resize(kGoals);
    megabytes = ResidentMegabytes() - before;
  }

  void DrawValues(Random& random) {
    for (std::size_t i = 0; i < kGoals; ++i) next_values[i] = NextValue(kpis[i], random);
  }
};

Fleet& SharedFleet() {
  static Fleet fleet;
  return fleet;
}

void BM_FleetCycle(benchmark::State& state) {
  Fleet& fleet = SharedFleet();
  Random random(2);
  std::int64_t transitions = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fleet.now += kInterval;
    fleet.DrawValues(random);
    state.ResumeTiming();
    for (std::size_t i = 0; i < kGoals; ++i) {
      transitions += Cycle(fleet.kpis[i], fleet.now, fleet.next_values[i]);
    }
  }
  benchmark::DoNotOptimize(transitions);
  state.counters["goals"] = static_cast<double>(kGoals);
  state.counters["per_goal"] = benchmark::Counter(
      static_cast<double>(kGoals),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["fleet_MB"] = fleet.megabytes;
  state.counters["transitions"] =
      benchmark::Counter(static_cast<double>(transitions), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_FleetCycle)->Unit(benchmark::kMillisecond)->Iterations(16);

// "Every goal is re-judged each interval, data or not": a cycle without new samples.
void BM_FleetEvaluateOnly(benchmark::State& state) {
  Fleet& fleet = SharedFleet();
  std::int64_t sum = 0;
  for (auto _ : state) {
    for (Kpi& kpi : fleet.kpis) {
      const Evaluation e = kpid::rules::Evaluate(kpi.spec, kpi.series, true, fleet.now);
      sum += static_cast<int>(*e.status);
    }
  }
  benchmark::DoNotOptimize(sum);
  state.counters["per_goal"] = benchmark::Counter(
      static_cast<double>(kGoals),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FleetEvaluateOnly)->Unit(benchmark::kMillisecond)->Iterations(16);

// One goal in a hot cache: the cost of the arithmetic alone.
void BM_OneGoalCycle(benchmark::State& state) {
  Random random(3);
  KpiSpec spec = MakeSpec(0, random);
  Kpi kpi{spec, kpid::rules::MakeSeries(spec), {}, 0, 5};
  TimePoint now = kStart;
  for (std::size_t s = 0; s < kHistory; ++s, now += kInterval) {
    kpi.series.Add({now, NextValue(kpi, random)});
  }
  std::vector<double> values(4096);
  for (double& v : values) v = NextValue(kpi, random);
  std::size_t i = 0;
  int transitions = 0;
  for (auto _ : state) {
    transitions += Cycle(kpi, now, values[i++ & 4095]);
    now += kInterval;
  }
  benchmark::DoNotOptimize(transitions);
}
BENCHMARK(BM_OneGoalCycle);

// Rebuilding a series from its history (after a backfill).
void BM_SeriesAssign(benchmark::State& state) {
  Random random(4);
  std::vector<Sample> history;
  double level = 0;
  for (std::size_t s = 0; s < kHistory; ++s) {
    level += random.Next();
    history.push_back({kStart + kInterval * static_cast<int>(s), level});
  }
  Series series(kForecastWindow);
  const TimePoint now = history.back().at;
  for (auto _ : state) {
    series.Assign(history, now);
    benchmark::DoNotOptimize(series.Latest());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kHistory));
}
BENCHMARK(BM_SeriesAssign);

// A rule on top of the evaluation: write the variables, evaluate `when`, step its alert.
void BM_RuleStep(benchmark::State& state) {
  Random random(5);
  KpiSpec spec = MakeSpec(0, random);
  Kpi kpi{spec, kpid::rules::MakeSeries(spec), {}, 0, 5};
  TimePoint now = kStart;
  for (std::size_t s = 0; s < kHistory; ++s, now += kInterval) {
    kpi.series.Add({now, NextValue(kpi, random)});
  }
  std::vector<std::string> names(kpid::rules::kExpressionVariableNames.begin(),
                                 kpid::rules::kExpressionVariableNames.end());
  kpid::rules::VariableSet vars(names);
  const kpid::rules::VariableSlots slots(vars);
  auto compiled =
      kpid::rules::Expression::Compile("gap > 0.05 && delta > 0.1 * avg_7d / 672", vars);
  const auto& when = std::get<kpid::rules::Expression>(compiled);
  const Evaluation e = kpid::rules::Evaluate(kpi.spec, kpi.series, true, now);
  AlertState alert;
  int transitions = 0;
  for (auto _ : state) {
    slots.Write(e.variables);
    kpid::rules::AlertInput input;
    input.condition = kpid::rules::RuleCondition(alert.phase, when, nullptr);
    input.notify_changes = false;
    transitions += kpid::rules::Step(alert, hours(1), input, now) ? 1 : 0;
    now += kInterval;
  }
  benchmark::DoNotOptimize(transitions);
}
BENCHMARK(BM_RuleStep);

// The forecast's share of a cycle: one new sample into a full forecast window (1,000
// samples, the oldest leaves), then the line at the deadline, as Evaluate() reads it.
void BM_ForecastUpdate(benchmark::State& state) {
  Random random(6);
  Series series(kForecastWindow);
  TimePoint now = kStart;
  double level = 0;
  for (std::size_t s = 0; s < kHistory; ++s, now += kInterval) {
    level += random.Next();
    series.Add({now, level});
  }
  std::vector<double> steps(4096);
  for (double& v : steps) v = random.Next();
  const TimePoint deadline = kStart + hours(24 * 365);
  std::size_t i = 0;
  double sum = 0;
  for (auto _ : state) {
    level += steps[i++ & 4095];
    series.Add({now, level});
    series.Advance(now);
    sum += series.ForecastAt(deadline).value_or(0);
    now += kInterval;
  }
  benchmark::DoNotOptimize(sum);
}
BENCHMARK(BM_ForecastUpdate);

// One compiled expression over the expression variables: a rule condition (comparisons
// and logic) and a derived KPI's arithmetic, with the variables changing between calls.
void BM_ExpressionEvaluate(benchmark::State& state) {
  static constexpr const char* kTexts[] = {
      "gap > 0.05 && delta > 0.1 * avg_7d / 672 || days_left < 7 && progress < 0.9",
      "(value - prev) / max(abs(prev), 1) * 100 + min(avg_7d, max_7d) - forecast / 2",
  };
  const char* text = kTexts[state.range(0)];
  std::vector<std::string> names(kpid::rules::kExpressionVariableNames.begin(),
                                 kpid::rules::kExpressionVariableNames.end());
  kpid::rules::VariableSet vars(names);
  for (const std::string& name : names) vars.Set(name, 1.0);
  auto compiled = kpid::rules::Expression::Compile(text, vars);
  const auto& expression = std::get<kpid::rules::Expression>(compiled);
  double* value = vars.Slot("value");
  double* gap = vars.Slot("gap");
  double sum = 0;
  double x = 0;
  for (auto _ : state) {
    x += 0.001;
    *value = x;
    *gap = x * 0.01;
    const auto result = expression.Evaluate();
    if (const double* v = std::get_if<double>(&result)) sum += *v;
  }
  benchmark::DoNotOptimize(sum);
  state.SetLabel(state.range(0) == 0 ? "rule condition" : "derived arithmetic");
}
BENCHMARK(BM_ExpressionEvaluate)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
