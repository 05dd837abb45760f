#include "daemon/restatement.hpp"

#include <algorithm>
#include <cmath>

namespace kpid {
namespace {

std::int64_t Ms(TimePoint t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

bool Same(double a, double b) {
  if (a == b) return true;  // also equal infinities
  return std::abs(a - b) <= kRestatedTolerance * std::max(std::abs(a), std::abs(b));
}

// The step of a replay over `span`: evaluation.interval, or for a long span the shortest
// of these that keeps to kMaxRestatementEvaluations. Each divides a day, so that the
// replay, starting at a multiple of it, judges at midnight (UTC) when daily rows arrive.
rules::Duration ReplayStep(rules::Duration interval, rules::Duration span) {
  using std::chrono::hours;
  using std::chrono::minutes;
  const rules::Duration needed =
      span / static_cast<rules::Duration::rep>(kMaxRestatementEvaluations);
  if (needed <= interval) return interval;
  for (rules::Duration step :
       {rules::Duration(minutes(1)), rules::Duration(minutes(2)), rules::Duration(minutes(5)),
        rules::Duration(minutes(10)), rules::Duration(minutes(15)), rules::Duration(minutes(30)),
        rules::Duration(hours(1)), rules::Duration(hours(2)), rules::Duration(hours(3)),
        rules::Duration(hours(6)), rules::Duration(hours(12)), rules::Duration(hours(24))}) {
    if (step >= needed) return std::max(step, interval);
  }
  return needed;
}

}  // namespace

HistoryDiff DiffHistory(std::span<const rules::Sample> stored,
                        std::span<const rules::Sample> fresh) {
  HistoryDiff out;
  auto s = stored.begin();
  for (const rules::Sample& f : fresh) {
    const std::int64_t at = Ms(f.at);
    while (s != stored.end() && Ms(s->at) < at) ++s;
    if (s == stored.end() || Ms(s->at) != at) {
      ++out.added;
    } else if (!Same(s->value, f.value)) {
      out.restated.push_back({s->at, s->value, f.value});
    }
  }
  return out;
}

std::vector<store::StatusChange> DiffTimelines(const std::string& kpi,
                                               std::span<const BacktestStatus> before,
                                               std::span<const BacktestStatus> after,
                                               TimePoint until) {
  std::vector<store::StatusChange> out;
  std::string was;
  std::string is;
  std::optional<store::StatusChange> open;
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    const TimePoint t = std::min(b != before.end() ? b->at : TimePoint::max(),
                                 a != after.end() ? a->at : TimePoint::max());
    if (b != before.end() && b->at == t) was = (b++)->status;
    if (a != after.end() && a->at == t) is = (a++)->status;
    if (open && (open->before != was || open->after != is)) {
      open->until = t;
      out.push_back(std::move(*open));
      open.reset();
    }
    if (!open && was != is) open = store::StatusChange{kpi, t, t, was, is};
  }
  if (open) {
    open->until = until;
    out.push_back(std::move(*open));
  }
  return out;
}

std::vector<store::StatusChange> CompareStatuses(
    const std::shared_ptr<const config::Config>& config, const std::string& kpi,
    const HistoryReader& before, const HistoryReader& after, TimePoint since, TimePoint until) {
  if (until < since) return {};
  BacktestOptions options;
  options.step = ReplayStep(config->evaluation.interval, until - since);
  // From a multiple of the step at or before `since`: the first evaluation that sees it.
  options.since = TimePoint(since.time_since_epoch() / options.step * options.step);
  options.until = until;
  options.kpis = ReplayGroup(*config, kpi);
  // The replay's engines take only the group: applying a config of a thousand KPIs costs
  // more than replaying a year of one.
  auto group = std::make_shared<config::Config>(*config);
  std::erase_if(group->kpis, [&](const config::Kpi& k) {
    return std::find(options.kpis.begin(), options.kpis.end(), k.name) == options.kpis.end();
  });
  const BacktestReport was = Backtest(group, before, options);
  const BacktestReport is = Backtest(group, after, options);
  std::vector<store::StatusChange> out;
  for (std::size_t k = 0; k < was.kpis.size() && k < is.kpis.size(); ++k) {
    std::vector<store::StatusChange> spans =
        DiffTimelines(was.kpis[k].kpi, was.kpis[k].timeline, is.kpis[k].timeline, until);
    out.insert(out.end(), std::make_move_iterator(spans.begin()),
               std::make_move_iterator(spans.end()));
  }
  return out;
}

std::vector<store::RestatedPeriod> RejudgePeriods(const config::Kpi& kpi,
                                                  const store::StoredPeriods& stored,
                                                  const SampleLookup& after, TimePoint since) {
  std::vector<store::RestatedPeriod> out;
  const auto* goal = kpi.goal ? std::get_if<config::DeadlineGoal>(&kpi.goal->kind) : nullptr;
  if (goal == nullptr || !goal->period) return out;
  // As RollPeriod finds a carried baseline: the previous period's closing value, or for a
  // KPI's first period with data, the first value in it.
  const auto carried = [&](const store::PeriodRow& row) -> std::optional<double> {
    if (auto s = after.at_or_before(row.start)) return s->value;
    if (auto s = after.first_from(row.start); s && s->at <= row.end) return s->value;
    return std::nullopt;
  };
  // Oldest first (the store gives newest first); by index: clang 14's ranges cannot take
  // libstdc++ 12's reverse_view.
  for (std::size_t i = stored.closed.size(); i-- > 0;) {
    const store::PeriodRow& was = stored.closed[i];
    if (was.end < since) continue;  // its values are older than anything restated
    store::PeriodRow is = was;
    if (goal->carry_baseline) is.baseline = carried(was);
    const std::optional<rules::Sample> last = after.at_or_before(was.end);
    is.final_value = last ? std::optional(last->value) : std::nullopt;
    is.progress.reset();
    if (last && is.baseline) {
      rules::DeadlineGoal judged;
      judged.baseline = *is.baseline;
      judged.target = was.target;
      is.progress = rules::Progress(judged, last->value);
    }
    const bool achieved = is.progress && *is.progress >= 1.0 - rules::kProgressTolerance;
    is.result = achieved ? "achieved" : "missed";
    if (is.baseline != was.baseline || is.final_value != was.final_value ||
        is.progress != was.progress || is.result != was.result) {
      out.push_back({was, std::move(is)});
    }
  }
  if (goal->carry_baseline && stored.open && stored.open->start >= since) {
    store::PeriodRow is = *stored.open;
    is.baseline = carried(is);
    if (is.baseline != stored.open->baseline) out.push_back({*stored.open, std::move(is)});
  }
  return out;
}

}  // namespace kpid
