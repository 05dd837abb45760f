// [[kpi.goal.escalate]]: config parsing and errors, and the notifier's escalation timing
// driven with explicit times.
#include <chrono>
#include <deque>
#include <optional>
#include <string>

#include <boost/asio/post.hpp>
#include <date/date.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/backtest.hpp"
#include "daemon/load_config.hpp"
#include "daemon/notify/message.hpp"
#include "daemon/notify/notifier.hpp"
#include "tests/support/process.hpp"
#include "tests/support/recording_receiver.hpp"

namespace kpid::notify {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr auto kDay = hours(24);

constexpr const char* kReceivers = R"(
[[source]]
name = "db"
type = "sql"
driver = "sqlite3"
connection = "/nonexistent.db"

[[receiver]]
name = "hook"
type = "file"
path = "/nonexistent/hook.jsonl"

[[receiver]]
name = "lead"
type = "file"
path = "/nonexistent/lead.jsonl"

[[receiver]]
name = "vp"
type = "file"
path = "/nonexistent/vp.jsonl"
)";

config::LoadResult LoadText(const std::string& text) {
  return config::LoadFromString(
      text, "esc.toml", BuiltinExtensions(),
      [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
}

std::string Rfc3339(TimePoint t) { return date::format("%FT%TZ", std::chrono::floor<seconds>(t)); }

// --- Config ------------------------------------------------------------------------------

TEST(EscalationConfigTest, ParsesEntriesWithTheDefaultRepeatInterval) {
  const config::LoadResult result = LoadText(std::string(kReceivers) + R"(
[[kpi]]
name = "revenue"
source = "db"
query = "SELECT 1"
  [kpi.goal]
  baseline = 0
  target = 100
  start = 2026-01-01
  deadline = 2026-12-31
  [[kpi.goal.escalate]]
  within = "14d"
  receivers = ["lead"]
  [[kpi.goal.escalate]]
  within = "3d"
  receivers = ["lead", "vp"]
  repeat_interval = "30m"
)");
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(result.config);
  const auto& goal = std::get<config::DeadlineGoal>(result.config->kpis[0].goal->kind);
  ASSERT_EQ(goal.escalations.size(), 2u);
  EXPECT_EQ(goal.escalations[0].within, 14 * kDay);
  EXPECT_THAT(goal.escalations[0].receivers, ElementsAre("lead"));
  EXPECT_EQ(goal.escalations[0].repeat_interval, hours(1)) << "the default";
  EXPECT_EQ(goal.escalations[1].within, 3 * kDay);
  EXPECT_THAT(goal.escalations[1].receivers, ElementsAre("lead", "vp"));
  EXPECT_EQ(goal.escalations[1].repeat_interval, minutes(30));
  EXPECT_THAT(EscalationReceivers(result.config->kpis[0]), ElementsAre("lead", "vp"));
}

TEST(EscalationConfigTest, RecurringGoalsMayEscalate) {
  const config::LoadResult result = LoadText(std::string(kReceivers) + R"(
[[kpi]]
name = "revenue"
source = "db"
query = "SELECT 1"
  [kpi.goal]
  baseline = 0
  target = 100
  period = "month"
  [[kpi.goal.escalate]]
  within = "5d"
  receivers = ["vp"]
)");
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(result.config);
}

std::vector<std::string> Errors(const std::string& escalate, bool band = false) {
  const std::string goal = band ? R"(
  [kpi.goal]
  max = 10
)"
                                : R"(
  [kpi.goal]
  baseline = 0
  target = 100
  start = 2026-01-01
  deadline = 2026-12-31
)";
  const config::LoadResult result = LoadText(std::string(kReceivers) + R"(
[[kpi]]
name = "revenue"
source = "db"
query = "SELECT 1")" + goal + escalate);
  std::vector<std::string> out;
  for (const auto& e : result.errors) out.push_back(e.ToString());
  EXPECT_FALSE(result.config.has_value());
  return out;
}

// The kReceivers text ends at line 21 and the KPI starts at line 23: the deadline goal's
// escalate table is at line 32 (within at 33, receivers at 34), the band goal's at 29.
TEST(EscalationConfigTest, ErrorsNameFileLineAndColumn) {
  EXPECT_THAT(Errors(R"(  [[kpi.goal.escalate]]
  within = "0s"
  receivers = ["vp"]
)"),
              ElementsAre(AllOf(HasSubstr("esc.toml:33:"), HasSubstr("within"))));
  EXPECT_THAT(Errors(R"(  [[kpi.goal.escalate]]
  within = "-3d"
  receivers = ["vp"]
)"),
              ElementsAre(AllOf(HasSubstr("esc.toml:33:"), HasSubstr("within"))));
  EXPECT_THAT(Errors(R"(  [[kpi.goal.escalate]]
  receivers = ["vp"]
)"),
              ElementsAre(HasSubstr("within")));
  EXPECT_THAT(Errors(R"(  [[kpi.goal.escalate]]
  within = "3d"
  receivers = []
)"),
              ElementsAre(AllOf(HasSubstr("esc.toml:34:"), HasSubstr("at least one"))));
  EXPECT_THAT(Errors(R"(  [[kpi.goal.escalate]]
  within = "3d"
  receivers = ["cfo-email"]
)"),
              ElementsAre(AllOf(HasSubstr("esc.toml:34:"), HasSubstr("unknown receiver"),
                                HasSubstr("cfo-email"))));
  EXPECT_THAT(Errors(R"(  [[kpi.goal.escalate]]
  within = "3d"
  receivers = ["vp"]
  repeat_interval = "0s"
)"),
              ElementsAre(AllOf(HasSubstr("esc.toml:35:"), HasSubstr("repeat_interval"))));
  EXPECT_THAT(Errors(R"(  [[kpi.goal.escalate]]
  within = "3d"
  receivers = ["vp"]
  after = "1d"
)"),
              ElementsAre(AllOf(HasSubstr("esc.toml:35:"), HasSubstr("after"))));
  EXPECT_THAT(Errors(R"(  [[kpi.goal.escalate]]
  within = "3d"
  receivers = ["vp"]
)",
                     /*band=*/true),
              ElementsAre(AllOf(HasSubstr("esc.toml:29:3:"), HasSubstr("band goal"))));
}

// --- Notifier ----------------------------------------------------------------------------

// A goal from 80 days before t0 to 20 days after: a value of 10 is off track at t0 (80 %
// expected), 95 is on track for the rest of the goal.
class EscalationNotifierTest : public ::testing::Test {
 protected:
  void Load(const std::string& route, const std::string& escalate) {
    const std::string text = std::string(kReceivers) + R"(
[[kpi]]
name = "revenue"
title = "Revenue"
source = "db"
query = "SELECT 1"
interval = "1d"
  [kpi.goal]
  baseline = 0
  target = 100
  start = )" + Rfc3339(t0_ - 80 * kDay) +
                             R"(
  deadline = )" + Rfc3339(deadline_) +
                             "\n" + escalate + route;
    config::LoadResult result = LoadText(text);
    for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
    ASSERT_TRUE(result.config.has_value());
    config_ = std::make_shared<const config::Config>(std::move(*result.config));
    engine_.Apply(config_);
  }

  std::unique_ptr<Notifier> MakeNotifier() {
    auto notifier = std::make_unique<Notifier>(
        io_, registry_, persistence_,
        [this](const config::Receiver& r, const ReceiverContext&) -> std::unique_ptr<Receiver> {
          return std::make_unique<testing::RecordingReceiver>(io_, sent_[r.name]);
        },
        Notifier::Options{hours(1), milliseconds(5), milliseconds(20), 4});
    notifier->Apply(config_, engine_);
    notifier->Restore();
    return notifier;
  }

  void Step(Notifier& notifier, double value, TimePoint t) {
    (void)engine_.Record("revenue", collectors::Sample{value, t});
    (void)engine_.Evaluate(t);
    notifier.Reconcile(t);
    Drain();
  }

  void Reconcile(Notifier& notifier, TimePoint t) {
    notifier.Reconcile(t);
    Drain();
  }

  void Drain() {
    io_.restart();
    io_.run_for(milliseconds(100));
  }

  double Delivered(const std::string& receiver) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != "kpid_notifications_total") continue;
      for (const auto& metric : family.metric) {
        bool match = true;
        for (const auto& label : metric.label) {
          if (label.name == "receiver" && label.value != receiver) match = false;
          if (label.name == "result" && label.value != "delivered") match = false;
        }
        if (match) return metric.counter.value;
      }
    }
    return -1;
  }

  void SetUp() override { ASSERT_TRUE(persistence_.Open((dir_.path() / "kpid.db").string())); }

  testing::TempDir dir_;
  boost::asio::io_context io_;
  prometheus::Registry registry_;
  Persistence persistence_{registry_};
  Engine engine_;
  std::shared_ptr<const config::Config> config_;
  std::map<std::string, std::vector<Notification>> sent_;
  const TimePoint t0_ = std::chrono::floor<seconds>(std::chrono::system_clock::now());
  const TimePoint deadline_ = t0_ + 20 * kDay;
};

constexpr const char* kHookRoute = R"(
[[route]]
receivers = ["hook"]
group_wait = "0s"
group_interval = "1s"
repeat_interval = "24h"
)";

constexpr const char* kTwoLevels = R"(
  [[kpi.goal.escalate]]
  within = "14d"
  receivers = ["lead"]
  [[kpi.goal.escalate]]
  within = "3d"
  receivers = ["lead", "vp"]
  repeat_interval = "30m"
)";

TEST_F(EscalationNotifierTest, EscalatesInsideTheWindowWhileOffTrackOnly) {
  Load(kHookRoute, kTwoLevels);
  auto notifier = MakeNotifier();
  std::vector<Notification>& lead = sent_["lead"];
  std::vector<Notification>& vp = sent_["vp"];

  Step(*notifier, 10, t0_);
  ASSERT_EQ(sent_["hook"].size(), 1u) << "the route's receiver is told at once";
  EXPECT_TRUE(lead.empty()) << "20 days left: outside every window";
  Step(*notifier, 10, t0_ + 5 * kDay);
  EXPECT_TRUE(lead.empty()) << "15 days left";

  // 13 days left, off track: the lead hears of it, the VP does not yet.
  const TimePoint in14 = t0_ + 7 * kDay;
  Step(*notifier, 10, in14);
  ASSERT_EQ(lead.size(), 1u);
  EXPECT_TRUE(vp.empty());
  EXPECT_EQ(lead[0].Status(), "firing");
  EXPECT_EQ(lead[0].receiver, "lead");
  ASSERT_EQ(lead[0].alerts.size(), 1u);
  EXPECT_THAT(lead[0].alerts[0].labels, Contains(Pair("alert", "revenue/goal")));
  EXPECT_THAT(lead[0].alerts[0].annotations,
              Contains(Pair("escalation", "Escalated: 13 days to the deadline")));
  EXPECT_THAT(Subject(lead[0]), HasSubstr("Escalated: 13 days to the deadline"));
  EXPECT_THAT(TextBody(lead[0]), HasSubstr("Escalated: 13 days to the deadline: Revenue is"));
  for (const Alert& a : sent_["hook"].back().alerts) {
    EXPECT_TRUE(EscalationNote(a).empty()) << "the route's receiver is not escalated";
  }

  // The entry's repeat_interval (1h by default), not the route's 24h.
  Reconcile(*notifier, in14 + minutes(59));
  EXPECT_EQ(lead.size(), 1u);
  Reconcile(*notifier, in14 + hours(1));
  ASSERT_EQ(lead.size(), 2u) << "repeated after the entry's repeat_interval";
  EXPECT_EQ(lead[1].Status(), "firing");
  EXPECT_EQ(Delivered("lead"), 2.0) << "counted in kpid_notifications_total";

  // Back on track: the escalation ends with a resolved message, then silence.
  Step(*notifier, 95, in14 + hours(2));
  ASSERT_EQ(lead.size(), 3u);
  EXPECT_EQ(lead[2].Status(), "resolved");
  EXPECT_TRUE(EscalationNote(lead[2].alerts[0]).empty());
  Step(*notifier, 95, in14 + hours(5));
  EXPECT_EQ(lead.size(), 3u);
  EXPECT_TRUE(vp.empty());

  // Off track again 2 days before the deadline: both entries apply; the lead and the VP
  // hear every 30 minutes, the shorter repeat_interval.
  const TimePoint in3 = t0_ + 18 * kDay;
  Step(*notifier, 10, in3);
  ASSERT_EQ(lead.size(), 4u);
  ASSERT_EQ(vp.size(), 1u);
  EXPECT_THAT(vp[0].alerts[0].annotations,
              Contains(Pair("escalation", "Escalated: 2 days to the deadline")));
  Reconcile(*notifier, in3 + minutes(29));
  EXPECT_EQ(vp.size(), 1u);
  Reconcile(*notifier, in3 + minutes(30));
  EXPECT_EQ(vp.size(), 2u);
  EXPECT_EQ(lead.size(), 5u) << "the lead's repeat shortens too";
}

TEST_F(EscalationNotifierTest, AReceiverTheRouteAlreadyNamesRepeatsMoreOften) {
  Load(kHookRoute, R"(
  [[kpi.goal.escalate]]
  within = "14d"
  receivers = ["hook"]
  repeat_interval = "2h"
)");
  auto notifier = MakeNotifier();
  std::vector<Notification>& hook = sent_["hook"];
  const TimePoint in14 = t0_ + 7 * kDay;
  Step(*notifier, 10, in14);
  ASSERT_EQ(hook.size(), 1u) << "one message, not one per route and escalation";
  EXPECT_THAT(hook[0].alerts[0].annotations,
              Contains(Pair("escalation", "Escalated: 13 days to the deadline")));
  Reconcile(*notifier, in14 + hours(1));
  EXPECT_EQ(hook.size(), 1u);
  Reconcile(*notifier, in14 + hours(2));
  EXPECT_EQ(hook.size(), 2u) << "2h, not the route's 24h";
  Step(*notifier, 95, in14 + hours(3));
  ASSERT_EQ(hook.size(), 3u);
  EXPECT_EQ(hook[2].Status(), "resolved");
}

TEST_F(EscalationNotifierTest, WorksWithoutARouteAndKeepsTellingOnceTheDeadlineIsMissed) {
  Load("", R"(
  [[kpi.goal.escalate]]
  within = "3d"
  receivers = ["vp"]
  repeat_interval = "12h"
)");
  auto notifier = MakeNotifier();
  std::vector<Notification>& vp = sent_["vp"];
  Step(*notifier, 10, t0_);
  EXPECT_TRUE(vp.empty());
  // Without a route, escalations wait the default group_wait (30s).
  Step(*notifier, 10, deadline_ - kDay);
  EXPECT_TRUE(vp.empty());
  Reconcile(*notifier, deadline_ - kDay + seconds(30));
  ASSERT_EQ(vp.size(), 1u);
  EXPECT_THAT(vp[0].alerts[0].labels, Contains(Pair("status", "off_track")));
  // Past the deadline the goal is missed: a status change, told at once (group_interval).
  Step(*notifier, 10, deadline_ + hours(1));
  ASSERT_EQ(vp.size(), 2u);
  EXPECT_THAT(vp[1].alerts[0].labels, Contains(Pair("status", "missed")));
  EXPECT_THAT(vp[1].alerts[0].annotations,
              Contains(Pair("escalation", "Escalated: the deadline has passed")));
}

TEST_F(EscalationNotifierTest, EscalationStateSurvivesARestart) {
  Load(kHookRoute, kTwoLevels);
  const TimePoint in14 = t0_ + 7 * kDay;
  {
    auto notifier = MakeNotifier();
    Step(*notifier, 10, in14);
    ASSERT_EQ(sent_["lead"].size(), 1u);
    notifier->Stop();
  }
  auto notifier = MakeNotifier();
  Reconcile(*notifier, in14 + minutes(10));
  EXPECT_EQ(sent_["lead"].size(), 1u) << "a restart does not repeat the escalation";
  Step(*notifier, 95, in14 + minutes(20));
  ASSERT_EQ(sent_["lead"].size(), 2u);
  EXPECT_EQ(sent_["lead"][1].Status(), "resolved");
}

// --- Backtest ----------------------------------------------------------------------------

// Off track from the start, two days before the deadline, back on track after 3 hours: the
// would-notify list names the escalation receiver for the firing and the resolve.
TEST(EscalationBacktestTest, WouldNotifyListsEscalationReceivers) {
  const TimePoint t0 = std::chrono::sys_days(std::chrono::year{2026} / 11 / 2) + hours(8);
  const config::LoadResult result = LoadText(std::string(kReceivers) + R"(
[[kpi]]
name = "revenue"
source = "db"
query = "SELECT 1"
stale_after = "1d"
  [kpi.goal]
  baseline = 0
  target = 100
  start = 2026-10-01T08:00:00Z
  deadline = 2026-11-04T08:00:00Z
  progress_events = []  # only the alert's notifications, not the 75 % event of 10 -> 99
  [[kpi.goal.escalate]]
  within = "3d"
  receivers = ["vp"]

[[route]]
receivers = ["hook"]
)");
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(result.config);
  const auto config = std::make_shared<const config::Config>(*result.config);
  std::vector<rules::Sample> samples;
  for (int h = -1; h <= 6; ++h) samples.push_back({t0 + hours(h), h < 3 ? 10.0 : 99.0});
  const HistoryReader history = [&](const std::string&, TimePoint from, TimePoint until) {
    std::vector<rules::Sample> out;
    for (const rules::Sample& s : samples) {
      if (s.at >= from && s.at <= until) out.push_back(s);
    }
    return out;
  };
  BacktestOptions options;
  options.since = t0;
  options.until = t0 + hours(6);
  options.step = hours(1);
  const BacktestReport report = Backtest(config, history, options);
  ASSERT_EQ(report.kpis.size(), 1u);
  const std::vector<BacktestNotification>& n = report.kpis[0].notifications;
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[0].event, "firing");
  EXPECT_EQ(n[0].at, t0);
  EXPECT_THAT(n[0].receivers, ElementsAre("hook", "vp"));
  EXPECT_EQ(n[1].event, "resolved");
  EXPECT_EQ(n[1].at, t0 + hours(3));
  EXPECT_THAT(n[1].receivers, ElementsAre("hook", "vp"));
}

}  // namespace
}  // namespace kpid::notify
