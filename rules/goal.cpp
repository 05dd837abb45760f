#include "rules/goal.hpp"

namespace kpid::rules {
namespace {

// Elapsed time as a fraction, in the clock's integer ticks until the one division.
double Fraction(Duration part, Duration whole) {
  return static_cast<double>(part.count()) / static_cast<double>(whole.count());
}

}  // namespace

double Progress(const DeadlineGoal& goal, double value) {
  return (value - goal.baseline) / (goal.target - goal.baseline);
}

double ExpectedProgress(const DeadlineGoal& goal, TimePoint t) {
  if (t <= goal.start) return 0.0;
  if (t >= goal.deadline) return 1.0;
  // Walk the knots (start, 0), milestones..., (deadline, 1) to the segment holding t. The
  // segment's end is strictly after its start, so the division is never by zero.
  TimePoint from = goal.start;
  double from_progress = 0.0;
  for (const Milestone& m : goal.milestones) {
    if (m.at <= from || m.at >= goal.deadline) continue;
    const double progress = Progress(goal, m.value);
    if (t < m.at) {
      return from_progress + (progress - from_progress) * Fraction(t - from, m.at - from);
    }
    from = m.at;
    from_progress = progress;
  }
  return from_progress + (1.0 - from_progress) * Fraction(t - from, goal.deadline - from);
}

double ExpectedValue(const DeadlineGoal& goal, double expected_progress) {
  return goal.baseline + expected_progress * (goal.target - goal.baseline);
}

double DaysLeft(const DeadlineGoal& goal, TimePoint t) {
  if (t >= goal.deadline) return 0.0;
  return Fraction(goal.deadline - t, kDay);
}

Status JudgeDeadline(const DeadlineGoal& goal, TimePoint t, double value, double expected_progress,
                     std::optional<double> forecast_progress) {
  const double progress = Progress(goal, value);
  if (progress >= 1.0 - kProgressTolerance) return Status::kAchieved;
  if (t > goal.deadline) return Status::kMissed;
  const double gap = expected_progress - progress;
  // A NaN forecast compares false: no forecast, no effect.
  const double f = goal.use_forecast ? forecast_progress.value_or(1.0) : 1.0;
  if (gap > goal.off_track + kProgressTolerance || f < 1.0 - goal.off_track - kProgressTolerance) {
    return Status::kOffTrack;
  }
  if (gap > goal.at_risk + kProgressTolerance || f < 1.0 - goal.at_risk - kProgressTolerance) {
    return Status::kAtRisk;
  }
  return Status::kOnTrack;
}

Status JudgeBand(const BandGoal& goal, double value) {
  if ((goal.min && value < *goal.min) || (goal.max && value > *goal.max)) {
    return Status::kOffTrack;
  }
  if ((goal.warn_min && value < *goal.warn_min) || (goal.warn_max && value > *goal.warn_max)) {
    return Status::kAtRisk;
  }
  return Status::kOnTrack;
}

}  // namespace kpid::rules
