#include "daemon/engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <date/date.h>

#include "daemon/goal_builder.hpp"
#include "rules/annotation.hpp"

namespace kpid {
namespace {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

rules::Template MustParse(const std::string& text) {
  // The config loader has parsed every template already; this cannot fail.
  auto parsed = rules::Template::Parse(text);
  return std::get<rules::Template>(std::move(parsed));
}

rules::Expression MustCompile(const std::string& text, rules::VariableSet& vars) {
  auto compiled = rules::Expression::Compile(text, vars);
  return std::get<rules::Expression>(std::move(compiled));
}

std::string Day(TimePoint t) {
  return date::format("%F", std::chrono::floor<std::chrono::seconds>(t));
}

// The goal alert's summary: what a leader reading a notification needs in one line.
std::string GoalSummary(const config::Kpi& kpi, const rules::KpiSpec& spec,
                        std::optional<rules::Status> status, const rules::Variables& v) {
  const std::string unit = kpi.unit.empty() ? "" : " " + kpi.unit;
  if (status == rules::Status::kNoData) {
    if (std::isnan(v.value)) return kpi.title + " has no data: no value collected yet";
    return kpi.title + " has no fresh data: the latest value, " + rules::FormatNumber(v.value) +
           unit + ", is " + rules::FormatNumber(v.age_seconds / 60) + " min old";
  }
  std::string name = status ? std::string(rules::StatusName(*status)) : "unknown";
  std::replace(name.begin(), name.end(), '_', ' ');  // "off track" reads as prose
  std::string out = kpi.title + " is " + name;
  if (std::isnan(v.value)) return out + ": no value";
  out += ": " + rules::FormatNumber(v.value) + unit;
  if (const auto* deadline = std::get_if<rules::DeadlineGoal>(&spec.goal->kind)) {
    out += ", expected " + rules::FormatNumber(v.expected) + unit + " by now, target " +
           rules::FormatNumber(deadline->target) + unit + " by " + Day(deadline->deadline);
  } else {
    const auto& band = std::get<rules::BandGoal>(spec.goal->kind);
    if (band.min) out += ", min " + rules::FormatNumber(*band.min) + unit;
    if (band.max) out += ", max " + rules::FormatNumber(*band.max) + unit;
  }
  return out;
}

// A periodic catch-up closes at most this many periods (ten years of weeks); a daemon down
// for longer resumes at the current period without recording those in between.
constexpr int kMaxCatchUpPeriods = 520;

const config::DeadlineGoal* PeriodicGoal(const config::Kpi& kpi) {
  if (!kpi.goal) return nullptr;
  const auto* goal = std::get_if<config::DeadlineGoal>(&kpi.goal->kind);
  return goal != nullptr && goal->period ? goal : nullptr;
}

// The spec's goal follows the current period.
void SyncPeriodGoal(KpiView& view) {
  if (!view.period || !view.spec.goal) return;
  auto* goal = std::get_if<rules::DeadlineGoal>(&view.spec.goal->kind);
  if (goal == nullptr) return;
  goal->start = view.period->period.start;
  goal->deadline = view.period->period.end;
  goal->baseline = view.period->baseline.value_or(kNoValue);
}

// Lookups over a KPI's latest and previous sample and, for older ones, `source` (the
// store, a backtest's history), asked only when a lookup runs: rarely, at a rollover.
SampleLookup WithLatest(const rules::Series& series, const Engine::HistorySource& source,
                        const std::string& kpi) {
  SampleLookup lookup;
  lookup.at_or_before = [&series, &source, &kpi](TimePoint t) {
    std::optional<rules::Sample> found;
    auto consider = [&](const std::optional<rules::Sample>& s) {
      if (s && s->at <= t && (!found || s->at > found->at)) found = s;
    };
    consider(series.Latest());
    consider(series.Previous());
    // The latest two are newer than the rest: the source only when neither is old enough.
    if (!found && source) {
      if (const SampleLookup older = source(kpi); older.at_or_before) {
        consider(older.at_or_before(t));
      }
    }
    return found;
  };
  lookup.first_from = [&series, &source, &kpi](TimePoint t) {
    std::optional<rules::Sample> found;
    auto consider = [&](const std::optional<rules::Sample>& s) {
      if (s && s->at >= t && (!found || s->at < found->at)) found = s;
    };
    consider(series.Latest());
    consider(series.Previous());
    if (source) {
      if (const SampleLookup older = source(kpi); older.first_from) consider(older.first_from(t));
    }
    return found;
  };
  return lookup;
}

}  // namespace

struct Engine::Runtime {
  explicit Runtime(rules::Duration forecast_window) : series(forecast_window) {}

  struct Alert {
    const config::Rule* rule = nullptr;  // nullptr: the goal alert
    std::optional<rules::Expression> when;
    std::optional<rules::Expression> recover_when;
    std::optional<rules::Template> summary;
    std::optional<rules::Template> description;
  };

  rules::Series series;
  double* slot = nullptr;                 // this KPI's latest value, for expressions
  std::optional<rules::Expression> expr;  // derived KPI
  std::vector<std::size_t> inputs;        // derived KPI: the KPIs it reads, by index
  std::vector<Alert> alerts;              // parallel to KpiView::alerts
};

Engine::Engine() = default;
Engine::~Engine() = default;

std::vector<std::string> Engine::Apply(std::shared_ptr<const config::Config> config) {
  ++version_;
  std::vector<std::string> names;
  for (const config::Kpi& kpi : config->kpis) names.push_back(kpi.name);
  std::vector<std::string> all(rules::kExpressionVariableNames.begin(),
                               rules::kExpressionVariableNames.end());
  all.insert(all.end(), names.begin(), names.end());
  auto vars = std::make_unique<rules::VariableSet>(all);

  std::vector<std::unique_ptr<Runtime>> runtimes;
  std::vector<KpiView> views;
  std::map<std::string, std::size_t, std::less<>> index;
  std::vector<std::string> reseed;
  for (const config::Kpi& kpi : config->kpis) {
    KpiView view;
    view.config = &kpi;
    view.spec = BuildKpiSpec(kpi, config->evaluation.zone);
    auto runtime = std::make_unique<Runtime>(rules::MakeSeries(view.spec).ForecastWindow());
    runtime->slot = vars->Slot(kpi.name);
    if (kpi.expr) {
      runtime->expr = MustCompile(kpi.expr->text, *vars);
      for (const std::string& used : runtime->expr->UsedVariables()) {
        if (auto it = index.find(used); it != index.end()) runtime->inputs.push_back(it->second);
      }
    }
    if (kpi.goal) {
      runtime->alerts.emplace_back();
      view.alerts.push_back(
          {rules::GoalAlertId(kpi.name), "goal", {}, rules::Severity::kWarning, "", ""});
    }
    for (const config::Rule& rule : kpi.rules) {
      Runtime::Alert alert;
      alert.rule = &rule;
      alert.when = MustCompile(rule.when.text, *vars);
      if (rule.recover_when) alert.recover_when = MustCompile(rule.recover_when->text, *vars);
      if (rule.summary) alert.summary = MustParse(rule.summary->text);
      if (rule.description) alert.description = MustParse(rule.description->text);
      runtime->alerts.push_back(std::move(alert));
      view.alerts.push_back(
          {rules::RuleAlertId(kpi.name, rule.name), rule.name, {}, rule.severity, "", ""});
    }

    // Carry over what the KPI had under the previous config.
    if (auto old = index_.find(kpi.name); old != index_.end()) {
      KpiView& before = views_[old->second];
      Runtime& was = *runtimes_[old->second];
      view.latest = before.latest;
      view.last_error = before.last_error;
      view.collected_once = before.collected_once;
      view.evaluation = before.evaluation;
      const config::DeadlineGoal* periodic = PeriodicGoal(kpi);
      const config::DeadlineGoal* was_periodic = PeriodicGoal(*before.config);
      if (periodic != nullptr && was_periodic != nullptr) {
        view.past_periods = before.past_periods;
        view.periods_achieved = before.periods_achieved;
        view.periods_missed = before.periods_missed;
        // Same periods: the current one goes on; its baseline follows the new config.
        if (before.period && periodic->period == was_periodic->period &&
            periodic->fiscal_year_start == was_periodic->fiscal_year_start) {
          view.period = before.period;
          if (!periodic->carry_baseline) {
            view.period->baseline = periodic->baseline;
          } else if (!was_periodic->carry_baseline) {
            view.period->baseline.reset();  // found in the data at the next evaluation
          }
          SyncPeriodGoal(view);
        }
      }
      if (was.series.ForecastWindow() == runtime->series.ForecastWindow()) {
        runtime->series = std::move(was.series);
      } else {
        reseed.push_back(kpi.name);
      }
      for (AlertView& alert : view.alerts) {
        for (const AlertView& previous : before.alerts) {
          if (previous.id != alert.id) continue;
          alert.state = previous.state;
          alert.summary = previous.summary;
          alert.description = previous.description;
          if (alert.state.phase == rules::AlertPhase::kFiring ||
              alert.state.phase == rules::AlertPhase::kResolved) {
            alert.severity = alert.state.severity;
          }
        }
      }
    } else {
      reseed.push_back(kpi.name);
    }
    index.emplace(kpi.name, views.size());
    views.push_back(std::move(view));
    runtimes.push_back(std::move(runtime));
  }
  // The old expressions point into the old variable set: replace both together.
  runtimes_ = std::move(runtimes);
  vars_ = std::move(vars);
  slots_ = std::make_unique<rules::VariableSlots>(*vars_);
  views_ = std::move(views);
  index_ = std::move(index);
  config_ = std::move(config);
  event_slots_.clear();  // goal events: refilled for the new KPIs by DetectEvents()
  return reseed;
}

TimePoint Engine::HistoryStart(const std::string& kpi, TimePoint now) const {
  auto it = index_.find(kpi);
  rules::Duration window = rules::Series::kStatsWindow;
  if (it != index_.end()) {
    window = std::max(window, runtimes_[it->second]->series.ForecastWindow());
  }
  return now - window;
}

const KpiView* Engine::Find(std::string_view kpi) const {
  auto it = index_.find(kpi);
  return it == index_.end() ? nullptr : &views_[it->second];
}

std::vector<std::string> Engine::AlertIds() const {
  std::vector<std::string> ids;
  for (const KpiView& view : views_) {
    for (const AlertView& alert : view.alerts) ids.push_back(alert.id);
  }
  return ids;
}

void Engine::Seed(const std::string& kpi, std::span<const rules::Sample> samples, TimePoint now) {
  ++version_;
  auto it = index_.find(kpi);
  if (it == index_.end() || samples.empty()) return;
  KpiView& view = views_[it->second];
  rules::Series& series = runtimes_[it->second]->series;
  // Incoming samples first so that, for equal timestamps, stable_sort + unique keep them.
  std::vector<rules::Sample> merged(samples.begin(), samples.end());
  for (const auto& kept : {series.Previous(), series.Latest()}) {
    if (kept) merged.push_back(*kept);
  }
  std::stable_sort(merged.begin(), merged.end(),
                   [](const auto& a, const auto& b) { return a.at < b.at; });
  merged.erase(std::unique(merged.begin(), merged.end(),
                           [](const auto& a, const auto& b) { return a.at == b.at; }),
               merged.end());
  std::erase_if(merged, [](const rules::Sample& s) { return !std::isfinite(s.value); });
  series.Assign(merged, now);
  view.latest = series.Latest();
}

void Engine::RestoreAlerts(std::span<const store::AlertRow> rows) {
  ++version_;
  for (const store::AlertRow& row : rows) {
    auto it = index_.find(row.kpi);
    if (it == index_.end()) continue;
    for (AlertView& alert : views_[it->second].alerts) {
      if (alert.id != row.id) continue;
      alert.state = row.state;
      if (alert.state.phase == rules::AlertPhase::kFiring ||
          alert.state.phase == rules::AlertPhase::kResolved) {
        alert.severity = alert.state.severity;
      }
    }
  }
}

std::vector<store::PeriodRow> Engine::RestorePeriods(const std::string& kpi,
                                                     const store::StoredPeriods& stored,
                                                     const SampleLookup& history, TimePoint now) {
  auto it = index_.find(kpi);
  if (it == index_.end()) return {};
  KpiView& view = views_[it->second];
  const config::DeadlineGoal* goal = PeriodicGoal(*view.config);
  if (goal == nullptr) return {};
  ++version_;
  const date::time_zone* zone = config_->evaluation.zone;
  view.past_periods.clear();
  for (const store::PeriodRow& row : stored.closed) {
    if (view.past_periods.size() == kMaxPastPeriods) break;
    view.past_periods.push_back(
        {rules::PeriodLabel(*goal->period, goal->fiscal_year_start, zone, row.start), row});
  }
  view.periods_achieved = stored.achieved;
  view.periods_missed = stored.missed;
  if (stored.open && (!view.period || stored.open->start <= view.period->period.start)) {
    // Only a period of the configured kind: after a change of `period` the stored one is
    // not continued (the next save replaces it).
    const rules::Period fits =
        rules::PeriodAt(*goal->period, goal->fiscal_year_start, zone, stored.open->start);
    if (fits.start == stored.open->start && fits.end == stored.open->end) {
      view.period = PeriodView{
          *goal->period,
          rules::PeriodLabel(*goal->period, goal->fiscal_year_start, zone, fits.start), fits,
          goal->carry_baseline ? stored.open->baseline : std::optional(goal->baseline)};
    }
  }
  std::vector<store::PeriodRow> out;
  RollPeriod(view, now, history, out);
  return out;
}

void Engine::RollPeriod(KpiView& view, TimePoint now, const SampleLookup& history,
                        std::vector<store::PeriodRow>& out) {
  const config::DeadlineGoal* goal = PeriodicGoal(*view.config);
  if (goal == nullptr) return;
  const date::time_zone* zone = config_->evaluation.zone;
  const rules::PeriodKind kind = *goal->period;
  auto open = [&](const rules::Period& period, std::optional<double> carried) {
    view.period =
        PeriodView{kind, rules::PeriodLabel(kind, goal->fiscal_year_start, zone, period.start),
                   period, goal->carry_baseline ? carried : std::optional(goal->baseline)};
  };
  // A carried baseline: the previous period's closing value, or for a KPI's first period
  // with data, the first value in it.
  auto find_baseline = [&](const rules::Period& period) -> std::optional<double> {
    if (auto s = history.at_or_before(period.start)) return s->value;
    if (auto s = history.first_from(period.start); s && s->at <= period.end) return s->value;
    return std::nullopt;
  };
  bool changed = false;
  if (!view.period) {
    const rules::Period period = rules::PeriodAt(kind, goal->fiscal_year_start, zone, now);
    open(period, goal->carry_baseline ? find_baseline(period) : std::nullopt);
    changed = true;
  }
  for (int closed = 0; now >= view.period->period.end; ++closed) {
    if (closed == kMaxCatchUpPeriods) {
      const rules::Period period = rules::PeriodAt(kind, goal->fiscal_year_start, zone, now);
      open(period, goal->carry_baseline ? find_baseline(period) : std::nullopt);
      break;
    }
    PeriodView& current = *view.period;
    if (!current.baseline && goal->carry_baseline) current.baseline = find_baseline(current.period);
    store::PeriodRow row;
    row.kpi = view.config->name;
    row.start = current.period.start;
    row.end = current.period.end;
    row.baseline = current.baseline;
    row.target = goal->target;
    const std::optional<rules::Sample> last = history.at_or_before(current.period.end);
    if (last) row.final_value = last->value;
    if (last && current.baseline) {
      rules::DeadlineGoal judged;
      judged.baseline = *current.baseline;
      judged.target = goal->target;
      row.progress = rules::Progress(judged, last->value);
    }
    const bool achieved = row.progress && *row.progress >= 1.0 - rules::kProgressTolerance;
    row.result = achieved ? "achieved" : "missed";
    ++(achieved ? view.periods_achieved : view.periods_missed);
    view.past_periods.insert(view.past_periods.begin(), {current.label, row});
    if (view.past_periods.size() > kMaxPastPeriods) view.past_periods.pop_back();
    out.push_back(std::move(row));
    open(rules::PeriodAt(kind, goal->fiscal_year_start, zone, current.period.end),
         last ? std::optional(last->value) : std::nullopt);
    changed = true;
  }
  if (!view.period->baseline && goal->carry_baseline) {
    view.period->baseline = find_baseline(view.period->period);
    changed = changed || view.period->baseline.has_value();
  }
  SyncPeriodGoal(view);
  if (!changed) return;
  ++version_;
  out.push_back({view.config->name, view.period->period.start, view.period->period.end,
                 view.period->baseline, goal->target, "", std::nullopt, std::nullopt});
}

std::optional<store::SampleRow> Engine::Record(const std::string& kpi,
                                               const collectors::CollectResult& result) {
  ++version_;
  auto it = index_.find(kpi);
  if (it == index_.end()) return std::nullopt;  // removed by a reload while it ran
  KpiView& view = views_[it->second];
  view.collected_once = true;
  if (const auto* error = std::get_if<collectors::CollectError>(&result)) {
    view.last_error = *error;
    return std::nullopt;
  }
  view.last_error.reset();
  const auto& collected = std::get<collectors::Sample>(result);
  rules::Sample sample{collected.timestamp, collected.value};
  rules::Series& series = runtimes_[it->second]->series;
  // A source that reports the same row again (a CSV's last line) adds nothing.
  if (series.Latest() && sample.at <= series.Latest()->at) return std::nullopt;
  if (!series.Add(sample)) return std::nullopt;
  view.latest = sample;
  return store::SampleRow{kpi, sample};
}

void Engine::RecordReplayed(std::size_t kpi, const rules::Sample& sample) {
  ++version_;
  KpiView& view = views_[kpi];
  view.collected_once = true;
  view.last_error.reset();
  rules::Series& series = runtimes_[kpi]->series;
  if (series.Latest() && sample.at <= series.Latest()->at) return;
  if (series.Add(sample)) view.latest = sample;
}

Engine::Cycle Engine::Evaluate(TimePoint now) {
  std::vector<std::size_t> all(views_.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  return Evaluate(now, all);
}

Engine::Cycle Engine::Evaluate(TimePoint now, std::span<const std::size_t> kpis) {
  ++version_;
  Cycle cycle;
  // Every KPI name reads its latest value, derived ones as computed below.
  for (const std::size_t i : kpis) {
    *runtimes_[i]->slot = views_[i].latest ? views_[i].latest->value : kNoValue;
  }
  // Derived KPIs: the config lists them after the KPIs they read.
  for (const std::size_t i : kpis) {
    Runtime& runtime = *runtimes_[i];
    if (!runtime.expr) continue;
    KpiView& view = views_[i];
    bool inputs_collected = true;
    std::optional<TimePoint> newest;
    for (std::size_t input : runtime.inputs) {
      inputs_collected = inputs_collected && views_[input].collected_once;
      if (views_[input].latest)
        newest = std::max(newest.value_or(TimePoint::min()), views_[input].latest->at);
    }
    view.collected_once = inputs_collected;
    auto value = runtime.expr->Evaluate();
    if (const auto* error = std::get_if<std::string>(&value)) {
      if (inputs_collected) {
        view.last_error =
            collectors::CollectError{collectors::ErrorKind::kEmpty, "expr: " + *error};
      }
      continue;
    }
    view.last_error.reset();
    // A derived value is as old as the newest value it is computed from, so that it goes
    // stale (no_data) with its inputs.
    rules::Sample sample{newest.value_or(now), std::get<double>(value)};
    if (runtime.series.Latest() && sample.at <= runtime.series.Latest()->at) {
      if (runtime.series.Latest()->value == sample.value) continue;
      // Same inputs' time but another value (e.g. a config change): record it as of now.
      sample.at = now;
    }
    if (runtime.series.Add(sample)) {
      view.latest = sample;
      *runtime.slot = sample.value;
      cycle.samples.push_back({view.config->name, sample});
    }
  }

  for (const std::size_t i : kpis) {
    KpiView& view = views_[i];
    Runtime& runtime = *runtimes_[i];
    if (PeriodicGoal(*view.config) != nullptr) {
      RollPeriod(view, now, WithLatest(runtime.series, history_source_, view.config->name),
                 cycle.periods);
    }
    rules::EvaluateInto(view.spec, runtime.series, view.collected_once, now, view.evaluation);
    if (!view.evaluation.judged) continue;  // alerts wait for the first collection
    slots_->Write(view.evaluation.variables);
    const std::optional<rules::Status> status = view.evaluation.status;
    for (std::size_t a = 0; a < view.alerts.size(); ++a) {
      AlertView& alert = view.alerts[a];
      Runtime::Alert& how = runtime.alerts[a];
      rules::AlertInput input;
      rules::Duration for_duration{};
      if (how.rule == nullptr) {
        if (!status) continue;
        input = rules::GoalAlertInput(*view.spec.goal, *status);
        for_duration = view.spec.goal->for_duration;
        if (alert.state.phase != rules::AlertPhase::kFiring) {
          alert.severity = rules::SeverityOf(*status);
        }
      } else {
        input.condition = rules::RuleCondition(alert.state.phase, *how.when,
                                               how.recover_when ? &*how.recover_when : nullptr);
        input.severity = how.rule->severity;
        input.status = status;
        input.notify_changes = false;
        for_duration = how.rule->for_duration;
      }
      std::optional<rules::Transition> transition =
          rules::Step(alert.state, for_duration, input, now);
      if (!transition) continue;
      alert.severity = transition->severity;
      const config::Kpi& kpi = *view.config;
      rules::Labels labels = rules::AlertLabels(kpi.name, alert.id, transition->severity,
                                                transition->status, kpi.labels);
      if (rules::Notifies(transition->event)) {
        rules::AnnotationContext context{kpi.name,           kpi.title,
                                         kpi.unit,           kpi.owner,
                                         alert.id,           alert.rule,
                                         transition->status, transition->severity,
                                         &kpi.labels,        &view.evaluation.variables,
                                         vars_.get()};
        if (how.rule == nullptr) {
          alert.summary =
              GoalSummary(kpi, view.spec, transition->status, view.evaluation.variables);
        } else if (how.summary) {
          alert.summary = rules::RenderAnnotation(*how.summary, context);
        } else {
          alert.summary = kpi.title + ": " + how.rule->name + " (" + how.rule->when.text + ")";
        }
        if (how.description) alert.description = rules::RenderAnnotation(*how.description, context);
      }
      cycle.alerts.push_back({alert.id, kpi.name, alert.state});
      cycle.changes.push_back({kpi.name, alert.id, *transition, std::move(labels), alert.summary,
                               alert.description, view.evaluation.variables});
    }
  }
  for (const std::size_t i : kpis) DetectEvents(i, now, cycle.events);
  return cycle;
}

// --- Goal events -----------------------------------------------------------------------

namespace {

// "50" for 0.5, "12.5" for 0.125: the threshold in percent, as keys and labels name it.
std::string PercentName(double threshold) {
  return rules::FormatNumber(std::round(threshold * 100.0 * 1e4) / 1e4);
}

// How far ahead of the trajectory progress `p` is at `now`: when the trajectory reaches p,
// minus now (negative: behind). nullopt outside the goal's span or for p outside (0, 1].
std::optional<rules::Duration> AheadOfTrajectory(const rules::DeadlineGoal& goal, double p,
                                                 TimePoint now) {
  if (!(p > 0) || p > 1 + rules::kProgressTolerance || now < goal.start || now > goal.deadline) {
    return std::nullopt;
  }
  TimePoint lo = goal.start;
  TimePoint hi = goal.deadline;
  // The trajectory never falls: the first instant it reaches p, to the second.
  while (hi - lo > std::chrono::seconds(1)) {
    const TimePoint mid = lo + (hi - lo) / 2;
    if (rules::ExpectedProgress(goal, mid) >= p - rules::kProgressTolerance) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return hi - now;
}

// The day a milestone names, for messages: the day its end-of-day instant closes.
std::string MilestoneDay(TimePoint at, const date::time_zone* zone) {
  const auto last = std::chrono::floor<std::chrono::seconds>(at) - std::chrono::seconds(1);
  if (zone == nullptr) return date::format("%F", last);
  return date::format("%F", date::make_zoned(zone, last));
}

// The period of a goal without periods.
const std::string kNoPeriod;

std::string MilestoneKey(TimePoint at) {
  return "milestone@" + date::format("%FT%TZ", std::chrono::floor<std::chrono::seconds>(at));
}

}  // namespace

void Engine::RestoreEvents(std::span<const store::EventRow> rows) {
  for (const store::EventRow& row : rows) {
    events_[row.kpi].insert(row.period + '\n' + row.event);
  }
  event_slots_.clear();
}

void Engine::DetectEvents(std::size_t i, TimePoint now, std::vector<GoalEvent>& out) {
  KpiView& view = views_[i];
  // A KPI without a value yet has nothing to tell.
  if (!view.evaluation.judged || !view.latest || !view.evaluation.status || !view.spec.goal) {
    return;
  }
  const auto* config = std::get_if<config::DeadlineGoal>(&view.config->goal->kind);
  const auto* goal = std::get_if<rules::DeadlineGoal>(&view.spec.goal->kind);
  if (config == nullptr || goal == nullptr) return;
  const rules::Status status = *view.evaluation.status;
  const double p = view.evaluation.variables.progress;
  // Progress counts while the value is fresh and known (a carried baseline may not be).
  const bool fresh = status != rules::Status::kNoData && std::isfinite(p);
  const std::string& period = view.period ? view.period->label : kNoPeriod;
  const std::string& kpi = view.config->name;

  if (event_slots_.size() != views_.size()) event_slots_.assign(views_.size(), EventSlot{});
  EventSlot& state = event_slots_[i];
  if (state.cached && state.period == period &&
      !(fresh && p >= state.next_threshold - rules::kProgressTolerance) &&
      !(fresh && status == rules::Status::kAchieved && !state.achieved) &&
      !(state.next_milestone && now >= *state.next_milestone)) {
    return;
  }
  if (state.told == nullptr) state.told = &events_[kpi];
  std::set<std::string, std::less<>>& told = *state.told;
  const std::string prefix = period + '\n';
  const auto is_told = [&](std::string_view key) {
    return told.contains(prefix + std::string(key));
  };
  // The goal's first judgement with a fresh value: what is past already is only recorded.
  const bool first = !told.contains("\njudged");
  if (first && !fresh) return;

  std::vector<GoalEvent> found;
  const auto make = [&](GoalEvent::Kind kind, std::string key, std::string name) {
    GoalEvent e;
    e.kind = kind;
    e.kpi = kpi;
    e.period = period;
    e.key = std::move(key);
    e.name = std::move(name);
    e.at = now;
    e.value = view.latest->value;
    e.progress = p;
    e.ahead = AheadOfTrajectory(*goal, p, now);
    e.silent = first;
    return e;
  };

  // The goal alert resolving in this pass because the goal is achieved: its receivers hear
  // "achieved" instead, also at a first judgement (the alert state was restored).
  bool goal_alert_resolved_now = false;
  for (const AlertView& alert : view.alerts) {
    if (alert.rule == "goal") {
      goal_alert_resolved_now =
          alert.state.phase == rules::AlertPhase::kResolved && alert.state.resolved_at == now;
    }
  }
  const bool achieved = fresh && status == rules::Status::kAchieved && !is_told("achieved");

  // Progress thresholds: of those first reached in this pass only the highest is told (it
  // says the others), none when the goal is achieved in the same pass.
  if (fresh) {
    std::size_t highest = found.size();
    for (double threshold : config->progress_events) {
      const std::string key = "progress_" + PercentName(threshold);
      if (p < threshold - rules::kProgressTolerance || is_told(key)) continue;
      GoalEvent e = make(GoalEvent::Kind::kProgress, key, key);
      e.threshold = threshold;
      e.silent = true;
      highest = found.size();
      found.push_back(std::move(e));
    }
    if (highest < found.size() && !achieved) found[highest].silent = first;
  }

  for (const rules::Milestone& milestone : goal->milestones) {
    if (now < milestone.at) break;  // in time order
    std::string key = MilestoneKey(milestone.at);
    if (is_told(key)) continue;
    const SampleLookup lookup = WithLatest(runtimes_[i]->series, history_source_, kpi);
    const std::optional<rules::Sample> then = lookup.at_or_before(milestone.at);
    const bool met =
        then && rules::Progress(*goal, then->value) >=
                    rules::Progress(*goal, milestone.value) - rules::kProgressTolerance;
    GoalEvent e = make(met ? GoalEvent::Kind::kMilestoneMet : GoalEvent::Kind::kMilestoneMissed,
                       std::move(key), met ? "milestone_met" : "milestone_missed");
    e.milestone_day = MilestoneDay(milestone.at, config_->evaluation.zone);
    e.milestone_value = milestone.value;
    e.value = then ? std::optional(then->value) : std::nullopt;
    e.progress = then ? rules::Progress(*goal, then->value) : kNoValue;
    e.ahead.reset();
    found.push_back(std::move(e));
  }

  if (achieved) {
    GoalEvent e = make(GoalEvent::Kind::kAchieved, "achieved", "achieved");
    e.silent = first && !goal_alert_resolved_now;
    found.push_back(std::move(e));
  }
  if (first) {
    GoalEvent e = make(GoalEvent::Kind::kJudged, "judged", "judged");
    e.period.clear();
    found.push_back(std::move(e));
  }
  if (!found.empty()) ++version_;
  for (GoalEvent& e : found) {
    told.insert(e.period + '\n' + e.key);
    out.push_back(std::move(e));
  }
  state.cached = true;
  state.period = period;
  state.next_threshold = std::numeric_limits<double>::infinity();
  for (double threshold : config->progress_events) {
    if (!is_told("progress_" + PercentName(threshold))) {
      state.next_threshold = std::min(state.next_threshold, threshold);
    }
  }
  state.next_milestone.reset();
  for (const rules::Milestone& milestone : goal->milestones) {
    if (!is_told(MilestoneKey(milestone.at))) {
      state.next_milestone = milestone.at;
      break;
    }
  }
  state.achieved = is_told("achieved");
}

}  // namespace kpid
