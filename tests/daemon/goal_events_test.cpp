// Goal events (README "Goal events"): progress_events config and its errors, thresholds told
// once each and in order, no repeat after a restart, again in a recurring goal's next
// period, milestones met and missed, "achieved" instead of a resolve, silences, the webhook
// payload over loopback, the store's migration from schema 5, and the backtest's list.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/post.hpp>
#include <date/date.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "daemon/backtest.hpp"
#include "daemon/load_config.hpp"
#include "daemon/notify/message.hpp"
#include "daemon/notify/notifier.hpp"
#include "daemon/notify/registry.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/recording_receiver.hpp"

namespace kpid::notify {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

constexpr auto kDay = hours(24);

constexpr const char* kHead = R"([[source]]
name = "db"
type = "sql"
driver = "sqlite3"
connection = "/nonexistent.db"

[[receiver]]
name = "hook"
type = "file"
path = "/nonexistent/hook.jsonl"

[[receiver]]
name = "other"
type = "file"
path = "/nonexistent/other.jsonl"

[[route]]
match = { team = "sales" }
receivers = ["hook"]
group_wait = "0s"
group_interval = "1s"
repeat_interval = "24h"
)";

config::LoadResult LoadText(const std::string& text) {
  return config::LoadFromString(
      text, "events.toml", BuiltinExtensions(),
      [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
}

std::string Rfc3339(TimePoint t) { return date::format("%FT%TZ", std::chrono::floor<seconds>(t)); }

// A fixed goal around t0: `extra` goes into [kpi.goal], `tail` after the KPI.
std::string Kpi(TimePoint start, TimePoint deadline, const std::string& extra = "",
                const std::string& tail = "") {
  return std::string(kHead) + R"(
[[kpi]]
name = "revenue"
title = "Quarterly revenue"
unit = "EUR"
labels = { team = "sales" }
source = "db"
query = "SELECT 1"
interval = "1d"
stale_after = "400d"
  [kpi.goal]
  baseline = 0
  target = 1000
  start = )" +
         Rfc3339(start) + "\n  deadline = " + Rfc3339(deadline) + "\n" + extra + tail;
}

// --- Config ------------------------------------------------------------------------------

std::vector<double> ProgressEvents(const std::string& extra) {
  const TimePoint t0 = std::chrono::floor<seconds>(std::chrono::system_clock::now());
  const config::LoadResult result = LoadText(Kpi(t0 - 10 * kDay, t0 + 10 * kDay, extra));
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  if (!result.config) return {-1};
  return std::get<config::DeadlineGoal>(result.config->kpis[0].goal->kind).progress_events;
}

TEST(GoalEventsConfigTest, DefaultsAndOverrides) {
  EXPECT_THAT(ProgressEvents(""), ElementsAre(0.25, 0.5, 0.75, 1.0));
  EXPECT_THAT(ProgressEvents("  progress_events = [0.1, 0.9]\n"), ElementsAre(0.1, 0.9));
  EXPECT_THAT(ProgressEvents("  progress_events = [1]\n"), ElementsAre(1.0));
  EXPECT_THAT(ProgressEvents("  progress_events = []\n"), IsEmpty());
}

TEST(GoalEventsConfigTest, RecurringGoalsTakeThem) {
  const config::LoadResult result = LoadText(std::string(kHead) + R"(
[[kpi]]
name = "revenue"
source = "db"
query = "SELECT 1"
  [kpi.goal]
  baseline = 0
  target = 100
  period = "month"
  progress_events = [0.5]
)");
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(result.config);
}

// progress_events, the first key after the deadline, is on line 38 of Kpi()'s text.
std::vector<std::string> Errors(const std::string& line) {
  const TimePoint t0 = std::chrono::floor<seconds>(std::chrono::system_clock::now());
  const config::LoadResult result = LoadText(Kpi(t0 - 10 * kDay, t0 + 10 * kDay, line));
  std::vector<std::string> out;
  for (const auto& e : result.errors) out.push_back(e.ToString());
  EXPECT_FALSE(result.config.has_value()) << line;
  return out;
}

TEST(GoalEventsConfigTest, ErrorsNameFileLineAndColumn) {
  EXPECT_THAT(Errors("  progress_events = [0.5, 0]\n"),
              ElementsAre(AllOf(HasSubstr("events.toml:38:27:"), HasSubstr("(0, 1]"))));
  EXPECT_THAT(Errors("  progress_events = [1.5]\n"),
              ElementsAre(AllOf(HasSubstr("events.toml:38:22:"), HasSubstr("(0, 1]"))));
  EXPECT_THAT(
      Errors("  progress_events = [0.5, 0.5]\n"),
      ElementsAre(AllOf(HasSubstr("events.toml:38:27:"), HasSubstr("strictly increasing"))));
  EXPECT_THAT(Errors("  progress_events = [0.25, \"half\"]\n"),
              ElementsAre(AllOf(HasSubstr("events.toml:38:28:"), HasSubstr("only numbers"))));
  EXPECT_THAT(Errors("  progress_events = 0.5\n"),
              ElementsAre(AllOf(HasSubstr("events.toml:38:21:"), HasSubstr("array of numbers"))));
}

// --- Engine + notifier over a real store ---------------------------------------------------

// The daemon's parts over a store in a temp dir; Restart() replaces all of them and
// restores what the service restores (alert states, goal events).
class GoalEventsTest : public ::testing::Test {
 protected:
  void Load(const std::string& text) {
    config::LoadResult result = LoadText(text);
    for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
    ASSERT_TRUE(result.config.has_value());
    config_ = std::make_shared<const config::Config>(std::move(*result.config));
    Start();
  }

  void Start() {
    persistence_ = std::make_unique<Persistence>(registry_);
    ASSERT_TRUE(persistence_->Open((dir_.path() / "kpid.db").string()));
    engine_ = std::make_unique<Engine>();
    engine_->Apply(config_);
    store::Store& store = *persistence_->store();
    engine_->RestoreAlerts(std::get<std::vector<store::AlertRow>>(store.LoadAlerts()));
    engine_->RestoreEvents(std::get<std::vector<store::EventRow>>(store.LoadEvents()));
    notifier_ = std::make_unique<Notifier>(
        io_, registry_, *persistence_,
        [this](const config::Receiver& r,
               const ReceiverContext& context) -> std::unique_ptr<Receiver> {
          if (r.type == "webhook") return MakeReceiver(r, context);
          return std::make_unique<testing::RecordingReceiver>(io_, sent_[r.name]);
        },
        Notifier::Options{hours(1), milliseconds(5), milliseconds(20), 4});
    notifier_->Apply(config_, *engine_);
    notifier_->Restore();
  }

  void Restart() {
    notifier_->Stop();
    Drain();
    notifier_.reset();
    engine_.reset();
    persistence_.reset();
    Start();
  }

  void Step(double value, TimePoint t) {
    (void)engine_->Record("revenue", collectors::Sample{value, t});
    Engine::Cycle cycle = engine_->Evaluate(t);
    persistence_->SaveAlerts(cycle.alerts);
    persistence_->SavePeriods(cycle.periods);
    notifier_->Announce(cycle.events, t);
    notifier_->Reconcile(t);
    Drain();
  }

  void Drain() {
    io_.restart();
    io_.run_for(milliseconds(50));
  }

  // The goal events told to `receiver` (the "event" labels), in order; alerts left out.
  std::vector<std::string> Events(const std::string& receiver) {
    std::vector<std::string> out;
    for (const Notification& n : sent_[receiver]) {
      for (const Alert& a : n.alerts) {
        if (!EventName(a).empty()) out.emplace_back(EventName(a));
      }
    }
    return out;
  }

  // The last goal event's notification to `receiver`.
  const Notification& LastEvent(const std::string& receiver) {
    for (auto it = sent_[receiver].rbegin(); it != sent_[receiver].rend(); ++it) {
      if (it->alerts.size() == 1 && !EventName(it->alerts[0]).empty()) return *it;
    }
    static const Notification kNone;
    ADD_FAILURE() << "no goal event told to " << receiver;
    return kNone;
  }

  std::vector<store::EventRow> StoredEvents() {
    return std::get<std::vector<store::EventRow>>(persistence_->store()->LoadEvents());
  }

  testing::TempDir dir_;
  boost::asio::io_context io_;
  prometheus::Registry registry_;
  std::unique_ptr<Persistence> persistence_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Notifier> notifier_;
  std::shared_ptr<const config::Config> config_;
  std::map<std::string, std::vector<Notification>> sent_;
  const TimePoint t0_ = std::chrono::floor<seconds>(std::chrono::system_clock::now());
};

TEST_F(GoalEventsTest, ThresholdsAreToldOnceEachInOrder) {
  // Half the time gone at t0: 500 is on the trajectory.
  Load(Kpi(t0_ - 50 * kDay, t0_ + 50 * kDay));
  Step(100, t0_);
  EXPECT_THAT(Events("hook"), IsEmpty()) << "nothing reached yet";
  Step(300, t0_ + minutes(1));
  ASSERT_THAT(Events("hook"), ElementsAre("progress_25"));
  const Notification first = LastEvent("hook");
  ASSERT_EQ(first.alerts.size(), 1u);
  const Alert& a = first.alerts[0];
  EXPECT_THAT(a.labels, Contains(Pair("alert", "revenue/goal")));
  EXPECT_THAT(a.labels, Contains(Pair("severity", "info")));
  EXPECT_THAT(a.labels, Contains(Pair("status", "off_track")));
  EXPECT_THAT(a.labels, Contains(Pair("team", "sales")));
  EXPECT_EQ(Subject(first),
            "[GOOD NEWS] Quarterly revenue passed 25 % of its goal: 300 EUR of 1000 EUR, "
            "3 weeks behind the trajectory");
  EXPECT_THAT(TextBody(first), HasSubstr("Quarterly revenue passed 25 % of its goal"));

  Step(320, t0_ + minutes(2));
  Step(300, t0_ + minutes(3));
  Step(330, t0_ + minutes(4));
  EXPECT_THAT(Events("hook"), ElementsAre("progress_25"))
      << "25 % is not told again after dipping below it";

  Step(600, t0_ + minutes(5));
  Step(800, t0_ + minutes(6));
  EXPECT_THAT(Events("hook"), ElementsAre("progress_25", "progress_50", "progress_75"));
  EXPECT_THAT(Subject(LastEvent("hook")),
              HasSubstr("passed 75 % of its goal: 800 EUR of 1000 EUR, 4 weeks ahead of the "
                        "trajectory"));
  Step(1000, t0_ + minutes(7));
  EXPECT_THAT(Events("hook"), ElementsAre("progress_25", "progress_50", "progress_75", "achieved"))
      << "100 % is told as achieved";
  EXPECT_EQ(Subject(LastEvent("hook")),
            "[GOOD NEWS] Quarterly revenue achieved its goal: 1000 EUR of 1000 EUR");
  Step(1200, t0_ + minutes(8));
  EXPECT_EQ(Events("hook").size(), 4u);
  EXPECT_TRUE(sent_["other"].empty()) << "only the goal alert's route";
}

TEST_F(GoalEventsTest, AJumpOverSeveralThresholdsTellsTheHighest) {
  Load(Kpi(t0_ - 50 * kDay, t0_ + 50 * kDay));
  Step(100, t0_);
  Step(800, t0_ + minutes(1));
  EXPECT_THAT(Events("hook"), ElementsAre("progress_75"));
}

TEST_F(GoalEventsTest, NoRepeatAfterARestart) {
  Load(Kpi(t0_ - 50 * kDay, t0_ + 50 * kDay));
  Step(100, t0_);
  Step(600, t0_ + minutes(1));
  ASSERT_THAT(Events("hook"), ElementsAre("progress_50"));

  Restart();
  Step(600, t0_ + minutes(2));
  Step(610, t0_ + minutes(3));
  EXPECT_THAT(Events("hook"), ElementsAre("progress_50")) << "not told again";
  Step(800, t0_ + minutes(4));
  EXPECT_THAT(Events("hook"), ElementsAre("progress_50", "progress_75"));

  Restart();
  Step(800, t0_ + minutes(5));
  Step(1000, t0_ + minutes(6));
  Restart();
  Step(1000, t0_ + minutes(7));
  EXPECT_THAT(Events("hook"), ElementsAre("progress_50", "progress_75", "achieved"));
  // One row per event, plus the goal's first judgement.
  std::vector<std::string> keys;
  for (const store::EventRow& row : StoredEvents()) keys.push_back(row.event);
  EXPECT_THAT(keys, ::testing::UnorderedElementsAre("judged", "progress_25", "progress_50",
                                                    "progress_75", "progress_100", "achieved"));
}

TEST_F(GoalEventsTest, AFirstJudgementOnAHalfDoneGoalDoesNotReplayOldCrossings) {
  Load(Kpi(t0_ - 50 * kDay, t0_ + 50 * kDay));
  Step(600, t0_);
  EXPECT_THAT(Events("hook"), IsEmpty()) << "25 % and 50 % were reached before kpid judged it";
  Step(800, t0_ + minutes(1));
  EXPECT_THAT(Events("hook"), ElementsAre("progress_75"));
}

TEST_F(GoalEventsTest, AKpiWithoutDataTellsNothing) {
  Load(Kpi(t0_ - 50 * kDay, t0_ + 50 * kDay,
           "  [[kpi.goal.milestone]]\n  at = " + Rfc3339(t0_ - kDay) + "\n  value = 400\n"));
  engine_->Record("revenue", collectors::CollectError{collectors::ErrorKind::kEmpty, "no rows"});
  Engine::Cycle cycle = engine_->Evaluate(t0_);
  EXPECT_TRUE(cycle.events.empty());
  notifier_->Announce(cycle.events, t0_);
  EXPECT_TRUE(StoredEvents().empty());
}

TEST_F(GoalEventsTest, EmptyProgressEventsTellNone) {
  Load(Kpi(t0_ - 50 * kDay, t0_ + 50 * kDay, "  progress_events = []\n"));
  Step(100, t0_);
  Step(300, t0_ + minutes(1));
  Step(600, t0_ + minutes(2));
  Step(900, t0_ + minutes(3));
  EXPECT_THAT(Events("hook"), IsEmpty());
  Step(1000, t0_ + minutes(4));
  EXPECT_THAT(Events("hook"), ElementsAre("achieved")) << "achieved is not a progress event";
}

TEST_F(GoalEventsTest, MilestonesMetAndMissed) {
  const TimePoint m1 = t0_ + 10 * kDay;
  const TimePoint m2 = t0_ + 20 * kDay;
  Load(Kpi(t0_ - 50 * kDay, t0_ + 50 * kDay,
           "  progress_events = []\n  notify_on = []\n"
           "  [[kpi.goal.milestone]]\n  at = " +
               Rfc3339(m1) + "\n  value = 400\n  [[kpi.goal.milestone]]\n  at = " + Rfc3339(m2) +
               "\n  value = 700\n"));
  Step(100, t0_);
  Step(450, m1 - hours(1));
  EXPECT_THAT(Events("hook"), IsEmpty());
  Step(450, m1 + hours(1));
  ASSERT_THAT(Events("hook"), ElementsAre("milestone_met"));
  const std::string day1 = date::format("%F", std::chrono::floor<seconds>(m1) - seconds(1));
  EXPECT_EQ(Subject(sent_["hook"][0]),
            "[GOOD NEWS] Quarterly revenue: milestone " + day1 + " met: 450 EUR against 400 EUR");
  Step(460, m1 + hours(2));
  Restart();
  Step(500, m2 - hours(1));
  Step(900, m2 + hours(1));  // too late: the value at the date counts
  ASSERT_THAT(Events("hook"), ElementsAre("milestone_met", "milestone_missed"));
  const std::string day2 = date::format("%F", std::chrono::floor<seconds>(m2) - seconds(1));
  EXPECT_EQ(Subject(sent_["hook"][1]), "[MILESTONE] Quarterly revenue: milestone " + day2 +
                                           " missed: 500 EUR against 700 EUR");
  EXPECT_THAT(sent_["hook"][1].alerts[0].labels, Contains(Pair("event", "milestone_missed")));
  Restart();
  Step(900, m2 + hours(2));
  EXPECT_EQ(Events("hook").size(), 2u) << "once each, also across restarts";
}

TEST_F(GoalEventsTest, AchievedReplacesTheResolvedMessage) {
  // 80 % of the time gone: 100 is off track and fires.
  Load(Kpi(t0_ - 80 * kDay, t0_ + 20 * kDay, "  progress_events = []\n"));
  Step(100, t0_);
  ASSERT_EQ(sent_["hook"].size(), 1u);
  EXPECT_EQ(sent_["hook"][0].Status(), "firing");
  EXPECT_THAT(Events("hook"), IsEmpty());

  Restart();  // the alert state and what the hook was told survive
  Step(1000, t0_ + hours(1));
  ASSERT_EQ(sent_["hook"].size(), 2u) << "one message: the good news, no resolve besides";
  EXPECT_THAT(Events("hook"), ElementsAre("achieved"));
  EXPECT_EQ(sent_["hook"][1].Status(), "firing");
  EXPECT_THAT(TextBody(sent_["hook"][1]), Not(HasSubstr("RESOLVED")));
  const KpiView* view = engine_->Find("revenue");
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(view->alerts[0].state.phase, rules::AlertPhase::kResolved) << "the alert resolves";

  Step(1000, t0_ + hours(2));
  Restart();
  Step(1000, t0_ + hours(3));
  EXPECT_EQ(sent_["hook"].size(), 2u) << "no late resolve, no second achieved";
}

TEST_F(GoalEventsTest, AchievedWithoutAFiringAlertIsStillGoodNews) {
  Load(Kpi(t0_ - 50 * kDay, t0_ + 50 * kDay, "  progress_events = []\n"));
  Step(500, t0_);
  Step(1000, t0_ + hours(1));
  EXPECT_THAT(Events("hook"), ElementsAre("achieved"));
}

TEST_F(GoalEventsTest, ASilenceOnTheGoalAlertHoldsThemBackForGood) {
  Load(Kpi(t0_ - 50 * kDay, t0_ + 50 * kDay, "  notify_on = []\n",
           "\n[[silence]]\nmatch = { alert = \"revenue/goal\" }\nstarts = " + Rfc3339(t0_ - kDay) +
               "\nends = " + Rfc3339(t0_ + hours(1)) + "\n"));
  Step(100, t0_);
  Step(600, t0_ + minutes(1));
  EXPECT_THAT(Events("hook"), IsEmpty());
  Step(600, t0_ + hours(2));  // the silence is over
  EXPECT_THAT(Events("hook"), IsEmpty()) << "a silenced event is not told later";
  Step(800, t0_ + hours(3));
  EXPECT_THAT(Events("hook"), ElementsAre("progress_75"));
}

TEST_F(GoalEventsTest, ARecurringGoalTellsThemAgainNextPeriod) {
  Load(std::string(kHead) + R"(
[[kpi]]
name = "revenue"
title = "Monthly revenue"
labels = { team = "sales" }
source = "db"
query = "SELECT 1"
stale_after = "400d"
  [kpi.goal]
  baseline = 0
  target = 1000
  period = "month"
  notify_on = []
  progress_events = [0.5]
)");
  Step(0, t0_);
  Step(600, t0_ + minutes(1));
  ASSERT_THAT(Events("hook"), ElementsAre("progress_50"));
  const std::string first_period = engine_->Find("revenue")->period->label;

  // The next month: the first value in it is over half again.
  const TimePoint next = engine_->Find("revenue")->period->period.end + kDay;
  Restart();
  Step(100, next);
  EXPECT_THAT(Events("hook"), ElementsAre("progress_50"));
  Step(700, next + hours(1));
  ASSERT_THAT(Events("hook"), ElementsAre("progress_50", "progress_50"));
  EXPECT_NE(engine_->Find("revenue")->period->label, first_period);
  std::vector<std::string> periods;
  for (const store::EventRow& row : StoredEvents()) {
    if (row.event == "progress_50") periods.push_back(row.period);
  }
  EXPECT_THAT(periods, ElementsAre(first_period, engine_->Find("revenue")->period->label));
  Restart();
  Step(800, next + hours(2));
  EXPECT_EQ(Events("hook").size(), 2u);
}

// The webhook receiver over loopback: the Alertmanager v4 payload of an event.
TEST_F(GoalEventsTest, WebhookPayload) {
  testing::HttpTestServer server(
      [](const testing::HttpTestRequest&) { return testing::HttpTestResponse::Json("{}"); });
  std::string text = Kpi(t0_ - 50 * kDay, t0_ + 50 * kDay);
  text += "\n[[receiver]]\nname = \"web\"\ntype = \"webhook\"\nurl = \"" + server.Url("/hook") +
          "\"\n\n[[route]]\nreceivers = [\"web\"]\ngroup_wait = \"0s\"\n";
  // The first route has no continue: put the webhook's before it.
  const auto at = text.find("[[route]]\nmatch = { team = \"sales\" }");
  text.insert(at,
              "[[route]]\nmatch = { team = \"sales\" }\nreceivers = [\"web\"]\n"
              "continue = true\ngroup_wait = \"0s\"\n\n");
  Load(text);
  Step(100, t0_);
  Step(600, t0_ + minutes(1));
  for (int i = 0; i < 100; ++i) {
    bool got = false;
    for (const auto& r : server.Requests()) {
      got = got || r.body.find("progress_50") != std::string::npos;
    }
    if (got) break;
    Drain();
  }
  std::optional<nlohmann::json> payload;
  for (const auto& r : server.Requests()) {
    if (r.body.find("progress_50") != std::string::npos) payload = nlohmann::json::parse(r.body);
  }
  ASSERT_TRUE(payload.has_value()) << "the webhook got the event";
  const nlohmann::json& p = *payload;
  EXPECT_EQ(p["version"], "4");
  EXPECT_EQ(p["status"], "firing");
  ASSERT_EQ(p["alerts"].size(), 1u);
  const nlohmann::json& a = p["alerts"][0];
  EXPECT_EQ(a["status"], "firing");
  EXPECT_EQ(a["labels"]["event"], "progress_50");
  EXPECT_EQ(a["labels"]["alert"], "revenue/goal");
  EXPECT_EQ(a["labels"]["kpi"], "revenue");
  EXPECT_EQ(a["labels"]["severity"], "info");
  EXPECT_EQ(a["labels"]["status"], "on_track");
  EXPECT_EQ(a["labels"]["team"], "sales");
  EXPECT_EQ(a["endsAt"], a["startsAt"]);
  EXPECT_NE(a["fingerprint"], Fingerprint("revenue/goal"));
  EXPECT_THAT(a["annotations"]["summary"].get<std::string>(),
              HasSubstr("Quarterly revenue passed 50 % of its goal: 600 EUR of 1000 EUR"));
}

// --- Store -------------------------------------------------------------------------------

TEST(GoalEventsStoreTest, MigratesFromSchema5AndKeepsEachEventOnce) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "kpid.db").string();
  {
    auto opened = store::Store::Open(path);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<store::Store>>(opened));
  }
  {
    // Back to what schema 5 had.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db,
                           "DROP TABLE restated_periods; DROP TABLE restated_statuses; DROP TABLE "
                           "restated_values; "
                           "DROP TABLE restatements; DROP TABLE goal_events; "
                           "PRAGMA user_version=5;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto opened = store::Store::Open(path);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<store::Store>>(opened));
  store::Store& s = *std::get<std::unique_ptr<store::Store>>(opened);
  EXPECT_EQ(s.SchemaVersion(), store::Store::kSchemaVersion);
  const TimePoint t = std::chrono::floor<milliseconds>(std::chrono::system_clock::now());
  const std::vector<store::EventRow> rows = {{"revenue", "", "progress_50", t},
                                             {"revenue", "2026-11", "achieved", t}};
  store::OutboxRow row;
  row.receiver = "hook";
  row.payload = "{}";
  row.created = row.expires = row.next_attempt = t;
  auto ids = s.RecordEvents(rows, std::vector<store::OutboxRow>{row}, {});
  ASSERT_TRUE(std::holds_alternative<std::vector<std::int64_t>>(ids));
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(ids).size(), 1u);
  // Recorded again (a pass that raced a restart): still one row, the first time kept.
  const std::vector<store::EventRow> again = {{"revenue", "", "progress_50", t + hours(1)}};
  ASSERT_TRUE(std::holds_alternative<std::vector<std::int64_t>>(s.RecordEvents(again, {}, {})));
  const auto loaded = std::get<std::vector<store::EventRow>>(s.LoadEvents());
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].period, "");
  EXPECT_EQ(loaded[0].event, "progress_50");
  EXPECT_EQ(loaded[0].at, t);
  EXPECT_EQ(loaded[1].period, "2026-11");
  EXPECT_EQ(std::get<std::vector<store::OutboxRow>>(s.LoadOutbox()).size(), 1u);
}

// --- Backtest ----------------------------------------------------------------------------

TEST(GoalEventsBacktestTest, ListsEventsAndAchievedInsteadOfResolved) {
  const TimePoint t0 = std::chrono::sys_days(std::chrono::year{2026} / 11 / 2) + hours(8);
  const config::LoadResult result = LoadText(std::string(kHead) + R"(
[[kpi]]
name = "revenue"
labels = { team = "sales" }
source = "db"
query = "SELECT 1"
stale_after = "1d"
  [kpi.goal]
  baseline = 0
  target = 100
  start = 2026-10-01T08:00:00Z
  deadline = 2026-11-04T08:00:00Z
)");
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(result.config);
  const auto config = std::make_shared<const config::Config>(*result.config);
  // Off track at 10, then 60 (50 % told), then 100: achieved instead of the resolve.
  const std::vector<rules::Sample> samples = {
      {t0 - hours(1), 10}, {t0 + hours(1), 60}, {t0 + hours(2), 100}};
  const HistoryReader history = [&](const std::string&, TimePoint from, TimePoint until) {
    std::vector<rules::Sample> out;
    for (const rules::Sample& s : samples) {
      if (s.at >= from && s.at <= until) out.push_back(s);
    }
    return out;
  };
  BacktestOptions options;
  options.since = t0;
  options.until = t0 + hours(3);
  options.step = hours(1);
  const BacktestReport report = Backtest(config, history, options);
  ASSERT_EQ(report.kpis.size(), 1u);
  std::vector<std::string> events;
  for (const BacktestNotification& n : report.kpis[0].notifications) {
    events.push_back(n.event);
    EXPECT_THAT(n.receivers, ElementsAre("hook")) << n.event;
  }
  EXPECT_THAT(events, ElementsAre("firing", "progress_50", "achieved"));
  EXPECT_THAT(report.kpis[0].notifications[1].summary, HasSubstr("passed 50 % of its goal"));
}

}  // namespace
}  // namespace kpid::notify
