#include "rules/goal.hpp"

#include <array>

#include <date/date.h>
#include <date/iso_week.h>
#include <date/tz.h>

#include "rules/local_time.hpp"

namespace kpid::rules {
namespace {

constexpr std::array<std::string_view, 4> kPeriodNames = {"week", "month", "quarter", "year"};

// Months since year 0 (January of year 0 is 0), floored for years before it.
int MonthIndex(const date::year_month_day& ymd) {
  return static_cast<int>(ymd.year()) * 12 + static_cast<int>(static_cast<unsigned>(ymd.month())) -
         1;
}

int FloorDiv(int a, int b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

date::local_days DayOf(int month_index, unsigned day) {
  const int year = FloorDiv(month_index, 12);
  const auto month = static_cast<unsigned>(month_index - year * 12 + 1);
  return date::local_days{date::year{year} / date::month{month} / date::day{day}};
}

// The first month index of the month-based period holding local day `d`: periods of `step`
// months, one starting on `anchor` (month and day).
int PeriodStartMonth(date::local_days d, int step, MonthDay anchor) {
  const date::year_month_day ymd{d};
  const int anchor_month = static_cast<int>(anchor.month) - 1;
  int start = FloorDiv(MonthIndex(ymd) - anchor_month, step) * step + anchor_month;
  if (DayOf(start, anchor.day) > d) start -= step;
  return start;
}

int StepMonths(PeriodKind kind) {
  switch (kind) {
    case PeriodKind::kMonth:
      return 1;
    case PeriodKind::kQuarter:
      return 3;
    case PeriodKind::kYear:
    case PeriodKind::kWeek:
      break;
  }
  return 12;
}

MonthDay Anchor(PeriodKind kind, MonthDay fiscal_year_start) {
  return kind == PeriodKind::kMonth ? MonthDay{} : fiscal_year_start;
}

date::local_days LocalDay(TimePoint t, const date::time_zone* tz) {
  return date::floor<date::days>(ToLocal(std::chrono::floor<std::chrono::seconds>(t), tz));
}

TimePoint Midnight(date::local_days d, const date::time_zone* tz) {
  return {ToSys(date::local_seconds(d), tz)};
}

std::string TwoDigits(int n) { return (n < 10 ? "0" : "") + std::to_string(n); }

// Elapsed time as a fraction, in the clock's integer ticks until the one division.
double Fraction(Duration part, Duration whole) {
  return static_cast<double>(part.count()) / static_cast<double>(whole.count());
}

}  // namespace

std::string_view PeriodKindName(PeriodKind kind) {
  return kPeriodNames.at(static_cast<std::size_t>(kind));
}

std::optional<PeriodKind> ParsePeriodKind(std::string_view name) {
  for (std::size_t i = 0; i < kPeriodNames.size(); ++i) {
    if (kPeriodNames[i] == name) return static_cast<PeriodKind>(i);
  }
  return std::nullopt;
}

Period PeriodAt(PeriodKind kind, MonthDay fiscal_year_start, const date::time_zone* tz,
                TimePoint t) {
  const date::local_days day = LocalDay(t, tz);
  if (kind == PeriodKind::kWeek) {
    const date::local_days monday = day - (date::weekday{day} - date::Monday);
    return {Midnight(monday, tz), Midnight(monday + date::days{7}, tz)};
  }
  const int step = StepMonths(kind);
  const MonthDay anchor = Anchor(kind, fiscal_year_start);
  const int start = PeriodStartMonth(day, step, anchor);
  return {Midnight(DayOf(start, anchor.day), tz), Midnight(DayOf(start + step, anchor.day), tz)};
}

std::string PeriodLabel(PeriodKind kind, MonthDay fiscal_year_start, const date::time_zone* tz,
                        TimePoint start) {
  const date::local_days day = LocalDay(start, tz);
  if (kind == PeriodKind::kWeek) {
    const iso_week::year_weeknum_weekday week{day};
    return std::to_string(static_cast<int>(week.year())) + "-W" +
           TwoDigits(static_cast<int>(static_cast<unsigned>(week.weeknum())));
  }
  if (kind == PeriodKind::kMonth) {
    const date::year_month_day ymd{day};
    return std::to_string(static_cast<int>(ymd.year())) + "-" +
           TwoDigits(static_cast<int>(static_cast<unsigned>(ymd.month())));
  }
  const int first = PeriodStartMonth(day, StepMonths(kind), fiscal_year_start);
  const int year_start = PeriodStartMonth(day, 12, fiscal_year_start);
  const int year = FloorDiv(year_start, 12);
  const int quarter = (first - year_start) / 3 + 1;
  if (fiscal_year_start == MonthDay{}) {
    return std::to_string(year) +
           (kind == PeriodKind::kQuarter ? "-Q" + std::to_string(quarter) : "");
  }
  std::string fiscal_year =
      "FY" + std::to_string(year) + "/" + TwoDigits(((year + 1) % 100 + 100) % 100);
  if (kind == PeriodKind::kYear) return fiscal_year;
  return "Q" + std::to_string(quarter) + " " + fiscal_year;
}

double Progress(const DeadlineGoal& goal, double value) {
  if (goal.target == goal.baseline) return value == goal.target ? 1.0 : 0.0;
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
