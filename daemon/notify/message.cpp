#include "daemon/notify/message.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include <date/date.h>

#include "rules/annotation.hpp"
#include "rules/status.hpp"

namespace kpid::notify {
namespace {

constexpr std::size_t kMaxRuleSummary = 120;  // of a headline, in characters
constexpr std::size_t kMaxSubject = 300;
constexpr std::size_t kFactWidth = 12;  // "Description:" aligns the plain-text facts

bool IsReservedLabel(std::string_view name) {
  return name == "kpi" || name == "alert" || name == "severity" || name == "status";
}

// Control characters (newlines, tabs) become spaces, runs of spaces one space: a line for
// a subject or a header.
std::string OneLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const bool space = static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string_view FirstLine(std::string_view text) {
  while (!text.empty() && (text.front() == '\n' || text.front() == '\r')) text.remove_prefix(1);
  return text.substr(0, text.find_first_of("\r\n"));
}

std::string_view Annotation(const Labels& annotations, std::string_view name) {
  for (const auto& [k, v] : annotations) {
    if (k == name) return v;
  }
  return {};
}

// The rule of a rule alert ("drop_fast" of "revenue/drop_fast"); "" for the goal alert.
std::string_view RuleName(const Alert& alert) {
  const std::string_view id = alert.Label("alert");
  const std::size_t slash = id.rfind('/');
  const std::string_view rule = slash == std::string_view::npos ? id : id.substr(slash + 1);
  return rule == "goal" ? std::string_view() : rule;
}

std::string FiringPhrase(std::string_view status) {
  if (status == "missed") return "missed its goal";
  if (status == "no_data") return "has no data";
  if (status == "achieved") return "achieved its goal";
  return "is " + StatusWords(status);
}

std::string ResolvedPhrase(std::string_view status) {
  if (status == "no_data") return "has data again";
  return "is no longer " + StatusWords(status);
}

std::string Day(TimePoint t) { return date::format("%F", std::chrono::floor<date::days>(t)); }

std::string Minute(TimePoint t) {
  return date::format("%F %R UTC", std::chrono::floor<std::chrono::minutes>(t));
}

std::string DaysLeft(double days) {
  if (days <= 0) return "0";
  if (days < 1) return "less than 1";
  return rules::FormatNumber(std::floor(days));
}

// "team=finance, region=EU"; `own` leaves out the labels every alert has (kpi, alert, ...).
std::string LabelsText(const Labels& labels, bool own) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (own && IsReservedLabel(k)) continue;
    if (!out.empty()) out += ", ";
    out += k + "=" + v;
  }
  return out;
}

// 0.5 -> "50 %", with one decimal under 10 %.
std::string Percent(double ratio) {
  const double pct = ratio * 100.0;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, std::fabs(pct) < 10.0 ? "%.1f %%" : "%.0f %%", pct);
  return buffer;
}

std::string Plural(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::size_t DistinctKpis(const Notification& n, bool firing) {
  std::set<std::string> kpis;
  for (const Alert& a : n.alerts) {
    if (a.firing == firing) kpis.insert(AlertTitle(a));
  }
  return kpis.size();
}

// A fact's value on indented lines after the first.
void AppendFact(std::string& out, std::string_view name, std::string_view value) {
  std::string label = std::string(name) + ":";
  label.resize(std::max(label.size(), kFactWidth), ' ');
  out += "  " + label + " ";
  bool first = true;
  for (std::size_t start = 0; start <= value.size();) {
    std::size_t end = value.find('\n', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view line = value.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!first) out += std::string(kFactWidth + 3, ' ');
    out += line;
    out += '\n';
    first = false;
    start = end + 1;
  }
}

std::string Rate(double per_day, std::string_view unit) {
  return (per_day > 0 ? "+" : "") + Quantity(per_day, unit) + " a day";
}

// The forecast with its band and likelihood, the run rates, and when the target is reached.
void AddOutlook(const Figures& f, std::vector<Fact>& facts) {
  if (std::isfinite(f.forecast)) {
    std::string text = Quantity(f.forecast, f.unit) +
                       (f.deadline ? " by " + Day(*f.deadline) : " at the deadline");
    if (std::isfinite(f.forecast_lower) && std::isfinite(f.forecast_upper) &&
        f.forecast_lower < f.forecast_upper) {
      text += " (80 % range " + rules::FormatNumber(f.forecast_lower) + " to " +
              Quantity(f.forecast_upper, f.unit) + ")";
    }
    if (std::isfinite(f.likelihood)) text += ", " + Percent(f.likelihood) + " likely";
    facts.push_back({"Forecast", std::move(text)});
  }
  const bool achieved = std::isfinite(f.progress) && f.progress >= 1;
  if (std::isfinite(f.required_rate) && !achieved) {
    std::string text = "needs " + Rate(f.required_rate, f.unit);
    if (std::isfinite(f.current_rate)) text += ", now " + Rate(f.current_rate, f.unit);
    facts.push_back({"Run rate", std::move(text)});
  }
  if (achieved && f.projected_hit) {
    facts.push_back({"Target reached", Day(*f.projected_hit)});
  } else if (f.projected_hit) {
    facts.push_back({"Target reached", Day(*f.projected_hit) + " at this rate"});
  } else if (std::isfinite(f.current_rate) && !achieved) {
    facts.push_back({"Target reached", "not at this rate"});
  }
}

}  // namespace

std::string StatusWords(std::string_view status) {
  std::string out(status);
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

std::string Quantity(double value, std::string_view unit) {
  std::string out = rules::FormatNumber(value);
  if (std::isfinite(value) && !unit.empty()) out += " " + std::string(unit);
  return out;
}

std::string AlertTitle(const Alert& alert) {
  if (!alert.figures.title.empty()) return OneLine(alert.figures.title);
  if (const std::string_view kpi = alert.Label("kpi"); !kpi.empty()) return OneLine(kpi);
  if (const std::string_view id = alert.Label("alert"); !id.empty()) return OneLine(id);
  return "KPI";
}

std::string_view EscalationNote(const Alert& alert) {
  if (!alert.firing) return {};
  return Annotation(alert.annotations, "escalation");
}

std::string Headline(const Alert& alert) {
  if (const std::string_view note = EscalationNote(alert); !note.empty()) {
    return OneLine(note) + ": " + PlainHeadline(alert);
  }
  return PlainHeadline(alert);
}

std::string PlainHeadline(const Alert& alert) {
  if (!EventName(alert).empty()) {
    if (std::string summary = OneLine(FirstLine(Summary(alert))); !summary.empty()) {
      return summary;
    }
  }
  const std::string title = AlertTitle(alert);
  const std::string_view status = alert.Label("status");
  if (const std::string_view rule = RuleName(alert); !rule.empty()) {
    if (!alert.firing) return title + ": rule " + OneLine(rule) + " resolved";
    if (const std::string summary = OneLine(FirstLine(Summary(alert))); !summary.empty()) {
      return title + ": " + TruncateText(summary, kMaxRuleSummary);
    }
    return title + ": rule " + OneLine(rule) + " fires";
  }
  if (status.empty()) return title + (alert.firing ? " needs attention" : " is resolved");
  return title + " " + OneLine(alert.firing ? FiringPhrase(status) : ResolvedPhrase(status));
}

std::string ValueSummary(const Figures& f) {
  if (!std::isfinite(f.value)) {
    return f.goal.empty() ? "no value" : "no value (goal: " + OneLine(f.goal) + ")";
  }
  std::string out;
  if (std::isfinite(f.target)) {
    // "of ... target" reads wrong for a goal that brings a value down.
    const bool down = std::isfinite(f.baseline) && f.target < f.baseline;
    out = Quantity(f.value, f.unit) + (down ? ", target " : " of ") + Quantity(f.target, f.unit) +
          (down ? "" : " target");
  } else {
    out = Quantity(f.value, f.unit);
  }
  if (!std::isfinite(f.target) && !f.goal.empty()) out += " (goal: " + OneLine(f.goal) + ")";
  if (std::isfinite(f.expected)) {
    out += " (expected " + Quantity(f.expected, f.unit) + " by now)";
  }
  return out;
}

std::string Subject(const Notification& n) {
  if (n.digest) {
    return TruncateText(OneLine((n.test ? "[TEST] " : "[DIGEST] ") + DigestSummary(*n.digest)),
                        kMaxSubject);
  }
  std::size_t firing = 0;
  for (const Alert& a : n.alerts) firing += a.firing ? 1 : 0;
  const std::size_t resolved = n.alerts.size() - firing;

  std::string subject;
  if (n.test) {
    subject = "[TEST] ";
  } else if (firing > 0) {
    subject = n.alerts.size() > 1 ? "[FIRING:" + std::to_string(firing) + "] " : "[FIRING] ";
  } else {
    subject = "[RESOLVED] ";
  }

  if (n.alerts.empty()) {
    subject += n.test ? "kpid test notification" : "no alerts";
  } else if (n.alerts.size() == 1 && !EventName(n.alerts.front()).empty()) {
    // A goal event's headline has its figures already.
    const Alert& a = n.alerts.front();
    subject = (n.test                       ? "[TEST] "
               : IsGoodNews(EventName(a))   ? "[GOOD NEWS] "
               : EventName(a) == "restated" ? "[RESTATED] "
                                            : "[MILESTONE] ") +
              Headline(a);
  } else if (n.alerts.size() == 1) {
    const Alert& a = n.alerts.front();
    subject += Headline(a) + ": " + ValueSummary(a.figures);
  } else {
    for (const Alert& a : n.alerts) {
      if (const std::string_view note = EscalationNote(a); !note.empty()) {
        subject += OneLine(note) + ": ";
        break;
      }
    }
    if (std::string group = OneLine(LabelsText(n.group_labels, false)); !group.empty()) {
      subject += group + ": ";
    }
    if (firing > 0) {
      const std::size_t kpis = DistinctKpis(n, true);
      subject += Plural(kpis, "KPI needs", "KPIs need") + " attention";
      if (resolved > 0) subject += ", " + std::to_string(resolved) + " resolved";
    } else {
      const std::size_t kpis = DistinctKpis(n, false);
      subject += Plural(kpis, "KPI no longer needs", "KPIs no longer need") + " attention";
    }
  }
  return TruncateText(OneLine(subject), kMaxSubject);
}

std::string AlertLink(const Notification& n, const Alert& alert) {
  return alert.generator_url.empty() ? n.external_url : alert.generator_url;
}

std::vector<Fact> Facts(const Alert& alert) {
  const Figures& f = alert.figures;
  std::vector<Fact> facts;
  facts.push_back({"Value", Quantity(f.value, f.unit)});
  if (!f.goal.empty()) {
    facts.push_back({"Goal", f.goal});
  } else if (std::isfinite(f.target)) {
    facts.push_back({"Goal", Quantity(f.target, f.unit)});
  }
  if (std::isfinite(f.expected)) facts.push_back({"Expected", Quantity(f.expected, f.unit)});
  const std::string_view status = alert.Label("status");
  if (!status.empty()) {
    facts.push_back({"Status", alert.firing ? StatusWords(status)
                                            : "resolved (was " + StatusWords(status) + ")"});
  } else {
    facts.push_back({"Status", alert.firing ? "firing" : "resolved"});
  }
  AddOutlook(f, facts);
  if (std::isfinite(f.days_left)) facts.push_back({"Days left", DaysLeft(f.days_left)});
  if (!f.owner.empty()) facts.push_back({"Owner", f.owner});
  if (alert.starts_at != TimePoint()) {
    facts.push_back({EventName(alert).empty() ? "Since" : "When", Minute(alert.starts_at)});
  }
  if (!alert.firing && alert.ends_at) facts.push_back({"Resolved", Minute(*alert.ends_at)});
  if (std::string labels = LabelsText(alert.labels, true); !labels.empty()) {
    facts.push_back({"Labels", std::move(labels)});
  }
  return facts;
}

std::string_view Summary(const Alert& alert) { return Annotation(alert.annotations, "summary"); }

std::string_view Description(const Alert& alert) {
  return Annotation(alert.annotations, "description");
}

std::string TestNotice(const Notification& n) {
  if (!n.test) return {};
  return "This is a test notification sent by kpid notify-test to check that this receiver "
         "works; it needs no action.";
}

std::vector<const Alert*> OrderedAlerts(const Notification& n) {
  std::vector<const Alert*> out;
  out.reserve(n.alerts.size());
  for (const Alert& a : n.alerts) {
    if (a.firing) out.push_back(&a);
  }
  for (const Alert& a : n.alerts) {
    if (!a.firing) out.push_back(&a);
  }
  return out;
}

std::string AlertText(const Notification& n, const Alert& alert) {
  std::string out = Headline(alert) + "\n";
  for (const Fact& fact : Facts(alert)) AppendFact(out, fact.name, fact.value);
  // A goal event's summary is its headline.
  if (const std::string_view summary = Summary(alert);
      !summary.empty() && EventName(alert).empty()) {
    AppendFact(out, "Summary", summary);
  }
  if (const std::string_view description = Description(alert); !description.empty()) {
    AppendFact(out, "Description", description);
  }
  if (const std::string link = AlertLink(n, alert); !link.empty()) AppendFact(out, "Link", link);
  return out;
}

std::string TextBody(const Notification& n) {
  std::string out = Subject(n) + "\n\n";
  if (n.test) out += TestNotice(n) + "\n\n";
  if (n.digest) {
    for (const DigestKpi& kpi : n.digest->kpis) {
      out += DigestHeadline(kpi) + "\n";
      for (const Fact& fact : DigestFacts(kpi)) AppendFact(out, fact.name, fact.value);
      if (!kpi.link.empty()) out += "  " + kpi.link + "\n";
      out += "\n";
    }
    if (n.digest->kpis.empty()) out += "No KPI matches this digest.\n\n";
  }
  const std::vector<const Alert*> alerts = OrderedAlerts(n);
  const bool headings = n.alerts.size() > 1;
  std::size_t firing = 0;
  for (const Alert* a : alerts) firing += a->firing ? 1 : 0;
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (headings && i == 0 && firing > 0) out += "Firing (" + std::to_string(firing) + ")\n\n";
    if (headings && i == firing) {
      out += "Resolved (" + std::to_string(alerts.size() - firing) + ")\n\n";
    }
    out += AlertText(n, *alerts[i]) + "\n";
  }
  out += "--\n";
  if (!n.external_url.empty()) out += "Status page: " + n.external_url + "\n";
  out += "Sent by kpid.\n";
  return out;
}

namespace {

// "3 weeks ahead of the trajectory", "2 days behind the trajectory", "on the trajectory".
std::string AheadText(std::chrono::seconds ahead) {
  using std::chrono::hours;
  const auto size = ahead < std::chrono::seconds::zero() ? -ahead : ahead;
  const auto count = [&](auto unit) {
    return std::max<long long>(
        1, std::llround(std::chrono::duration<double>(size) / std::chrono::duration<double>(unit)));
  };
  std::string amount;
  if (size >= hours(24 * 14)) {
    amount = Plural(static_cast<std::size_t>(count(hours(24 * 7))), "week", "weeks");
  } else if (size >= hours(24)) {
    amount = Plural(static_cast<std::size_t>(count(hours(24))), "day", "days");
  } else if (size >= hours(1)) {
    amount = Plural(static_cast<std::size_t>(count(hours(1))), "hour", "hours");
  } else {
    return "on the trajectory";
  }
  return amount + (ahead > std::chrono::seconds::zero() ? " ahead of" : " behind") +
         " the trajectory";
}

// "600000 EUR of 1200000 EUR"; for a goal that brings the value down, "150, target 100".
std::string AgainstTarget(const EventFacts& f) {
  const bool down = std::isfinite(f.baseline) && std::isfinite(f.target) && f.target < f.baseline;
  return Quantity(f.value, f.unit) + (down ? ", target " : " of ") + Quantity(f.target, f.unit);
}

}  // namespace

std::string EventHeadline(const EventFacts& f) {
  const std::string title = OneLine(f.title.empty() ? std::string("KPI") : f.title);
  if (f.event == "achieved") return title + " achieved its goal";
  if (f.event == "restated") {
    return title + ": " +
           (f.restated_title.empty() ? "history" : OneLine(f.restated_title) + "'s history") +
           " restated, past statuses changed";
  }
  if (f.event == "milestone_met" || f.event == "milestone_missed") {
    return title + ": milestone " + f.milestone_day +
           (f.event == "milestone_met" ? " met" : " missed");
  }
  if (std::isfinite(f.threshold)) return title + " passed " + Percent(f.threshold) + " of its goal";
  return title + ": " + OneLine(f.event);
}

std::string EventSummary(const EventFacts& f) {
  std::string out = EventHeadline(f);
  if (f.event == "milestone_met" || f.event == "milestone_missed") {
    out += ": " + (std::isfinite(f.value) ? Quantity(f.value, f.unit) : "no value by then") +
           " against " + Quantity(f.milestone_value, f.unit);
    return out;
  }
  if (f.event == "restated") {
    out += ": " + std::to_string(f.restated_values) +
           (f.restated_values == 1
                ? " value on " + f.restated_first_day
                : " values from " + f.restated_first_day + " to " + f.restated_last_day);
    for (std::size_t i = 0; i < f.status_changes.size(); ++i) {
      out += (i == 0 ? "; " : ", ") + f.status_changes[i];
    }
    for (const std::string& period : f.period_changes) out += "; " + period;
    return out;
  }
  if (!std::isfinite(f.value)) return out;
  out += ": " + AgainstTarget(f);
  if (f.event != "achieved" && f.ahead) out += ", " + AheadText(*f.ahead);
  return out;
}

std::string_view EventName(const Alert& alert) { return alert.Label("event"); }

bool IsGoodNews(std::string_view event) {
  return event != "milestone_missed" && event != "restated";
}

std::vector<double> ScaledTrend(const std::vector<double>& values) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  std::vector<double> out;
  out.reserve(values.size());
  for (double v : values) {
    // A flat line sits in the middle rather than on the floor.
    out.push_back(!std::isfinite(v) ? kNoValue : hi > lo ? (v - lo) / (hi - lo) : 0.5);
  }
  return out;
}

std::string Sparkline(const std::vector<double>& values) {
  static constexpr std::string_view kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::string out;
  for (double x : ScaledTrend(values)) {
    if (std::isnan(x)) {
      out += ' ';
      continue;
    }
    out += kBlocks[std::min<std::size_t>(7, static_cast<std::size_t>(std::lround(x * 7.0)))];
  }
  return out;
}

std::string DigestSummary(const DigestReport& digest) {
  std::string out = digest.title + ": ";
  bool any = false;
  for (rules::Status s : rules::kStatusesByUrgency) {
    const std::string_view status = rules::StatusName(s);
    const auto n = static_cast<std::size_t>(
        std::count_if(digest.kpis.begin(), digest.kpis.end(),
                      [&](const DigestKpi& k) { return k.status == status; }));
    if (n == 0) continue;
    out += (any ? ", " : "") + std::to_string(n) + " " + StatusWords(status);
    any = true;
  }
  const auto without = static_cast<std::size_t>(std::count_if(
      digest.kpis.begin(), digest.kpis.end(), [](const DigestKpi& k) { return k.status.empty(); }));
  if (without > 0) out += (any ? ", " : "") + Plural(without, "KPI", "KPIs") + " without a goal";
  if (digest.kpis.empty()) out += "no KPIs";
  return out;
}

std::string DigestHeadline(const DigestKpi& kpi) {
  const std::string title = kpi.figures.title.empty() ? kpi.kpi : kpi.figures.title;
  return OneLine(title + ": " + (kpi.status.empty() ? "no goal" : StatusWords(kpi.status)));
}

std::vector<Fact> DigestFacts(const DigestKpi& kpi) {
  const Figures& f = kpi.figures;
  std::vector<Fact> facts;
  facts.push_back({"Value", ValueSummary(f)});
  if (std::isfinite(f.progress)) {
    std::string progress = Percent(f.progress);
    if (std::isfinite(f.expected_progress)) {
      progress += " (expected " + Percent(f.expected_progress) + ")";
    }
    facts.push_back({"Progress", std::move(progress)});
  }
  AddOutlook(f, facts);
  if (std::isfinite(f.days_left)) facts.push_back({"Days left", DaysLeft(f.days_left)});
  if (!f.owner.empty()) facts.push_back({"Owner", f.owner});
  if (std::string trend = Sparkline(kpi.trend); !trend.empty()) {
    facts.push_back({"Trend", std::move(trend)});
  }
  return facts;
}

std::string TruncateText(std::string_view text, std::size_t max_units) {
  struct Char {
    std::size_t size;   // bytes
    std::size_t units;  // UTF-16 code units
  };
  const auto next = [&text](std::size_t at) -> Char {
    const auto byte = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    std::size_t size = 1;
    if (lead >= 0xc2 && lead <= 0xdf) {
      size = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      size = 3;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      size = 4;
    }
    if (at + size > text.size()) return {1, 1};
    for (std::size_t i = 1; i < size; ++i) {
      if ((byte(at + i) & 0xc0) != 0x80) return {1, 1};
    }
    return {size, size == 4 ? 2u : 1u};
  };

  std::size_t units = 0;
  for (std::size_t at = 0; at < text.size();) {
    const Char c = next(at);
    units += c.units;
    at += c.size;
  }
  if (units <= max_units) return std::string(text);
  if (max_units == 0) return {};

  std::size_t kept = 0;
  units = 0;
  while (kept < text.size()) {
    const Char c = next(kept);
    if (units + c.units > max_units - 1) break;  // one unit for the ellipsis
    units += c.units;
    kept += c.size;
  }
  return std::string(text.substr(0, kept)) + "\u2026";
}

}  // namespace kpid::notify
