#include "daemon/web/parts.hpp"

#include <algorithm>

#include "daemon/web/chart.hpp"
#include "daemon/web/html.hpp"

namespace kpid::web {
namespace {

constexpr auto kMinRefresh = std::chrono::seconds(5);

std::string AlertName(const AlertView& alert) {
  return alert.rule == "goal" ? "goal" : "rule " + alert.rule;
}

}  // namespace

std::vector<rules::Sample> ChartHistory(const PageSource& source, const KpiView& view,
                                        TimePoint now, std::size_t limit) {
  if (view.config == nullptr || limit == 0) return {};
  const ChartRange range = RangeOf(view, now);
  std::vector<rules::Sample> samples = source.History(view.config->name, range.from, limit);
  if (samples.size() < limit) return samples;
  // A store that drops the oldest of a full result has already returned the newest.
  if (view.latest && samples.back().at >= view.latest->at) return samples;
  // Full: the span these samples cover holds about `limit` samples, so the same span
  // (a little less, for a denser recent part) ending with the newest sample holds those.
  TimePoint end = view.latest ? std::max(now, view.latest->at) : now;
  end = std::min(end, range.to);
  const auto span = samples.back().at - samples.front().at;
  const TimePoint since = std::max(range.from, end - span + span / 10);
  return source.History(view.config->name, since, limit);
}

std::chrono::seconds RefreshOf(const PageSource& source) {
  return std::max(source.RefreshInterval(), std::chrono::seconds(kMinRefresh));
}

std::string PageHeader(std::string_view heading_html, const PageSource& source, bool refreshes) {
  std::string out = "<header class=\"top\">\n";
  out += heading_html;
  out += "\n<p class=\"meta\">";
  if (const std::optional<TimePoint> at = source.EvaluatedAt()) {
    out += "Evaluated " + TimeElement(*at, source.Zone());
  } else {
    out += "Not evaluated yet";
  }
  if (refreshes) {
    out += " \u00b7 refreshes every " + std::to_string(RefreshOf(source).count()) + "\u00a0s";
  }
  out += "</p>\n";
  return out + "</header>\n";
}

std::string ActiveAlerts(const KpiView& view, const date::time_zone* zone) {
  std::string items;
  for (const AlertView& alert : view.alerts) {
    const rules::AlertPhase phase = alert.state.phase;
    if (phase != rules::AlertPhase::kFiring && phase != rules::AlertPhase::kPending) continue;
    const bool firing = phase == rules::AlertPhase::kFiring;
    items += "<li><span class=\"badge " +
             std::string(firing ? "sev-" + std::string(rules::SeverityName(alert.severity))
                                : "ph-pending") +
             "\">" + (firing ? "Firing" : "Pending") + "</span> ";
    items += Escape(AlertName(alert));
    if (firing) items += " (" + std::string(rules::SeverityName(alert.severity)) + ")";
    const auto& since = firing ? alert.state.fired_at : alert.state.active_since;
    if (since) items += " since " + TimeElement(*since, zone);
    if (!alert.summary.empty()) items += ": " + Escape(alert.summary);
    items += "</li>\n";
  }
  if (items.empty()) return "";
  return "<ul class=\"alerts\" aria-label=\"Active alerts\">\n" + items + "</ul>\n";
}

std::string SilenceNotes(const std::vector<SilenceNote>& silences, const date::time_zone* zone) {
  std::string out;
  for (const SilenceNote& s : silences) {
    out += "<p class=\"silence\">Silenced (" + Escape(s.alert) + ") until " +
           TimeElement(s.ends_at, zone);
    if (!s.created_by.empty()) out += " by " + Escape(s.created_by);
    if (!s.comment.empty()) out += ": " + Escape(s.comment);
    out += "</p>\n";
  }
  return out;
}

std::string LabelLinks(const KpiView& view) {
  if (view.config == nullptr || view.config->labels.empty()) return "";
  std::string out = "<ul class=\"labels\" aria-label=\"Labels\">";
  for (const auto& [name, value] : view.config->labels) {
    out += "<li><a href=\"/?" + UrlEncode(name) + "=" + UrlEncode(value) + "\">" + Escape(name) +
           "=" + Escape(value) + "</a></li>";
  }
  return out + "</ul>\n";
}

std::string CollectError(const KpiView& view) {
  if (!view.last_error) return "";
  return "<p class=\"error\">Last collection failed (" +
         std::string(collectors::ErrorKindName(view.last_error->kind)) +
         "): " + Escape(view.last_error->message) + "</p>\n";
}

}  // namespace kpid::web
