#include "rules/alert.hpp"

#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <date/date.h>
#include <gtest/gtest.h>

#include "rules/expression.hpp"
#include "tests/rules/rules_printers.hpp"

namespace kpid::rules {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr TimePoint kT0 = date::sys_days(date::year(2026) / 3 / 1);

AlertInput Cond(bool condition, Severity severity = Severity::kWarning) {
  AlertInput input;
  input.condition = condition;
  input.severity = severity;
  return input;
}

Goal GoalNotifyingOn(std::vector<Status> notify_on) {
  return Goal{BandGoal{0.0, 1.0, std::nullopt, std::nullopt}, std::move(notify_on), {}};
}

struct StepCase {
  int minute;  // after kT0
  AlertInput input;
  std::optional<AlertEvent> event;  // nullopt: no transition
  AlertPhase phase;                 // after the step
};

// Runs the steps on `state`, checking each transition and phase.
void RunSteps(AlertState& state, Duration for_duration, const std::vector<StepCase>& steps) {
  for (const StepCase& s : steps) {
    SCOPED_TRACE("minute " + std::to_string(s.minute));
    const AlertPhase before = state.phase;
    const TimePoint now = kT0 + minutes(s.minute);
    const std::optional<Transition> t = Step(state, for_duration, s.input, now);
    ASSERT_EQ(t.has_value(), s.event.has_value())
        << (t ? AlertEventName(t->event) : "no transition");
    EXPECT_EQ(state.phase, s.phase);
    if (t) {
      EXPECT_EQ(t->event, *s.event);
      EXPECT_EQ(t->from, before);
      EXPECT_EQ(t->to, state.phase);
      EXPECT_EQ(t->at, now);
    }
  }
}

TEST(AlertTest, ForZeroFiresAtOnce) {
  AlertState state;
  RunSteps(state, Duration::zero(),
           {
               {0, Cond(false), std::nullopt, AlertPhase::kInactive},
               {1, Cond(true), AlertEvent::kFiring, AlertPhase::kFiring},
               {2, Cond(true), std::nullopt, AlertPhase::kFiring},
               {3, Cond(false), AlertEvent::kResolved, AlertPhase::kResolved},
               {4, Cond(false), AlertEvent::kCleared, AlertPhase::kInactive},
               {5, Cond(false), std::nullopt, AlertPhase::kInactive},
           });
  EXPECT_EQ(state.fired_at, kT0 + minutes(1));
  EXPECT_EQ(state.resolved_at, kT0 + minutes(3));
}

TEST(AlertTest, ForDelaysFiring) {
  AlertState state;
  RunSteps(state, minutes(10),
           {
               {0, Cond(true), AlertEvent::kPending, AlertPhase::kPending},
               {5, Cond(true), std::nullopt, AlertPhase::kPending},
               {9, Cond(true), std::nullopt, AlertPhase::kPending},
               {10, Cond(true), AlertEvent::kFiring, AlertPhase::kFiring},  // exactly elapsed
               {11, Cond(true), std::nullopt, AlertPhase::kFiring},
               {12, Cond(false), AlertEvent::kResolved, AlertPhase::kResolved},
           });
  EXPECT_EQ(state.active_since, kT0);
  EXPECT_EQ(state.fired_at, kT0 + minutes(10));
}

TEST(AlertTest, ConditionDroppingDuringPendingCancelsWithoutNotification) {
  AlertState state;
  std::vector<AlertEvent> events;
  const std::vector<std::pair<int, bool>> steps = {{0, true}, {5, true},  {6, false},
                                                   {7, true}, {16, true}, {17, true}};
  for (auto [minute, condition] : steps) {
    if (auto t = Step(state, minutes(10), Cond(condition), kT0 + minutes(minute))) {
      events.push_back(t->event);
      EXPECT_EQ(Notifies(t->event), t->event == AlertEvent::kFiring) << AlertEventName(t->event);
    }
  }
  // The timer restarted at minute 7, so it fires at 17, not at 10 or 16.
  EXPECT_EQ(events, (std::vector<AlertEvent>{AlertEvent::kPending, AlertEvent::kCancelled,
                                             AlertEvent::kPending, AlertEvent::kFiring}));
  EXPECT_EQ(state.fired_at, kT0 + minutes(17));
  EXPECT_EQ(state.active_since, kT0 + minutes(7));
}

TEST(AlertTest, RestoredPendingStateContinuesTheTimer) {
  AlertState state;
  ASSERT_TRUE(Step(state, minutes(30), Cond(true), kT0).has_value());
  ASSERT_FALSE(Step(state, minutes(30), Cond(true), kT0 + minutes(20)).has_value());

  // The store saved `state`; the daemon restarts and restores a copy.
  AlertState restored = state;
  EXPECT_EQ(restored, state);
  EXPECT_FALSE(Step(restored, minutes(30), Cond(true), kT0 + minutes(29)).has_value());
  const std::optional<Transition> t = Step(restored, minutes(30), Cond(true), kT0 + minutes(30));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->event, AlertEvent::kFiring);
  EXPECT_EQ(t->from, AlertPhase::kPending);

  // A restart after a long pause: the `for` elapsed meanwhile, it fires at the first step.
  AlertState paused = state;
  const std::optional<Transition> late = Step(paused, minutes(30), Cond(true), kT0 + minutes(300));
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->event, AlertEvent::kFiring);
}

TEST(AlertTest, RestoredFiringStateDoesNotFireAgain) {
  const Goal goal = GoalNotifyingOn({Status::kOffTrack});
  AlertState state;
  ASSERT_TRUE(Step(state, {}, GoalAlertInput(goal, Status::kOffTrack), kT0).has_value());
  AlertState restored = state;
  EXPECT_FALSE(
      Step(restored, {}, GoalAlertInput(goal, Status::kOffTrack), kT0 + minutes(1)).has_value());
  EXPECT_EQ(restored, state);
  const std::optional<Transition> t =
      Step(restored, {}, GoalAlertInput(goal, Status::kOnTrack), kT0 + minutes(2));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->event, AlertEvent::kResolved);
  EXPECT_EQ(t->status, Status::kOffTrack);  // the notification resolves what fired
  EXPECT_EQ(t->severity, Severity::kCritical);
}

TEST(AlertTest, GoalStatusChangeWhileFiringIsANewNotification) {
  const Goal goal = GoalNotifyingOn({Status::kAtRisk, Status::kOffTrack, Status::kNoData});
  AlertState state;
  struct Expect {
    int minute;
    Status status;
    std::optional<AlertEvent> event;
    Severity severity;
    std::optional<Status> previous;
  };
  const Expect steps[] = {
      {0, Status::kOnTrack, std::nullopt, Severity::kWarning, std::nullopt},
      {1, Status::kAtRisk, AlertEvent::kFiring, Severity::kWarning, std::nullopt},
      {2, Status::kAtRisk, std::nullopt, Severity::kWarning, std::nullopt},
      {3, Status::kOffTrack, AlertEvent::kChanged, Severity::kCritical, Status::kAtRisk},
      {4, Status::kOffTrack, std::nullopt, Severity::kCritical, std::nullopt},
      {5, Status::kNoData, AlertEvent::kChanged, Severity::kWarning, Status::kOffTrack},
      {6, Status::kAtRisk, AlertEvent::kChanged, Severity::kWarning, Status::kNoData},
      {7, Status::kAchieved, AlertEvent::kResolved, Severity::kWarning, std::nullopt},
  };
  for (const Expect& e : steps) {
    SCOPED_TRACE("minute " + std::to_string(e.minute));
    const std::optional<Transition> t =
        Step(state, Duration::zero(), GoalAlertInput(goal, e.status), kT0 + minutes(e.minute));
    ASSERT_EQ(t.has_value(), e.event.has_value());
    if (!t) continue;
    EXPECT_EQ(t->event, *e.event);
    EXPECT_EQ(t->severity, e.severity);
    if (t->event == AlertEvent::kChanged) {
      EXPECT_EQ(t->from, AlertPhase::kFiring);
      EXPECT_EQ(t->to, AlertPhase::kFiring);
      EXPECT_EQ(t->status, e.status);
      EXPECT_EQ(t->previous_status, e.previous);
      EXPECT_TRUE(Notifies(t->event));
    }
  }
  EXPECT_EQ(state.status, Status::kAtRisk);  // as last notified
  EXPECT_EQ(state.fired_at, kT0 + minutes(1));
}

TEST(AlertTest, GoalAlertInputFollowsNotifyOnAndSeverityOf) {
  const Goal goal = GoalNotifyingOn({Status::kOffTrack, Status::kMissed, Status::kNoData});
  struct Case {
    Status status;
    bool condition;
    Severity severity;
  };
  const Case cases[] = {
      {Status::kMissed, true, Severity::kCritical}, {Status::kOffTrack, true, Severity::kCritical},
      {Status::kNoData, true, Severity::kWarning},  {Status::kAtRisk, false, Severity::kWarning},
      {Status::kOnTrack, false, Severity::kInfo},   {Status::kAchieved, false, Severity::kInfo}};
  for (const Case& c : cases) {
    SCOPED_TRACE(StatusName(c.status));
    const AlertInput input = GoalAlertInput(goal, c.status);
    EXPECT_EQ(input.condition, c.condition);
    EXPECT_EQ(input.severity, c.severity);
    EXPECT_EQ(input.status, c.status);
    EXPECT_TRUE(input.notify_changes);
  }
}

TEST(AlertTest, StatusChangeDuringPendingFiresWithTheLatestStatus) {
  const Goal goal = GoalNotifyingOn({Status::kAtRisk, Status::kOffTrack});
  AlertState state;
  const Duration for_duration = minutes(10);
  ASSERT_EQ(Step(state, for_duration, GoalAlertInput(goal, Status::kAtRisk), kT0)->event,
            AlertEvent::kPending);
  EXPECT_FALSE(Step(state, for_duration, GoalAlertInput(goal, Status::kOffTrack), kT0 + minutes(5))
                   .has_value());
  const std::optional<Transition> t =
      Step(state, for_duration, GoalAlertInput(goal, Status::kOffTrack), kT0 + minutes(10));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->event, AlertEvent::kFiring);
  EXPECT_EQ(t->status, Status::kOffTrack);
  EXPECT_EQ(t->severity, Severity::kCritical);
}

TEST(AlertTest, ConditionAgainRightAfterResolving) {
  AlertState state;
  RunSteps(state, Duration::zero(),
           {
               {0, Cond(true), AlertEvent::kFiring, AlertPhase::kFiring},
               {1, Cond(false), AlertEvent::kResolved, AlertPhase::kResolved},
               {2, Cond(true), AlertEvent::kFiring, AlertPhase::kFiring},
           });
  AlertState delayed;
  RunSteps(delayed, minutes(5),
           {
               {0, Cond(true), AlertEvent::kPending, AlertPhase::kPending},
               {5, Cond(true), AlertEvent::kFiring, AlertPhase::kFiring},
               {6, Cond(false), AlertEvent::kResolved, AlertPhase::kResolved},
               {7, Cond(true), AlertEvent::kPending, AlertPhase::kPending},
               {12, Cond(true), AlertEvent::kFiring, AlertPhase::kFiring},
           });
}

TEST(AlertTest, RuleAlertsIgnoreStatusChanges) {
  AlertState state;
  AlertInput input = Cond(true, Severity::kCritical);
  input.status = Status::kAtRisk;
  input.notify_changes = false;
  const std::optional<Transition> fired = Step(state, {}, input, kT0);
  ASSERT_TRUE(fired.has_value());
  EXPECT_EQ(fired->status, Status::kAtRisk);
  EXPECT_EQ(fired->severity, Severity::kCritical);
  input.status = Status::kOffTrack;
  EXPECT_FALSE(Step(state, {}, input, kT0 + minutes(1)).has_value());
  EXPECT_EQ(state.status, Status::kAtRisk);
}

// Rule alerts with real expressions: when = "delta > 0.005", recover_when = "delta < 0.001".
class RuleAlertTest : public testing::Test {
 protected:
  RuleAlertTest()
      : vars_(std::vector<std::string>{"delta"}),
        when_(Compile("delta > 0.005")),
        recover_(Compile("delta < 0.001")),
        broken_(Compile("delta")) {}

  Expression Compile(std::string_view text) {
    auto result = Expression::Compile(text, vars_);
    return std::move(std::get<Expression>(result));
  }

  // Steps with delta = `delta`; returns the event, if any.
  std::optional<AlertEvent> StepWith(AlertState& state, double delta, const Expression& when,
                                     const Expression* recover, int minute) {
    vars_.Set("delta", delta);
    AlertInput input = Cond(RuleCondition(state.phase, when, recover));
    input.notify_changes = false;
    auto t = Step(state, Duration::zero(), input, kT0 + minutes(minute));
    if (!t) return std::nullopt;
    return t->event;
  }

  VariableSet vars_;
  Expression when_;
  Expression recover_;
  Expression broken_;
};

TEST_F(RuleAlertTest, HysteresisWithRecoverWhen) {
  AlertState s;
  EXPECT_EQ(StepWith(s, 0.002, when_, &recover_, 0), std::nullopt);
  EXPECT_EQ(StepWith(s, 0.006, when_, &recover_, 1), AlertEvent::kFiring);
  // `when` no longer holds, but recover_when does not yet: still firing.
  EXPECT_EQ(StepWith(s, 0.003, when_, &recover_, 2), std::nullopt);
  EXPECT_EQ(s.phase, AlertPhase::kFiring);
  EXPECT_EQ(StepWith(s, 0.001, when_, &recover_, 3), std::nullopt);  // not < 0.001
  EXPECT_EQ(StepWith(s, 0.0009, when_, &recover_, 4), AlertEvent::kResolved);
  // Between the thresholds again: `when` decides, and it does not hold.
  EXPECT_EQ(StepWith(s, 0.003, when_, &recover_, 5), AlertEvent::kCleared);
  EXPECT_EQ(StepWith(s, 0.0051, when_, &recover_, 6), AlertEvent::kFiring);
}

TEST_F(RuleAlertTest, WithoutRecoverWhenItResolvesWhenWhenStops) {
  AlertState s;
  EXPECT_EQ(StepWith(s, 0.006, when_, nullptr, 0), AlertEvent::kFiring);
  EXPECT_EQ(StepWith(s, 0.003, when_, nullptr, 1), AlertEvent::kResolved);
}

TEST_F(RuleAlertTest, ExpressionsWithoutValueCountAsFalse) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  AlertState s;
  // `when` = "delta" with no value: does not fire.
  EXPECT_EQ(StepWith(s, nan, broken_, nullptr, 0), std::nullopt);
  EXPECT_EQ(StepWith(s, 1, broken_, nullptr, 1), AlertEvent::kFiring);
  // recover_when = "delta" with no value: does not recover.
  EXPECT_EQ(StepWith(s, nan, when_, &broken_, 2), std::nullopt);
  EXPECT_EQ(s.phase, AlertPhase::kFiring);
  EXPECT_EQ(StepWith(s, 1, when_, &broken_, 3), AlertEvent::kResolved);
}

TEST(AlertTest, NamesRoundTrip) {
  for (AlertPhase phase :
       {AlertPhase::kInactive, AlertPhase::kPending, AlertPhase::kFiring, AlertPhase::kResolved}) {
    EXPECT_EQ(ParseAlertPhase(AlertPhaseName(phase)), phase);
  }
  EXPECT_FALSE(ParseAlertPhase("Firing").has_value());
  EXPECT_EQ(AlertPhaseName(AlertPhase::kPending), "pending");
  EXPECT_EQ(AlertEventName(AlertEvent::kChanged), "changed");
  EXPECT_TRUE(Notifies(AlertEvent::kFiring));
  EXPECT_TRUE(Notifies(AlertEvent::kChanged));
  EXPECT_TRUE(Notifies(AlertEvent::kResolved));
  EXPECT_FALSE(Notifies(AlertEvent::kPending));
  EXPECT_FALSE(Notifies(AlertEvent::kCancelled));
  EXPECT_FALSE(Notifies(AlertEvent::kCleared));
}

TEST(AlertTest, IdsAndLabels) {
  EXPECT_EQ(GoalAlertId("revenue"), "revenue/goal");
  EXPECT_EQ(RuleAlertId("churn", "churn_jump"), "churn/churn_jump");
  const Labels kpi_labels = {{"team", "finance"}, {"objective", "growth"}};
  EXPECT_EQ(
      AlertLabels("revenue", "revenue/goal", Severity::kCritical, Status::kOffTrack, kpi_labels),
      (Labels{{"kpi", "revenue"},
              {"alert", "revenue/goal"},
              {"severity", "critical"},
              {"status", "off_track"},
              {"team", "finance"},
              {"objective", "growth"}}));
  EXPECT_EQ(
      AlertLabels("churn", "churn/jump", Severity::kWarning, std::nullopt,
                  {{"severity", "x"}, {"team", "crm"}}),
      (Labels{
          {"kpi", "churn"}, {"alert", "churn/jump"}, {"severity", "warning"}, {"team", "crm"}}));
}

}  // namespace
}  // namespace kpid::rules
