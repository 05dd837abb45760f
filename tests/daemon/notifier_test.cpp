#include "daemon/notify/notifier.hpp"

#include <chrono>
#include <deque>
#include <optional>
#include <string>

#include <boost/asio/post.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/load_config.hpp"
#include "tests/support/process.hpp"

namespace kpid::notify {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::Contains;
using ::testing::Pair;

// A receiver that records what it is sent and answers from a script (delivered when the
// script is empty); `hold` leaves attempts unanswered.
struct Script {
  std::vector<Notification> sent;
  std::deque<Delivery> answers;
  bool hold = false;
};

class FakeReceiver : public Receiver {
 public:
  FakeReceiver(boost::asio::io_context& io, Script& script) : io_(io), script_(script) {}
  void Send(const Notification& n, Done done) override {
    script_.sent.push_back(n);
    if (script_.hold) return;
    Delivery answer;
    if (!script_.answers.empty()) {
      answer = script_.answers.front();
      script_.answers.pop_front();
    }
    boost::asio::post(io_, [done = std::move(done), answer] { done(answer); });
  }

 private:
  boost::asio::io_context& io_;
  Script& script_;
};

class NotifierTest : public ::testing::Test {
 protected:
  static constexpr const char* kKpis = R"(
[[kpi]]
name = "churn"
title = "Churn"
unit = "%"
labels = { team = "crm" }
source = "db"
query = "SELECT 1"
  [kpi.goal]
  max = 10

[[kpi]]
name = "backlog"
labels = { team = "crm" }
source = "db"
query = "SELECT 1"
  [kpi.goal]
  max = 100
)";

  void Load(const std::string& routes, const std::string& kpis = kKpis) {
    const std::string text = R"(
[server]
external_url = "http://kpid.example:9464"

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
name = "mail"
type = "file"
path = "/nonexistent/mail.jsonl"
)" + kpis + routes;
    config::LoadResult result = config::LoadFromString(
        text, "notify.toml", BuiltinExtensions(),
        [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
    for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
    ASSERT_TRUE(result.config.has_value());
    config_ = std::make_shared<const config::Config>(std::move(*result.config));
    engine_.Apply(config_);
  }

  std::unique_ptr<Notifier> MakeNotifier() {
    auto notifier = std::make_unique<Notifier>(
        io_, registry_, persistence_,
        [this](const config::Receiver& r, const ReceiverContext&) -> std::unique_ptr<Receiver> {
          return std::make_unique<FakeReceiver>(io_, scripts_[r.name]);
        },
        Notifier::Options{hours(1), milliseconds(5), milliseconds(20), 4});
    notifier->Apply(config_, engine_);
    notifier->Restore();
    return notifier;
  }

  // Records `value` for `kpi` at `t`, evaluates and reconciles at `t`, runs the io loop.
  void Step(Notifier& notifier, const std::string& kpi, double value, TimePoint t) {
    (void)engine_.Record(kpi, collectors::Sample{value, t});
    (void)engine_.Evaluate(t);
    notifier.Reconcile(t);
    Drain();
  }

  void Drain() {
    io_.restart();
    io_.run_for(milliseconds(100));
  }

  void SetUp() override { ASSERT_TRUE(persistence_.Open((dir_.path() / "kpid.db").string())); }

  testing::TempDir dir_;
  boost::asio::io_context io_;
  prometheus::Registry registry_;
  Persistence persistence_{registry_};
  Engine engine_;
  std::shared_ptr<const config::Config> config_;
  std::map<std::string, Script> scripts_;
  const TimePoint t0_ = std::chrono::floor<seconds>(std::chrono::system_clock::now());
};

TEST_F(NotifierTest, FiringThenResolvedReachTheReceiverOnce) {
  Load(R"(
[[route]]
receivers = ["hook"]
group_wait = "0s"
group_interval = "1s"
)");
  auto notifier = MakeNotifier();
  Step(*notifier, "churn", 12, t0_);
  Script& hook = scripts_["hook"];
  ASSERT_EQ(hook.sent.size(), 1u);
  const Notification& firing = hook.sent[0];
  EXPECT_EQ(firing.Status(), "firing");
  EXPECT_EQ(firing.receiver, "hook");
  EXPECT_EQ(firing.external_url, "http://kpid.example:9464");
  ASSERT_EQ(firing.alerts.size(), 1u);
  const Alert& alert = firing.alerts[0];
  EXPECT_THAT(alert.labels, Contains(Pair("alert", "churn/goal")));
  EXPECT_THAT(alert.labels, Contains(Pair("status", "off_track")));
  EXPECT_THAT(alert.labels, Contains(Pair("severity", "critical")));
  EXPECT_THAT(alert.labels, Contains(Pair("team", "crm")));
  EXPECT_EQ(alert.generator_url, "http://kpid.example:9464/#churn");
  EXPECT_EQ(alert.fingerprint, Fingerprint("churn/goal"));
  EXPECT_EQ(alert.figures.value, 12);
  EXPECT_EQ(alert.figures.goal, "at most 10 %");
  EXPECT_FALSE(alert.ends_at.has_value());
  EXPECT_THAT(firing.common_labels, Contains(Pair("kpi", "churn")));

  // Still firing, nothing new: nothing is sent again.
  Step(*notifier, "churn", 13, t0_ + seconds(10));
  EXPECT_EQ(hook.sent.size(), 1u);

  Step(*notifier, "churn", 5, t0_ + seconds(20));
  ASSERT_EQ(hook.sent.size(), 2u);
  EXPECT_EQ(hook.sent[1].Status(), "resolved");
  ASSERT_TRUE(hook.sent[1].alerts[0].ends_at.has_value());
  EXPECT_EQ(hook.sent[1].alerts[0].figures.value, 5) << "the value at resolve time";
  EXPECT_EQ(notifier->queue_length(), 0u);
  Step(*notifier, "churn", 5, t0_ + seconds(30));
  EXPECT_EQ(hook.sent.size(), 2u);
}

TEST_F(NotifierTest, GroupWaitBatchesAndRepeatIntervalRepeats) {
  Load(R"(
[[route]]
receivers = ["hook"]
group_by = ["team"]
group_wait = "30s"
repeat_interval = "1h"
)");
  auto notifier = MakeNotifier();
  Step(*notifier, "churn", 12, t0_);
  Step(*notifier, "backlog", 200, t0_ + seconds(10));
  Script& hook = scripts_["hook"];
  EXPECT_TRUE(hook.sent.empty()) << "group_wait holds the first notification";
  notifier->Reconcile(t0_ + seconds(30));
  Drain();
  ASSERT_EQ(hook.sent.size(), 1u);
  EXPECT_EQ(hook.sent[0].alerts.size(), 2u);
  EXPECT_THAT(hook.sent[0].group_labels, Contains(Pair("team", "crm")));
  EXPECT_THAT(hook.sent[0].common_labels, Contains(Pair("team", "crm")));

  notifier->Reconcile(t0_ + minutes(59));
  Drain();
  EXPECT_EQ(hook.sent.size(), 1u);
  notifier->Reconcile(t0_ + seconds(30) + hours(1));
  Drain();
  ASSERT_EQ(hook.sent.size(), 2u) << "repeat_interval";
  EXPECT_EQ(hook.sent[1].alerts.size(), 2u);
}

TEST_F(NotifierTest, RepeatIntervalNeverTellsOnce) {
  Load(R"(
[[route]]
receivers = ["hook"]
group_wait = "0s"
repeat_interval = "never"
)");
  auto notifier = MakeNotifier();
  Step(*notifier, "churn", 12, t0_);
  Script& hook = scripts_["hook"];
  ASSERT_EQ(hook.sent.size(), 1u);
  Step(*notifier, "churn", 13, t0_ + hours(24 * 30));
  EXPECT_EQ(hook.sent.size(), 1u) << "still firing a month later: not told again";
  Step(*notifier, "churn", 5, t0_ + hours(24 * 30) + minutes(1));
  ASSERT_EQ(hook.sent.size(), 2u);
  EXPECT_EQ(hook.sent[1].Status(), "resolved");
}

TEST_F(NotifierTest, ContinueSendsToEveryMatchingRouteAndSendResolvedFalseStaysQuiet) {
  Load(R"(
[[route]]
match = { team = "crm" }
receivers = ["hook"]
group_wait = "0s"
group_interval = "1s"
continue = true

[[route]]
match_re = { kpi = "ch.*" }
receivers = ["mail"]
group_wait = "0s"
group_interval = "1s"
send_resolved = false
)");
  auto notifier = MakeNotifier();
  Step(*notifier, "churn", 12, t0_);
  EXPECT_EQ(scripts_["hook"].sent.size(), 1u);
  EXPECT_EQ(scripts_["mail"].sent.size(), 1u);
  Step(*notifier, "churn", 1, t0_ + seconds(10));
  EXPECT_EQ(scripts_["hook"].sent.size(), 2u);
  EXPECT_EQ(scripts_["mail"].sent.size(), 1u) << "send_resolved = false";
  Step(*notifier, "churn", 1, t0_ + seconds(20));
  EXPECT_EQ(scripts_["mail"].sent.size(), 1u) << "the resolve is settled, not pending";
}

TEST_F(NotifierTest, RetriesUntilDeliveredAndDropsWhatIsRefused) {
  Load(R"(
[[route]]
receivers = ["hook"]
group_wait = "0s"
group_interval = "1s"
)");
  Script& hook = scripts_["hook"];
  hook.answers = {{Delivery::Outcome::kRetry, "HTTP 500", std::nullopt},
                  {Delivery::Outcome::kRetry, "HTTP 503", std::nullopt},
                  {Delivery::Outcome::kDelivered, "", std::nullopt},
                  {Delivery::Outcome::kFailed, "HTTP 400", std::nullopt}};
  auto notifier = MakeNotifier();
  Step(*notifier, "churn", 12, t0_);
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        Drain();
        return hook.sent.size() >= 3 && notifier->queue_length() == 0;
      },
      seconds(10)));
  EXPECT_EQ(hook.sent.size(), 3u) << "two retries, then delivered";
  Step(*notifier, "churn", 1, t0_ + seconds(10));
  EXPECT_EQ(hook.sent.size(), 4u);
  EXPECT_EQ(notifier->queue_length(), 0u) << "a refused notification is dropped";
}

TEST_F(NotifierTest, OutboxAndNoticesSurviveARestart) {
  Load(R"(
[[route]]
receivers = ["hook"]
group_wait = "0s"
group_interval = "1s"
)");
  Script& hook = scripts_["hook"];
  hook.hold = true;  // the receiver never answers: the process "dies" mid-delivery
  {
    auto notifier = MakeNotifier();
    Step(*notifier, "churn", 12, t0_);
    ASSERT_EQ(hook.sent.size(), 1u);
    EXPECT_EQ(notifier->queue_length(), 1u);
  }
  hook.hold = false;
  auto restarted = MakeNotifier();
  Drain();
  ASSERT_EQ(hook.sent.size(), 2u) << "the queued notification is sent again";
  EXPECT_EQ(hook.sent[1].alerts[0].fingerprint, Fingerprint("churn/goal"));
  EXPECT_EQ(restarted->queue_length(), 0u);
  restarted->Reconcile(t0_ + seconds(5));
  Drain();
  EXPECT_EQ(hook.sent.size(), 2u) << "what was queued is not queued twice";
}

TEST_F(NotifierTest, SilencesKeepMatchingAlertsQuiet) {
  Load(R"(
[[route]]
receivers = ["hook"]
group_wait = "0s"
group_interval = "1s"

[[silence]]
match = { kpi = "churn" }
starts = 2000-01-01T00:00:00Z
ends = 2100-01-01T00:00:00Z
comment = "known issue"
)");
  auto notifier = MakeNotifier();
  Step(*notifier, "churn", 12, t0_);
  Step(*notifier, "backlog", 200, t0_);
  ASSERT_EQ(scripts_["hook"].sent.size(), 1u);
  EXPECT_THAT(scripts_["hook"].sent[0].alerts[0].labels, Contains(Pair("kpi", "backlog")));
}

TEST(MatchRoutesTest, FirstMatchUnlessContinue) {
  std::vector<config::Route> routes(4);
  routes[0].matchers = {{"team", "finance", std::nullopt}};
  routes[1].matchers = {{"team", "crm", std::nullopt}};
  routes[1].continue_matching = true;
  routes[2].matchers = {{"kpi", "ch.*", std::regex("ch.*")}};
  // routes[3] matches everything.
  EXPECT_EQ(MatchRoutes(routes, {{"team", "finance"}}), std::vector<std::size_t>{0});
  EXPECT_EQ(MatchRoutes(routes, {{"kpi", "churn"}, {"team", "crm"}}),
            (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(MatchRoutes(routes, {{"kpi", "backlog"}, {"team", "crm"}}),
            (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(MatchRoutes(routes, {{"kpi", "x"}}), std::vector<std::size_t>{3});
  EXPECT_EQ(MatchRoutes({}, {{"kpi", "x"}}), std::vector<std::size_t>{});
}

}  // namespace
}  // namespace kpid::notify
