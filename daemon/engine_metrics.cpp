// The engine's per-KPI series (DESIGN.md "Metrics"). One walk over the KPIs feeds both
// Collect(), for prometheus-cpp, and RenderText(), which /metrics uses: 10,000 KPIs are
// some 170,000 series, and building a ClientMetric with its own copy of the labels for
// each, then serializing it through an ostream, took 295 ms a scrape.
#include <array>
#include <cmath>
#include <string_view>

#include <prometheus/metric_family.h>

#include "daemon/engine.hpp"

namespace kpid {
namespace {

struct Family {
  std::string_view name;
  std::string_view help;
  prometheus::MetricType type = prometheus::MetricType::Gauge;
};

// In the order /metrics lists them.
enum FamilyIndex : std::size_t {
  kValue,
  kTimestamp,
  kTarget,
  kBaseline,
  kExpected,
  kProgress,
  kExpectedProgress,
  kForecast,
  kLower,
  kUpper,
  kLikelihood,
  kRequiredRate,
  kCurrentRate,
  kHit,
  kDeadline,
  kStatus,
  kFiring,
  kPeriods,
  kFamilies,
};

constexpr std::array<Family, kFamilies> kFamilyList = {{
    {"kpi_value", "Latest value of the KPI."},
    {"kpi_last_sample_timestamp_seconds", "Timestamp of the KPI's latest sample."},
    {"kpi_target", "Target value of the KPI's goal."},
    {"kpi_baseline", "Baseline value of the KPI's goal (progress 0)."},
    {"kpi_expected_value", "Value the goal's trajectory expects by now."},
    {"kpi_progress_ratio", "Progress from baseline (0) to target (1)."},
    {"kpi_expected_progress_ratio", "Progress the goal's trajectory expects by now."},
    {"kpi_forecast_value", "Least-squares forecast of the value at the deadline."},
    {"kpi_forecast_lower_value", "Lower end of the 80 % prediction interval at the deadline."},
    {"kpi_forecast_upper_value", "Upper end of the 80 % prediction interval at the deadline."},
    {"kpi_goal_likelihood_ratio", "Probability that the value reaches the target by the deadline."},
    {"kpi_required_rate_per_day", "Change per day needed from now to reach the target in time."},
    {"kpi_current_rate_per_day", "Slope of the forecast line, per day."},
    {"kpi_projected_hit_timestamp_seconds", "When the forecast line reaches the target."},
    {"kpi_deadline_timestamp_seconds", "Deadline of the KPI's goal."},
    {"kpi_status", "Goal status: 1 for the current status, 0 for the others."},
    {"kpi_alert_firing", "1 while the alert is firing, else 0."},
    {"kpi_goal_periods_total", "Closed periods of a recurring goal, by result (achieved, missed).",
     prometheus::MetricType::Counter},
}};

// A series' label beyond the KPI's own (status, alert and severity, result).
struct ExtraLabel {
  std::string_view name;
  std::string_view value;
};

double Seconds(TimePoint t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

// Calls sink(family, extra_labels, value) for every series of one KPI; a NaN value has none.
template <typename Sink>
void WalkSeries(const KpiView& view, Sink&& sink) {
  auto add = [&](FamilyIndex f, double v) {
    if (!std::isnan(v)) sink(f, std::span<const ExtraLabel>{}, v);
  };
  if (view.latest) {
    add(kValue, view.latest->value);
    add(kTimestamp, Seconds(view.latest->at));
  }
  const rules::Variables& v = view.evaluation.variables;
  if (view.spec.goal) {
    if (const auto* goal = std::get_if<rules::DeadlineGoal>(&view.spec.goal->kind)) {
      add(kTarget, goal->target);
      add(kBaseline, goal->baseline);
      const auto& configured = std::get<config::DeadlineGoal>(view.config->goal->kind);
      const bool periodic = configured.period.has_value();
      // A recurring goal has its deadline from its first evaluation on.
      if (!periodic || view.period) add(kDeadline, Seconds(goal->deadline));
      if (periodic) {
        for (const auto& [result, count] :
             {std::pair{"achieved", view.periods_achieved}, {"missed", view.periods_missed}}) {
          const ExtraLabel label{"result", result};
          sink(kPeriods, std::span(&label, 1), static_cast<double>(count));
        }
      }
      add(kExpected, v.expected);
      add(kProgress, v.progress);
      add(kExpectedProgress, v.expected_progress);
      add(kForecast, v.forecast);
      add(kLower, v.forecast_lower);
      add(kUpper, v.forecast_upper);
      add(kLikelihood, v.likelihood);
      add(kRequiredRate, v.required_rate);
      add(kCurrentRate, v.current_rate);
      if (view.evaluation.projected_hit) add(kHit, Seconds(*view.evaluation.projected_hit));
    }
    if (view.evaluation.status) {
      for (rules::Status s : rules::kAllStatuses) {
        const ExtraLabel label{"status", rules::StatusName(s)};
        sink(kStatus, std::span(&label, 1), s == *view.evaluation.status ? 1.0 : 0.0);
      }
    }
  }
  for (const AlertView& alert : view.alerts) {
    const std::array<ExtraLabel, 2> labels = {
        {{"alert", alert.id}, {"severity", rules::SeverityName(alert.severity)}}};
    sink(kFiring, std::span(labels), alert.state.phase == rules::AlertPhase::kFiring ? 1.0 : 0.0);
  }
}

}  // namespace

std::vector<prometheus::MetricFamily> Engine::Collect() const {
  std::array<prometheus::MetricFamily, kFamilies> families;
  for (std::size_t f = 0; f < kFamilies; ++f) {
    families[f].name = kFamilyList[f].name;
    families[f].help = kFamilyList[f].help;
    families[f].type = kFamilyList[f].type;
  }
  for (const KpiView& view : views_) {
    std::vector<prometheus::ClientMetric::Label> labels = {{"kpi", view.config->name}};
    for (const auto& [k, v] : view.config->labels) labels.push_back({k, v});
    WalkSeries(view, [&](FamilyIndex f, std::span<const ExtraLabel> extra, double value) {
      prometheus::ClientMetric metric;
      metric.label = labels;
      for (const ExtraLabel& l : extra) {
        metric.label.push_back({std::string(l.name), std::string(l.value)});
      }
      (kFamilyList[f].type == prometheus::MetricType::Counter ? metric.counter.value
                                                              : metric.gauge.value) = value;
      families[f].metric.push_back(std::move(metric));
    });
  }
  std::vector<prometheus::MetricFamily> out;
  for (prometheus::MetricFamily& f : families) {
    if (!f.metric.empty()) out.push_back(std::move(f));
  }
  return out;
}

void Engine::RenderText(std::vector<std::string>& pieces) const {
  // A header and a text per family: the series go to their family's text as the KPIs are
  // walked, and /metrics concatenates the pieces, so 16 MB of text is copied once.
  pieces.resize(2 * kFamilies);
  for (std::string& piece : pieces) piece.clear();  // keeps the capacity of the last time
  std::array<std::string, kFamilies> opening;       // "kpi_value{"
  for (std::size_t f = 0; f < kFamilies; ++f) {
    opening[f] = std::string(kFamilyList[f].name) + '{';
  }
  std::string labels;
  for (const KpiView& view : views_) {
    labels.clear();
    exposition::AppendLabel(labels, "kpi", view.config->name);
    for (const auto& [k, v] : view.config->labels) {
      labels += ',';
      exposition::AppendLabel(labels, k, v);
    }
    WalkSeries(view, [&](FamilyIndex f, std::span<const ExtraLabel> extra, double value) {
      std::string& t = pieces[2 * f + 1];
      t += opening[f];
      t += labels;
      for (const ExtraLabel& l : extra) {
        t += ',';
        exposition::AppendLabel(t, l.name, l.value);
      }
      t += "} ";
      exposition::AppendValue(t, value);
      t += '\n';
    });
  }
  for (std::size_t f = 0; f < kFamilies; ++f) {
    if (pieces[2 * f + 1].empty()) continue;
    exposition::AppendHeader(pieces[2 * f], kFamilyList[f].name, kFamilyList[f].help,
                             kFamilyList[f].type);
  }
}

}  // namespace kpid
