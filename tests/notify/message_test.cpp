#include "daemon/notify/message.hpp"

#include <chrono>
#include <string>

#include <date/date.h>
#include <gtest/gtest.h>

namespace kpid::notify {
namespace {

using namespace std::chrono_literals;

TimePoint At(int y, unsigned m, unsigned d, int hour = 0, int minute = 0) {
  return date::sys_days(date::year(y) / date::month(m) / date::day(d)) + std::chrono::hours(hour) +
         std::chrono::minutes(minute);
}

Alert RevenueAlert(bool firing = true) {
  Alert a;
  a.firing = firing;
  a.labels = {{"kpi", "revenue"},
              {"alert", "revenue/goal"},
              {"severity", "critical"},
              {"status", "off_track"},
              {"team", "finance"}};
  a.annotations = {{"summary", "Revenue is behind plan"}};
  a.starts_at = At(2026, 5, 2, 14, 3);
  if (!firing) a.ends_at = At(2026, 5, 3, 9, 30);
  a.generator_url = "http://kpid.example:9464/kpi/revenue";
  a.fingerprint = Fingerprint("revenue/goal");
  Figures& f = a.figures;
  f.title = "Quarterly revenue";
  f.unit = "EUR";
  f.owner = "alice@example.com";
  f.goal = "1200000 EUR by 2026-12-31";
  f.value = 400000;
  f.target = 1200000;
  f.baseline = 0;
  f.expected = 650000;
  f.forecast = 1100000;
  f.days_left = 42.7;
  f.deadline = At(2026, 12, 31);
  return a;
}

Alert ErrorRateAlert() {
  Alert a;
  a.labels = {{"kpi", "errors"},
              {"alert", "errors/goal"},
              {"severity", "warning"},
              {"status", "at_risk"},
              {"team", "finance"}};
  a.figures.title = "Error rate";
  a.figures.goal = "at most 0.03";
  a.figures.value = 0.035;
  return a;
}

Notification Single(Alert a) {
  Notification n;
  n.receiver = "ops";
  n.group_key = "{}:{team=\"finance\"}";
  n.group_labels = {{"team", "finance"}};
  n.external_url = "http://kpid.example:9464";
  n.alerts.push_back(std::move(a));
  n.ComputeCommon();
  return n;
}

const Fact* FindFact(const std::vector<Fact>& facts, std::string_view name) {
  for (const Fact& f : facts) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

TEST(MessageTest, FiringSubjectNamesKpiStatusValueGoalAndExpected) {
  EXPECT_EQ(Subject(Single(RevenueAlert())),
            "[FIRING] Quarterly revenue is off track: 400000 EUR of 1200000 EUR target "
            "(expected 650000 EUR by now)");
}

TEST(MessageTest, ResolvedSubjectSaysNoLonger) {
  Alert a = RevenueAlert(false);
  a.figures.value = 700000;
  EXPECT_EQ(Subject(Single(a)),
            "[RESOLVED] Quarterly revenue is no longer off track: 700000 EUR of 1200000 EUR "
            "target (expected 650000 EUR by now)");
}

TEST(MessageTest, TestNotificationSaysSo) {
  Notification n = Single(RevenueAlert());
  n.test = true;
  EXPECT_EQ(Subject(n).substr(0, 38), "[TEST] Quarterly revenue is off track:");
  EXPECT_NE(TextBody(n).find("test notification"), std::string::npos);
  EXPECT_EQ(TestNotice(Single(RevenueAlert())), "");
  Notification empty;
  empty.test = true;
  EXPECT_EQ(Subject(empty), "[TEST] kpid test notification");
}

TEST(MessageTest, StatusesAreWords) {
  EXPECT_EQ(StatusWords("off_track"), "off track");
  EXPECT_EQ(StatusWords("no_data"), "no data");
  Alert a = RevenueAlert();
  const std::pair<std::string, std::string> cases[] = {
      {"missed", "Quarterly revenue missed its goal"},
      {"at_risk", "Quarterly revenue is at risk"},
      {"no_data", "Quarterly revenue has no data"},
      {"off_track", "Quarterly revenue is off track"}};
  for (const auto& [status, headline] : cases) {
    a.labels[3].second = status;
    EXPECT_EQ(Headline(a), headline);
  }
  a.firing = false;
  a.labels[3].second = "no_data";
  EXPECT_EQ(Headline(a), "Quarterly revenue has data again");
}

TEST(MessageTest, BandGoalShowsTheGoalTextAndAGoalDownReadsAsTarget) {
  EXPECT_EQ(Subject(Single(ErrorRateAlert())),
            "[FIRING] Error rate is at risk: 0.035 (goal: at most 0.03)");
  Figures down;
  down.unit = "ms";
  down.value = 40;
  down.baseline = 80;
  down.target = 20;
  EXPECT_EQ(ValueSummary(down), "40 ms, target 20 ms");
  Figures percent;
  percent.unit = "%";
  percent.value = 12.5;
  EXPECT_EQ(ValueSummary(percent), "12.5 %");
}

TEST(MessageTest, NanFiguresAreLeftOut) {
  Alert a = ErrorRateAlert();
  a.labels[3].second = "no_data";
  a.figures.value = kNoValue;
  EXPECT_EQ(Subject(Single(a)), "[FIRING] Error rate has no data: no value (goal: at most 0.03)");
  const std::vector<Fact> facts = Facts(a);
  ASSERT_NE(FindFact(facts, "Value"), nullptr);
  EXPECT_EQ(FindFact(facts, "Value")->value, "n/a");
  EXPECT_EQ(FindFact(facts, "Expected"), nullptr);
  EXPECT_EQ(FindFact(facts, "Forecast"), nullptr);
  EXPECT_EQ(FindFact(facts, "Days left"), nullptr);
  EXPECT_EQ(FindFact(facts, "Owner"), nullptr);
  const std::string text = AlertText(Single(a), a);
  EXPECT_EQ(text.find(" nan"), std::string::npos) << text;
  EXPECT_EQ(text.find("Forecast"), std::string::npos) << text;
}

TEST(MessageTest, FactsInDisplayOrder) {
  const std::vector<Fact> facts = Facts(RevenueAlert());
  std::vector<std::string> names;
  names.reserve(facts.size());
  for (const Fact& f : facts) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Value", "Goal", "Expected", "Status", "Forecast",
                                             "Days left", "Owner", "Since", "Labels"}));
  EXPECT_EQ(FindFact(facts, "Value")->value, "400000 EUR");
  EXPECT_EQ(FindFact(facts, "Goal")->value, "1200000 EUR by 2026-12-31");
  EXPECT_EQ(FindFact(facts, "Expected")->value, "650000 EUR");
  EXPECT_EQ(FindFact(facts, "Status")->value, "off track");
  EXPECT_EQ(FindFact(facts, "Forecast")->value, "1100000 EUR by 2026-12-31");
  EXPECT_EQ(FindFact(facts, "Days left")->value, "42");
  EXPECT_EQ(FindFact(facts, "Owner")->value, "alice@example.com");
  EXPECT_EQ(FindFact(facts, "Since")->value, "2026-05-02 14:03 UTC");
  EXPECT_EQ(FindFact(facts, "Labels")->value, "team=finance");

  const std::vector<Fact> resolved = Facts(RevenueAlert(false));
  EXPECT_EQ(FindFact(resolved, "Status")->value, "resolved (was off track)");
  EXPECT_EQ(FindFact(resolved, "Resolved")->value, "2026-05-03 09:30 UTC");
  EXPECT_LE(resolved.size(), 10u);
}

TEST(MessageTest, DaysLeftRoundsDown) {
  Alert a = RevenueAlert();
  a.figures.days_left = 0.4;
  EXPECT_EQ(FindFact(Facts(a), "Days left")->value, "less than 1");
  a.figures.days_left = 0;
  EXPECT_EQ(FindFact(Facts(a), "Days left")->value, "0");
  a.figures.days_left = 1.99;
  EXPECT_EQ(FindFact(Facts(a), "Days left")->value, "1");
}

TEST(MessageTest, GroupSubjectsCountKpis) {
  Notification n = Single(RevenueAlert());
  n.alerts.push_back(ErrorRateAlert());
  Alert third = ErrorRateAlert();
  third.labels[0].second = "latency";
  third.figures.title = "Latency";
  n.alerts.push_back(third);
  EXPECT_EQ(Subject(n), "[FIRING:3] team=finance: 3 KPIs need attention");

  n.alerts[1].firing = false;
  EXPECT_EQ(Subject(n), "[FIRING:2] team=finance: 2 KPIs need attention, 1 resolved");

  for (Alert& a : n.alerts) a.firing = false;
  EXPECT_EQ(Subject(n), "[RESOLVED] team=finance: 3 KPIs no longer need attention");

  n.group_labels.clear();
  n.alerts[0].firing = true;
  EXPECT_EQ(Subject(n), "[FIRING:1] 1 KPI needs attention, 2 resolved");
}

TEST(MessageTest, TextBodyListsFiringBeforeResolvedWithLinks) {
  Notification n = Single(RevenueAlert(false));
  Alert firing = ErrorRateAlert();  // no generator_url: the status page is the link
  n.alerts.push_back(firing);
  const std::string body = TextBody(n);
  const std::size_t firing_at = body.find("Firing (1)");
  const std::size_t resolved_at = body.find("Resolved (1)");
  ASSERT_NE(firing_at, std::string::npos) << body;
  ASSERT_NE(resolved_at, std::string::npos) << body;
  EXPECT_LT(firing_at, body.find("Error rate is at risk"));
  EXPECT_LT(body.find("Error rate is at risk"), resolved_at);
  EXPECT_LT(resolved_at, body.find("Quarterly revenue is no longer off track"));
  EXPECT_NE(body.find("  Link:        http://kpid.example:9464/kpi/revenue\n"), std::string::npos)
      << body;
  EXPECT_NE(body.find("  Link:        http://kpid.example:9464\n"), std::string::npos) << body;
  EXPECT_NE(body.find("  Value:       400000 EUR\n"), std::string::npos) << body;
  EXPECT_NE(body.find("  Summary:     Revenue is behind plan\n"), std::string::npos) << body;
  EXPECT_EQ(AlertLink(n, n.alerts[1]), "http://kpid.example:9464");
}

TEST(MessageTest, MultiLineDescriptionIsIndented) {
  Alert a = RevenueAlert();
  a.annotations.emplace_back("description", "line one\r\nline two");
  const std::string text = AlertText(Single(a), a);
  EXPECT_NE(text.find("  Description: line one\n               line two\n"), std::string::npos)
      << text;
}

TEST(MessageTest, RuleAlertUsesItsSummary) {
  Alert a = RevenueAlert();
  a.labels = {{"kpi", "signups"}, {"alert", "signups/drop_fast"}, {"severity", "warning"}};
  a.figures = Figures{};
  a.figures.title = "Signups";
  a.figures.value = 120;
  a.annotations = {{"summary", "Signups dropped 30% in a day\nsecond line"}};
  EXPECT_EQ(Headline(a), "Signups: Signups dropped 30% in a day");
  EXPECT_EQ(FindFact(Facts(a), "Status")->value, "firing");
  a.annotations.clear();
  EXPECT_EQ(Headline(a), "Signups: rule drop_fast fires");
  a.firing = false;
  EXPECT_EQ(Headline(a), "Signups: rule drop_fast resolved");
}

TEST(MessageTest, SubjectIsOneLineWhateverTheLabelsSay) {
  Alert a = RevenueAlert();
  a.figures.title = "Revenue\r\nBcc: victim@example.com";
  a.figures.goal = "a\nb";
  const std::string subject = Subject(Single(a));
  EXPECT_EQ(subject.find_first_of("\r\n"), std::string::npos) << subject;
  EXPECT_EQ(subject.substr(0, 43), "[FIRING] Revenue Bcc: victim@example.com is");
}

TEST(MessageTest, TitleFallsBackToTheKpiLabel) {
  Alert a = RevenueAlert();
  a.figures.title.clear();
  EXPECT_EQ(AlertTitle(a), "revenue");
}

TEST(MessageTest, TruncateTextCutsOnCharacterBoundaries) {
  EXPECT_EQ(TruncateText("hello", 5), "hello");
  EXPECT_EQ(TruncateText("hello world", 6), "hello\u2026");
  EXPECT_EQ(TruncateText("hello", 0), "");
  // "é" is 2 bytes, one unit; never split.
  EXPECT_EQ(TruncateText("\u00e9\u00e9\u00e9\u00e9", 3), "\u00e9\u00e9\u2026");
  // An emoji outside the BMP counts two units.
  EXPECT_EQ(TruncateText("\U0001F600\U0001F600", 4), "\U0001F600\U0001F600");
  EXPECT_EQ(TruncateText("\U0001F600\U0001F600", 3), "\U0001F600\u2026");
  EXPECT_EQ(TruncateText("a\U0001F600", 2), "a\u2026");
  // Invalid bytes are kept one by one.
  EXPECT_EQ(TruncateText("\xff\xfe\xfd", 2), "\xff\u2026");
  // A long title is cut inside Subject() too, on a boundary.
  Alert a = RevenueAlert();
  a.figures.title.clear();
  for (int i = 0; i < 400; ++i) a.figures.title += "\u20ac";
  const std::string subject = Subject(Single(a));
  EXPECT_TRUE(subject.ends_with("\u2026"));
  EXPECT_EQ(TruncateText(subject, 300), subject);
}

TEST(MessageTest, SparklineScalesBetweenMinAndMaxAndKeepsGaps) {
  EXPECT_EQ(Sparkline({}), "");
  EXPECT_EQ(Sparkline({1, 2, 3, 4, 5, 6, 7, 8}), "▁▂▃▄▅▆▇█");
  EXPECT_EQ(Sparkline({5, 5, 5}), "▅▅▅");  // flat: the middle, not the floor
  EXPECT_EQ(Sparkline({0, kNoValue, 10}), "▁ █");
}

TEST(MessageTest, DigestSubjectCountsStatusesWorstFirst) {
  DigestReport d;
  d.title = "Weekly finance review";
  for (const char* status : {"on_track", "off_track", "on_track", "", "at_risk"}) {
    DigestKpi k;
    k.kpi = "k";
    k.status = status;
    d.kpis.push_back(k);
  }
  Notification n;
  n.digest = d;
  EXPECT_EQ(Subject(n),
            "[DIGEST] Weekly finance review: 1 off track, 1 at risk, 2 on track, 1 KPI without a "
            "goal");
  n.digest->kpis.clear();
  EXPECT_EQ(Subject(n), "[DIGEST] Weekly finance review: no KPIs");
}

TEST(MessageTest, DigestTextShowsProgressAgainstExpectedAndTheTrend) {
  DigestKpi k;
  k.kpi = "revenue";
  k.status = "at_risk";
  k.figures.title = "Quarterly revenue";
  k.figures.unit = "EUR";
  k.figures.value = 400000;
  k.figures.target = 1200000;
  k.figures.baseline = 0;
  k.figures.progress = 1.0 / 3.0;
  k.figures.expected_progress = 0.5;
  k.figures.days_left = 30.5;
  k.figures.owner = "cfo@example.com";
  k.trend = {1, 2, 3};
  k.link = "http://kpid.example/kpi/revenue";
  Notification n;
  n.digest = DigestReport{"weekly", "Weekly", {}, {k}};
  const std::string text = TextBody(n);
  EXPECT_NE(text.find("Quarterly revenue: at risk\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Progress:"), std::string::npos) << text;
  EXPECT_NE(text.find("33 % (expected 50 %)"), std::string::npos) << text;
  EXPECT_NE(text.find("▁▅█"), std::string::npos) << text;
  EXPECT_NE(text.find("http://kpid.example/kpi/revenue"), std::string::npos) << text;
  EXPECT_EQ(text.find("nan"), std::string::npos) << text;
}

TEST(MessageTest, RestatementSaysWhatChangedAndIsNotGoodNews) {
  EventFacts f;
  f.event = "restated";
  f.title = "Quarterly revenue";
  f.restated_values = 3;
  f.restated_first_day = "2026-10-01";
  f.restated_last_day = "2026-10-03";
  f.status_changes = {"was on track, now off track from 2026-10-02 00:00 to 2026-10-05 00:00"};
  EXPECT_EQ(EventHeadline(f), "Quarterly revenue: history restated, past statuses changed");
  EXPECT_EQ(EventSummary(f),
            "Quarterly revenue: history restated, past statuses changed: 3 values from "
            "2026-10-01 to 2026-10-03; was on track, now off track from 2026-10-02 00:00 to "
            "2026-10-05 00:00");
  // A KPI that reads the restated one names it; one value names its day.
  f.title = "Margin";
  f.restated_title = "Quarterly revenue";
  f.restated_values = 1;
  f.status_changes.push_back("was at risk, now on track from 2026-10-06 00:00 to 2026-10-07 00:00");
  EXPECT_EQ(EventSummary(f),
            "Margin: Quarterly revenue's history restated, past statuses changed: 1 value on "
            "2026-10-01; was on track, now off track from 2026-10-02 00:00 to 2026-10-05 00:00, "
            "was at risk, now on track from 2026-10-06 00:00 to 2026-10-07 00:00");
  EXPECT_FALSE(IsGoodNews("restated"));

  Alert a = RevenueAlert();
  a.labels = {{"kpi", "revenue"},
              {"alert", "revenue/goal"},
              {"event", "restated"},
              {"severity", "info"},
              {"status", "on_track"}};
  a.annotations = {{"summary", EventSummary(f)}};
  EXPECT_EQ(Subject(Single(a)), "[RESTATED] " + EventSummary(f));
}

}  // namespace
}  // namespace kpid::notify
