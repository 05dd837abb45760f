#include "daemon/web/overview_page.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <variant>

#include "daemon/web/chart.hpp"
#include "daemon/web/html.hpp"
#include "daemon/web/parts.hpp"

namespace kpid::web {
namespace {

// The sparkline thins to 80 points; a page of 100 KPIs reads at most 100 x 2 x this.
constexpr std::size_t kSparkHistoryLimit = 600;
constexpr std::size_t kStatusCount = std::size(kStatusKeys);

struct Entry {
  const KpiView* view;
  StatusInfo status;
};

bool HasLabel(const KpiView& view, const std::string& name, const std::string& value) {
  return std::any_of(
      view.config->labels.begin(), view.config->labels.end(),
      [&](const auto& label) { return label.first == name && label.second == value; });
}

bool MatchesLabels(const KpiView& view, const OverviewQuery& query) {
  return std::all_of(query.labels.begin(), query.labels.end(),
                     [&](const auto& label) { return HasLabel(view, label.first, label.second); });
}

std::size_t StatusIndex(std::string_view key) {
  for (std::size_t i = 0; i < kStatusCount; ++i) {
    if (kStatusKeys[i] == key) return i;
  }
  return kStatusCount;
}

// "?team=finance&status=off_track&page=2": the current filters with `status` and `page`.
std::string Link(const OverviewQuery& query, const std::optional<std::string>& status,
                 std::size_t page) {
  std::string out;
  auto add = [&](std::string_view name, std::string_view value) {
    out += out.empty() ? "?" : "&amp;";
    out += UrlEncode(name) + "=" + UrlEncode(value);
  };
  for (const auto& [name, value] : query.labels) add(name, value);
  if (status) add("status", *status);
  if (page > 1) add("page", std::to_string(page));
  return "/" + out;
}

std::string Summary(const OverviewQuery& query, const std::array<std::size_t, kStatusCount>& counts,
                    std::size_t matching) {
  std::string out =
      "<section aria-labelledby=\"summary-h\">\n<h2 id=\"summary-h\">Summary</h2>\n"
      "<ul class=\"summary\">\n";
  for (std::size_t i = 0; i < kStatusCount; ++i) {
    const bool optional_key = kStatusKeys[i] == "no_goal" || kStatusKeys[i] == "pending";
    if (optional_key && counts[i] == 0) continue;
    const std::string key(kStatusKeys[i]);
    const bool current = query.status == key;
    out += "<li><a href=\"" + Link(query, current ? std::nullopt : std::optional(key), 1) + "\"";
    if (current) out += " aria-current=\"true\"";
    out += "><span class=\"n\">" + std::to_string(counts[i]) + "</span> " +
           StatusBadge({kStatusKeys[i], StatusWordsOf(kStatusKeys[i]), 0}) + "</a></li>\n";
  }
  out += "</ul>\n<p class=\"note filters\">" + std::to_string(matching) +
         (matching == 1 ? " KPI" : " KPIs");
  if (!query.labels.empty() || query.status) {
    out += " matching ";
    bool first = true;
    for (const auto& [name, value] : query.labels) {
      out += (first ? "" : ", ") + Escape(name) + "=" + Escape(value);
      first = false;
    }
    if (query.status) out += (first ? "status " : ", status ") + Escape(*query.status);
    out += " \u00b7 <a href=\"/\">show all</a>";
  }
  return out + "</p>\n</section>\n";
}

void Fact(std::string& out, std::string_view name, const std::string& value_html) {
  out += "<dt>";
  out += name;
  out += "</dt><dd>";
  out += value_html;
  out += "</dd>\n";
}

std::string Facts(const KpiView& view, const date::time_zone* zone) {
  const config::Kpi& kpi = *view.config;
  const rules::Variables& v = view.evaluation.variables;
  const bool deadline =
      view.spec.goal && std::holds_alternative<rules::DeadlineGoal>(view.spec.goal->kind);
  std::string out = "<dl class=\"facts\">\n";
  Fact(out, "Value", Escape(FormatQuantity(view.latest ? view.latest->value : kNaN, kpi.unit)));
  if (view.spec.goal) Fact(out, "Goal", Escape(GoalText(view, zone)));
  if (deadline) {
    Fact(out, "Expected now", Escape(FormatQuantity(v.expected, kpi.unit, kRoundedDigits)));
    std::string forecast = Escape(FormatQuantity(v.forecast, kpi.unit, kRoundedDigits));
    if (std::isfinite(v.forecast_progress)) {
      forecast += " (" + FormatPercent(v.forecast_progress) + " of goal)";
    }
    if (std::isfinite(v.likelihood)) forecast += ", " + FormatPercent(v.likelihood) + " likely";
    Fact(out, "Forecast", forecast);
    if (std::isfinite(v.required_rate) && v.days_to_target != 0) {
      std::string rate = "needs " + Escape(FormatRate(v.required_rate, kpi.unit));
      if (std::isfinite(v.current_rate))
        rate += ", now " + Escape(FormatRate(v.current_rate, kpi.unit));
      Fact(out, "Run rate", rate);
    }
    Fact(out, "Days left", FormatDaysLeft(v.days_left));
  }
  if (!kpi.owner.empty()) Fact(out, "Owner", Escape(kpi.owner));
  if (view.latest) Fact(out, "Updated", TimeElement(view.latest->at, zone));
  return out + "</dl>\n";
}

std::string Progress(const KpiView& view) {
  const std::string bar = ProgressBar(view);
  if (bar.empty()) return "";
  const rules::Variables& v = view.evaluation.variables;
  return "<div class=\"bar\">" + bar + "<span>" + FormatPercent(v.progress) + " (expected " +
         FormatPercent(v.expected_progress) + ")</span></div>\n";
}

std::string Card(const PageSource& source, const Entry& entry, TimePoint now) {
  const KpiView& view = *entry.view;
  const std::string& name = view.config->name;
  const std::vector<rules::Sample> history = ChartHistory(source, view, now, kSparkHistoryLimit);
  std::string out = "<li class=\"kpi b-" + std::string(entry.status.key) + "\" id=\"" +
                    Escape(name) + "\">\n<div class=\"head\"><h3><a href=\"/kpi/" +
                    UrlEncode(name) + "\">" + Escape(TitleOf(view)) + "</a></h3>" +
                    StatusBadge(entry.status) + "</div>\n";
  if (TitleOf(view) != name) out += "<p class=\"name\">" + Escape(name) + "</p>\n";
  const date::time_zone* zone = source.Zone();
  out += Facts(view, zone);
  out += Progress(view);
  out += Chart(view, history, now, ChartOptions{.zone = zone});
  out += ActiveAlerts(view, zone);
  out += SilenceNotes(source.Silences(view, now), zone);
  out += CollectError(view);
  out += LabelLinks(view);
  return out + "</li>\n";
}

std::string Pager(const OverviewQuery& query, std::size_t page, std::size_t pages) {
  if (pages <= 1) return "";
  std::string out = "<nav class=\"pager\" aria-label=\"Pages\">";
  if (page > 1) {
    out += "<a href=\"" + Link(query, query.status, page - 1) + "\" rel=\"prev\">Previous</a>";
  }
  out += "<span aria-current=\"page\">Page " + std::to_string(page) + " of " +
         std::to_string(pages) + "</span>";
  if (page < pages) {
    out += "<a href=\"" + Link(query, query.status, page + 1) + "\" rel=\"next\">Next</a>";
  }
  return out + "</nav>\n";
}

}  // namespace

std::variant<OverviewQuery, std::string> ParseOverviewQuery(const http::PathParams& params) {
  OverviewQuery query;
  for (const auto& [name, value] : params) {
    if (name == "page") {
      std::size_t page = 0;
      const auto r = std::from_chars(value.data(), value.data() + value.size(), page);
      if (r.ec != std::errc() || r.ptr != value.data() + value.size() || page == 0) {
        return "page: expected a whole number from 1 on";
      }
      query.page = page;
    } else if (name == "status") {
      if (StatusIndex(value) == kStatusCount) {
        return "status: expected one of missed, off_track, at_risk, no_data, on_track, "
               "achieved, no_goal, pending";
      }
      query.status = value;
    } else {
      query.labels.emplace_back(name, value);
    }
  }
  return query;
}

std::string RenderOverview(const PageSource& source, const OverviewQuery& query) {
  const TimePoint now = source.Now();
  std::array<std::size_t, kStatusCount> counts{};
  std::vector<Entry> shown;
  std::size_t matching = 0;
  for (const KpiView& view : source.Kpis()) {
    if (view.config == nullptr || !MatchesLabels(view, query)) continue;
    const StatusInfo status = StatusOf(view);
    ++counts[StatusIndex(status.key)];
    if (query.status && *query.status != status.key) continue;
    ++matching;
    shown.push_back({&view, status});
  }
  // Most urgent first; config order within a status.
  std::stable_sort(shown.begin(), shown.end(),
                   [](const Entry& a, const Entry& b) { return a.status.rank < b.status.rank; });
  const std::size_t pages = std::max<std::size_t>(1, (shown.size() + kPageSize - 1) / kPageSize);
  const std::size_t page = std::min(query.page, pages);
  const std::size_t first = (page - 1) * kPageSize;
  const std::size_t last = std::min(shown.size(), first + kPageSize);

  std::string body = PageHeader("<h1>KPI status</h1>", source, true);
  body += "<main id=\"main-content\">\n";
  body += Summary(query, counts, matching);
  body += "<section aria-labelledby=\"kpis-h\">\n<h2 id=\"kpis-h\">KPIs</h2>\n";
  if (shown.empty()) {
    body += "<p>No KPI matches.</p>\n";
  } else {
    body += "<p class=\"note\">Most urgent first. Showing " + std::to_string(first + 1) + "\u2013" +
            std::to_string(last) + " of " + std::to_string(shown.size()) + ".</p>\n";
    body += "<ul class=\"kpis\" aria-labelledby=\"kpis-h\">\n";
    for (std::size_t i = first; i < last; ++i) body += Card(source, shown[i], now);
    body += "</ul>\n";
  }
  body += Pager(query, page, pages);
  body += "</section>\n</main>\n";
  std::string title = "KPI status";
  if (counts[0] + counts[1] > 0) {
    title = std::to_string(counts[0] + counts[1]) + " need attention \u00b7 " + title;
  }
  return Document(title, body, RefreshOf(source));
}

}  // namespace kpid::web
