#include "daemon/web/detail_page.hpp"

#include <algorithm>
#include <cmath>
#include <variant>

#include <date/date.h>

#include "daemon/web/chart.hpp"
#include "daemon/web/html.hpp"
#include "daemon/web/parts.hpp"

namespace kpid::web {
namespace {

constexpr std::size_t kHistoryLimit = 10'000;
constexpr std::size_t kChartPoints = 600;
constexpr std::size_t kRecentSamples = 20;

// A <tr> with a row header.
void Row(std::string& out, std::string_view name, const std::string& value_html) {
  out += "<tr><th scope=\"row\">";
  out += name;
  out += "</th><td>";
  out += value_html;
  out += "</td></tr>\n";
}

std::string Table(std::string_view id, std::string_view caption, const std::string& rows) {
  return "<section aria-labelledby=\"" + std::string(id) + "\">\n<h2 id=\"" + std::string(id) +
         "\">" + std::string(caption) + "</h2>\n<div class=\"table-wrap\"><table>\n<tbody>\n" +
         rows + "</tbody>\n</table></div>\n</section>\n";
}

std::string OptionalTime(const std::optional<TimePoint>& t, const date::time_zone* zone) {
  return t ? TimeElement(*t, zone) : std::string(kNoValue);
}

std::string Figures(const KpiView& view, const date::time_zone* zone) {
  const std::string& unit = view.config->unit;
  const rules::Variables& v = view.evaluation.variables;
  auto q = [&](double x) { return Escape(FormatQuantity(x, unit)); };
  auto rounded = [&](double x) { return Escape(FormatQuantity(x, unit, kRoundedDigits)); };
  std::string rows;
  Row(rows, "Status", StatusBadge(StatusOf(view)));
  Row(rows, "Value", q(view.latest ? view.latest->value : kNaN));
  Row(rows, "Last sample",
      view.latest ? TimeElement(view.latest->at, zone) : std::string(kNoValue));
  Row(rows, "Previous value", q(v.prev));
  Row(rows, "Change", q(v.delta));
  if (view.spec.goal && std::holds_alternative<rules::DeadlineGoal>(view.spec.goal->kind)) {
    Row(rows, "Target", q(v.target));
    Row(rows, "Baseline", q(v.baseline));
    Row(rows, "Expected now", rounded(v.expected));
    Row(rows, "Progress", FormatPercent(v.progress));
    Row(rows, "Expected progress", FormatPercent(v.expected_progress));
    Row(rows, "Behind trajectory", FormatPercent(v.gap));
    Row(rows, "Forecast at deadline", rounded(v.forecast));
    Row(rows, "Forecast progress", FormatPercent(v.forecast_progress));
    Row(rows, "Forecast range (80 %)",
        std::isfinite(v.forecast_lower)
            ? rounded(v.forecast_lower) + " to " + rounded(v.forecast_upper)
            : std::string(kNoValue));
    Row(rows, "Likelihood of reaching the target", FormatPercent(v.likelihood));
    Row(rows, "Required rate", Escape(FormatRate(v.required_rate, unit)));
    Row(rows, "Current rate", Escape(FormatRate(v.current_rate, unit)));
    Row(rows, "Target reached", Escape(FormatProjectedHit(view, zone)));
    Row(rows, "Days left", FormatDaysLeft(v.days_left));
  }
  Row(rows, "7-day average", rounded(v.avg_7d));
  Row(rows, "7-day minimum", q(v.min_7d));
  Row(rows, "7-day maximum", q(v.max_7d));
  return Table("figures-h", "Figures", rows);
}

std::string Fraction(double f) { return FormatPercent(f) + " of the goal's range"; }

std::string GoalRows(const KpiView& view, const date::time_zone* zone) {
  const std::string& unit = view.config->unit;
  std::string rows;
  if (!view.spec.goal) {
    Row(rows, "Goal", "none");
    return Table("goal-h", "Goal", rows);
  }
  if (const auto* d = std::get_if<rules::DeadlineGoal>(&view.spec.goal->kind)) {
    Row(rows, "Goal", Escape(GoalText(view, zone)));
    if (view.period) {
      Row(rows, "Period",
          Escape(view.period->label + " (" + std::string(rules::PeriodKindName(view.period->kind)) +
                 ", recurring; " + std::to_string(view.periods_achieved) + " achieved, " +
                 std::to_string(view.periods_missed) + " missed before)"));
    }
    Row(rows, "Baseline", Escape(FormatQuantity(d->baseline, unit)));
    Row(rows, "Start", TimeElement(d->start, zone));
    Row(rows, "Deadline", EndElement(d->deadline, zone));
    for (const rules::Milestone& m : d->milestones) {
      Row(rows, "Milestone",
          Escape(FormatQuantity(m.value, unit)) + " by " + EndElement(m.at, zone));
    }
    Row(rows, "At risk beyond", Fraction(d->at_risk) + " behind");
    Row(rows, "Off track beyond", Fraction(d->off_track) + " behind");
    Row(rows, "Forecast counts", d->use_forecast ? "yes" : "no");
  } else {
    const auto& b = std::get<rules::BandGoal>(view.spec.goal->kind);
    Row(rows, "Goal", Escape(GoalText(view, zone)));
    auto bound = [&](const std::optional<double>& x) {
      return Escape(FormatQuantity(x ? *x : kNaN, unit));
    };
    Row(rows, "Minimum", bound(b.min));
    Row(rows, "Maximum", bound(b.max));
    Row(rows, "Warn below", bound(b.warn_min));
    Row(rows, "Warn above", bound(b.warn_max));
  }
  std::string notify;
  for (const rules::Status s : view.spec.goal->notify_on) {
    if (!notify.empty()) notify += ", ";
    notify += StatusWordsOf(rules::StatusName(s));
  }
  Row(rows, "Notifies on", notify.empty() ? std::string(kNoValue) : notify);
  return Table("goal-h", "Goal", rows);
}

std::string AlertsTable(const KpiView& view, const date::time_zone* zone) {
  std::string out = "<section aria-labelledby=\"alerts-h\">\n<h2 id=\"alerts-h\">Alerts</h2>\n";
  if (view.alerts.empty()) return out + "<p>This KPI has no alerts.</p>\n</section>\n";
  out +=
      "<div class=\"table-wrap\"><table>\n<thead><tr><th scope=\"col\">Alert</th>"
      "<th scope=\"col\">State</th><th scope=\"col\">Severity</th><th scope=\"col\">Status</th>"
      "<th scope=\"col\">Active since</th><th scope=\"col\">Fired at</th>"
      "<th scope=\"col\">Resolved at</th><th scope=\"col\">Summary</th></tr></thead>\n<tbody>\n";
  for (const AlertView& a : view.alerts) {
    const std::string_view phase = rules::AlertPhaseName(a.state.phase);
    out += "<tr><th scope=\"row\">" + Escape(a.id) + "</th><td><span class=\"badge ph-" +
           std::string(phase) +
           (a.state.phase == rules::AlertPhase::kFiring
                ? " sev-" + std::string(rules::SeverityName(a.severity))
                : "") +
           "\">" + std::string(phase) + "</span></td><td>" +
           std::string(rules::SeverityName(a.severity)) + "</td><td>" +
           (a.state.status ? std::string(StatusWordsOf(rules::StatusName(*a.state.status)))
                           : std::string(kNoValue)) +
           "</td><td>" + OptionalTime(a.state.active_since, zone) + "</td><td>" +
           OptionalTime(a.state.fired_at, zone) + "</td><td>" +
           OptionalTime(a.state.resolved_at, zone) + "</td><td>" +
           (a.summary.empty() ? std::string(kNoValue) : Escape(a.summary)) + "</td></tr>\n";
  }
  return out + "</tbody>\n</table></div>\n</section>\n";
}

std::string Legend(const KpiView& view) {
  std::string out = "<ul class=\"legend\" aria-label=\"Legend\"><li class=\"l-hist\">History</li>";
  if (!view.spec.goal) return out + "</ul>\n";
  if (std::holds_alternative<rules::BandGoal>(view.spec.goal->kind)) {
    return out + "<li class=\"l-band\">Goal band</li></ul>\n";
  }
  out += "<li class=\"l-traj\">Trajectory</li><li class=\"l-target\">Target</li>";
  if (!std::get<rules::DeadlineGoal>(view.spec.goal->kind).milestones.empty()) {
    out += "<li class=\"l-milestone\">Milestone</li>";
  }
  if (std::isfinite(view.evaluation.variables.forecast)) {
    out += "<li class=\"l-forecast\">Forecast</li>";
  }
  return out + "</ul>\n";
}

std::string RecentSamples(std::span<const rules::Sample> history, std::string_view unit,
                          const date::time_zone* zone) {
  std::string out =
      "<section aria-labelledby=\"samples-h\">\n<h2 id=\"samples-h\">Latest samples</h2>\n";
  if (history.empty()) return out + "<p>No stored samples in the chart's range.</p>\n</section>\n";
  out +=
      "<div class=\"table-wrap\"><table>\n<thead><tr><th scope=\"col\">Time</th>"
      "<th scope=\"col\">Value</th></tr></thead>\n<tbody>\n";
  const std::size_t n = std::min(history.size(), kRecentSamples);
  for (std::size_t i = 0; i < n; ++i) {
    const rules::Sample& s = history[history.size() - 1 - i];
    out += "<tr><td>" + TimeElement(s.at, zone) + "</td><td class=\"num\">" +
           Escape(FormatQuantity(s.value, unit)) + "</td></tr>\n";
  }
  return out + "</tbody>\n</table></div>\n</section>\n";
}

// The local day of `t` in `zone` (UTC when null), as <time>.
std::string DayElement(TimePoint t, const date::time_zone* zone) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const std::string day = zone == nullptr ? date::format("%F", seconds)
                                          : date::format("%F", date::make_zoned(zone, seconds));
  return "<time datetime=\"" + day + "\">" + day + "</time>";
}

// "1 value on 2026-11-21", "12 values from 2026-10-01 to 2026-10-12".
std::string RestatedSpan(const store::RestatementRow& row, const date::time_zone* zone) {
  const std::string first = DayElement(row.first, zone);
  const std::string last = DayElement(row.last, zone);
  const std::string count = std::to_string(row.values) + (row.values == 1 ? " value" : " values");
  if (first == last) return count + " on " + first;
  return count + " from " + first + " to " + last;
}

// A stored status name as the page's badge; "" (no status then) as "not judged".
std::string RestatedStatus(const std::string& name) {
  if (name.empty()) return "not judged";
  const auto known = std::find(std::begin(kStatusKeys), std::end(kStatusKeys), name);
  if (known == std::end(kStatusKeys)) return Escape(name);
  return StatusBadge(StatusInfo{.key = *known, .words = StatusWordsOf(*known)});
}

// "was On track, now Off track from … to …"; a change of a KPI that reads this one names it.
std::string StatusChangeItem(const PageSource& source, const KpiView& view,
                             const store::StatusChange& change, const date::time_zone* zone) {
  std::string out = "<li>";
  if (change.kpi != view.config->name) {
    const KpiView* other = source.Find(change.kpi);
    const std::string_view title =
        other != nullptr && other->config != nullptr ? TitleOf(*other) : change.kpi;
    out += "<a href=\"/kpi/" + UrlEncode(change.kpi) + "\">" + Escape(title) + "</a>: ";
  }
  out += "was " + RestatedStatus(change.before) + ", now " + RestatedStatus(change.after) +
         " from " + TimeElement(change.from, zone) + " to " + TimeElement(change.until, zone);
  return out + "</li>\n";
}

// "2026-10: was missed at 90 EUR, now achieved at 105 EUR", or for the open period of a
// carried baseline "2026-11: baseline was 90 EUR, now 105 EUR".
std::string PeriodChangeItem(const KpiView& view, const store::RestatedPeriod& change,
                             const date::time_zone* zone) {
  const config::Kpi& kpi = *view.config;
  const auto* goal = kpi.goal ? std::get_if<config::DeadlineGoal>(&kpi.goal->kind) : nullptr;
  const std::string label =
      goal != nullptr && goal->period
          ? rules::PeriodLabel(*goal->period, goal->fiscal_year_start, zone, change.after.start)
          : FormatTime(change.after.start, zone);
  const auto amount = [&](std::optional<double> v) {
    return v ? Escape(FormatQuantity(*v, kpi.unit)) : std::string("no value");
  };
  std::string out = "<li>" + Escape(label) + ": ";
  if (change.after.result.empty()) {
    out +=
        "baseline was " + amount(change.before.baseline) + ", now " + amount(change.after.baseline);
  } else {
    out += "was " + Escape(change.before.result) + " at " + amount(change.before.final_value) +
           ", now " + Escape(change.after.result) + " at " + amount(change.after.final_value);
  }
  return out + "</li>\n";
}

std::string Restatement(const PageSource& source, const KpiView& view,
                        const store::RestatementRow& row, const date::time_zone* zone) {
  std::string out = "<article class=\"restatement\">\n<h3>Detected " +
                    TimeElement(row.detected, zone) + ": " + RestatedSpan(row, zone) + "</h3>\n";
  if (row.statuses.empty() && row.periods.empty()) {
    out += "<p class=\"note\">No past status changed.</p>\n";
  } else {
    out += "<ul class=\"changes\" aria-label=\"Past statuses changed\">\n";
    for (const store::StatusChange& c : row.statuses) {
      out += StatusChangeItem(source, view, c, zone);
    }
    for (const store::RestatedPeriod& p : row.periods) out += PeriodChangeItem(view, p, zone);
    out += "</ul>\n";
  }
  const std::size_t shown = std::min(row.changes.size(), kRestatedValuesShown);
  if (shown == 0) return out + "</article>\n";
  const std::string& unit = view.config->unit;
  out +=
      "<div class=\"table-wrap\"><table>\n<thead><tr><th scope=\"col\">Time</th>"
      "<th scope=\"col\">Before \u2192 after</th></tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < shown; ++i) {
    const store::RestatedValue& v = row.changes[i];
    out += "<tr><td>" + TimeElement(v.at, zone) + "</td><td class=\"num\">" +
           Escape(FormatQuantity(v.before, unit)) + " \u2192 " +
           Escape(FormatQuantity(v.after, unit)) + "</td></tr>\n";
  }
  out += "</tbody>\n</table></div>\n";
  if (row.values > shown) {
    out += "<p class=\"note\">and " + std::to_string(row.values - shown) + " more</p>\n";
  }
  return out + "</article>\n";
}

// The latest restatements, "" when the KPI has none.
std::string Restatements(const PageSource& source, const KpiView& view,
                         const date::time_zone* zone) {
  const std::vector<store::RestatementRow> rows = source.Restatements(view.config->name);
  if (rows.empty()) return "";
  std::string out =
      "<section aria-labelledby=\"restatements-h\">\n<h2 id=\"restatements-h\">Restatements</h2>\n"
      "<p class=\"note\">The source corrected values kpid had stored; the chart shows the "
      "corrected ones. Newest first.</p>\n";
  const std::size_t shown = std::min(rows.size(), kRestatementsShown);
  for (std::size_t i = 0; i < shown; ++i) out += Restatement(source, view, rows[i], zone);
  return out + "</section>\n";
}

std::string About(const KpiView& view) {
  const config::Kpi& kpi = *view.config;
  std::string out = "<p class=\"note\">KPI <code>" + Escape(kpi.name) + "</code>";
  if (!kpi.owner.empty()) out += " \u00b7 owner " + Escape(kpi.owner);
  if (!kpi.source.empty()) out += " \u00b7 source " + Escape(kpi.source);
  if (kpi.expr) out += " \u00b7 derived: <code>" + Escape(kpi.expr->text) + "</code>";
  return out + "</p>\n";
}

std::string Heading(std::string_view title, const std::string& badge) {
  return "<p class=\"meta\"><a href=\"/\">All KPIs</a></p>\n<h1>" + Escape(title) + "</h1>" + badge;
}

std::string Message(const PageSource& source, std::string_view title, std::string_view text) {
  std::string body = PageHeader(Heading(title, ""), source, false);
  body += "<main id=\"main-content\">\n<p>";
  AppendEscaped(body, text);
  body += "</p>\n<p><a href=\"/\">Back to all KPIs</a></p>\n</main>\n";
  return Document(title, body, std::chrono::seconds(0));
}

}  // namespace

std::string RenderDetail(const PageSource& source, const KpiView& view) {
  const TimePoint now = source.Now();
  const std::vector<rules::Sample> history = ChartHistory(source, view, now, kHistoryLimit);
  const StatusInfo status = StatusOf(view);
  const std::string title(TitleOf(view));
  const date::time_zone* zone = source.Zone();

  std::string body = PageHeader(Heading(title, StatusBadge(status)), source, true);
  body += "<main id=\"main-content\">\n";
  body += About(view);
  body += ActiveAlerts(view, zone);
  body += SilenceNotes(source.Silences(view, now), zone);
  body += CollectError(view);
  body += LabelLinks(view);
  body += "<section aria-labelledby=\"chart-h\">\n<h2 id=\"chart-h\">History</h2>\n";
  body += Chart(
      view, history, now,
      ChartOptions{
          .width = 960, .height = 380, .max_points = kChartPoints, .detailed = true, .zone = zone});
  body += Legend(view) + "</section>\n";
  body += Restatements(source, view, zone);
  body += "<div class=\"grid2\">\n" + Figures(view, zone) + GoalRows(view, zone) + "</div>\n";
  body += AlertsTable(view, zone);
  body += RecentSamples(history, view.config->unit, zone);
  body += "</main>\n";
  return Document(title + " \u00b7 " + std::string(status.words) + " \u00b7 KPI status", body,
                  RefreshOf(source));
}

std::string RenderNotFound(const PageSource& source, std::string_view name) {
  return Message(
      source, "KPI not found",
      "There is no KPI named \u201c" + std::string(name) + "\u201d in the running configuration.");
}

std::string RenderBadRequest(const PageSource& source, std::string_view message) {
  return Message(source, "Bad request", message);
}

}  // namespace kpid::web
