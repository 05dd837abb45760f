// The human wording of notifications, shared by the email and Slack receivers so that both
// say the same thing: a subject line, a headline and a list of facts per alert, and the
// plain-text body. Rendering (HTML, Slack mrkdwn) and escaping are the receivers'; every
// string returned here is raw text from labels and annotations, not escaped.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/notify/notification.hpp"

namespace kpid::notify {

// "off_track" -> "off track"; other statuses likewise, unknown names with '_' as spaces.
[[nodiscard]] std::string StatusWords(std::string_view status);

// A number with its unit: "400000 EUR"; "n/a" for NaN.
[[nodiscard]] std::string Quantity(double value, std::string_view unit);

// The KPI's name as people know it: the title, else the kpi label, else the alert label.
[[nodiscard]] std::string AlertTitle(const Alert& alert);

// What happened, in one line and without figures: "Quarterly revenue is off track",
// "Quarterly revenue is no longer off track", "Signups: Signups dropped by 30%" (a rule's
// summary). Control characters (newlines) are replaced by spaces. An escalated firing
// alert's starts with its EscalationNote(): "Escalated: 12 days to the deadline: ...".
[[nodiscard]] std::string Headline(const Alert& alert);

// Headline() without the escalation note.
[[nodiscard]] std::string PlainHeadline(const Alert& alert);

// The note a firing alert carries while its goal is escalated near the deadline
// ("Escalated: 12 days to the deadline"; the "escalation" annotation), "" otherwise.
// Headline() and Subject() start with it.
[[nodiscard]] std::string_view EscalationNote(const Alert& alert);

// The value against the goal: "400000 EUR of 1200000 EUR target (expected 650000 EUR by
// now)", "0.035 (goal: at most 0.03)", "no value".
[[nodiscard]] std::string ValueSummary(const Figures& figures);

// One line, no control characters:
//   "[FIRING] Quarterly revenue is off track: 400000 EUR of 1200000 EUR target (...)"
//   "[RESOLVED] Quarterly revenue is no longer off track: ..."
//   "[FIRING:3] team=finance: 3 KPIs need attention"
//   "[TEST] ..." instead of the status tag for `kpid notify-test`.
[[nodiscard]] std::string Subject(const Notification& n);

// The status page link for an alert: its generator_url, else the notification's
// external_url; "" if neither is set.
[[nodiscard]] std::string AlertLink(const Notification& n, const Alert& alert);

// One labelled fact of an alert, e.g. {"Value", "400000 EUR"}.
struct Fact {
  std::string name;
  std::string value;
};

// The facts of an alert in display order: Value, Goal, Expected, Status, Forecast, Days
// left, Owner, Since, Resolved, Labels (the KPI's own labels). A fact without a value
// (NaN, empty) is left out, except Value ("n/a"). At most 10 (Slack's limit per section).
[[nodiscard]] std::vector<Fact> Facts(const Alert& alert);

// The summary and description annotations ("" when not set).
[[nodiscard]] std::string_view Summary(const Alert& alert);
[[nodiscard]] std::string_view Description(const Alert& alert);

// The sentence a test notification carries ("" when !n.test).
[[nodiscard]] std::string TestNotice(const Notification& n);

// The alerts of `n` in display order: firing first, then resolved, each in their order in
// `n`.
[[nodiscard]] std::vector<const Alert*> OrderedAlerts(const Notification& n);

// The plain-text paragraph of one alert: headline, facts, summary, description, link.
// Lines end with '\n'.
[[nodiscard]] std::string AlertText(const Notification& n, const Alert& alert);

// The whole plain-text message: subject, test notice, every alert's paragraph (firing
// first) or every digest KPI's, and the status page link. Lines end with '\n'.
[[nodiscard]] std::string TextBody(const Notification& n);

// --- Goal events ---------------------------------------------------------------------------

// What a goal event says (engine GoalEvent, in the terms messages need).
struct EventFacts {
  std::string event;  // the label: progress_50, milestone_met, milestone_missed, achieved
  std::string title;  // the KPI's title (or name)
  std::string unit;
  double value = kNoValue;  // milestone events: the value at the milestone's date
  double target = kNoValue;
  double baseline = kNoValue;
  double threshold = kNoValue;  // progress events, e.g. 0.5
  std::string milestone_day;    // milestone events: "2026-09-30"
  double milestone_value = kNoValue;
  // Progress events: ahead of the trajectory by this much (negative: behind); unknown
  // when not set.
  std::optional<std::chrono::seconds> ahead;
  // "restated": the title of the KPI whose history changed ("" when it is this one), how
  // many values changed and the days of the oldest and newest, and the statuses that differ
  // now: "on track, now off track from 2026-10-05 08:00 to 2026-10-09 12:00".
  std::string restated_title;
  std::size_t restated_values = 0;
  std::string restated_first_day;
  std::string restated_last_day;
  std::vector<std::string> status_changes;
  // and the periods judged again: "2026-Q3: was missed at 980 EUR, now achieved at 1010 EUR",
  // "2026-Q4: baseline was 980 EUR, now 1010 EUR".
  std::vector<std::string> period_changes;
};

// The short headline: "Quarterly revenue passed 50 % of its goal", "Quarterly revenue:
// milestone 2026-09-30 missed", "Quarterly revenue achieved its goal", "Quarterly revenue:
// history restated, past statuses changed".
[[nodiscard]] std::string EventHeadline(const EventFacts& facts);

// The headline with the figures, one line; the event alert's summary:
//   "Quarterly revenue passed 50 % of its goal: 600000 EUR of 1200000 EUR, 3 weeks ahead of
//    the trajectory"
//   "Quarterly revenue: milestone 2026-09-30 missed: 410000 EUR against 500000 EUR"
//   "Quarterly revenue achieved its goal: 1210000 EUR of 1200000 EUR"
//   "Quarterly revenue: history restated, past statuses changed: 3 values from 2026-10-01
//    to 2026-10-03; was on track, now off track from 2026-10-02 00:00 to 2026-10-05 00:00"
[[nodiscard]] std::string EventSummary(const EventFacts& facts);

// The "event" label of an alert that tells a goal event; "" for an ordinary alert.
[[nodiscard]] std::string_view EventName(const Alert& alert);

// Whether a goal event is good news (progress, milestone met, achieved), not a miss or a
// restatement.
[[nodiscard]] bool IsGoodNews(std::string_view event);

// --- Digests -----------------------------------------------------------------------------

// `values` scaled between their min (0) and max (1); 0.5 for all when they are equal; NaN
// where a value is not a number.
[[nodiscard]] std::vector<double> ScaledTrend(const std::vector<double>& values);

// A sparkline of `values` in Unicode block elements (▁▂▃▄▅▆▇█), scaled between their min
// and max; a value that is not a number is a space. "" for no values.
[[nodiscard]] std::string Sparkline(const std::vector<double>& values);

// "Weekly finance review: 1 off track, 2 at risk, 3 on track" (statuses worst first).
[[nodiscard]] std::string DigestSummary(const DigestReport& digest);

// The headline of one KPI in a digest: "Quarterly revenue: off track".
[[nodiscard]] std::string DigestHeadline(const DigestKpi& kpi);

// The facts of one KPI in a digest: Value, Goal, Progress (vs expected), Forecast, Days
// left, Owner, Trend (the sparkline). Facts without a value are left out, except Value.
[[nodiscard]] std::vector<Fact> DigestFacts(const DigestKpi& kpi);

// At most `max_units` UTF-16 code units of UTF-8 `text` (Slack counts characters this way;
// a character outside the BMP counts twice), cut on a character boundary and ending with
// "…" when cut. Invalid UTF-8 bytes count as one unit each and are kept as they are.
[[nodiscard]] std::string TruncateText(std::string_view text, std::size_t max_units);

}  // namespace kpid::notify
