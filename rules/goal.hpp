// Goals as the rules judge them (DESIGN.md "Goal status"): every point in time already
// resolved to an instant, so nothing here knows about config syntax or time zones.
// The daemon builds these from the config (daemon/goal_builder.hpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rules/status.hpp"

namespace date {
class time_zone;
}

namespace kpid::rules {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

inline constexpr Duration kDay = std::chrono::hours(24);

// Comparisons on the progress scale (fractions of |target - baseline|) ignore differences
// below this, so that decimal config values meet exactly at their boundaries: in binary,
// 0.75 - 0.70 is 0.05000000000000004, which must not count as "gap > at_risk = 0.05".
inline constexpr double kProgressTolerance = 1e-9;

struct Milestone {
  TimePoint at;
  double value = 0;
};

struct DeadlineGoal {
  double baseline = 0;
  double target = 1;  // must differ from baseline; below it means "bring it down"
  TimePoint start;
  TimePoint deadline;  // must be after start
  double at_risk = 0.05;
  double off_track = 0.15;
  Duration forecast_window = 30 * kDay;  // zero: no forecast
  bool use_forecast = false;
  // The trajectory passes through these, in time order. A milestone not strictly between
  // start and deadline, or not strictly after the one before it, is ignored.
  std::vector<Milestone> milestones;
};

// Absent bounds do not apply.
struct BandGoal {
  std::optional<double> min;
  std::optional<double> max;
  std::optional<double> warn_min;
  std::optional<double> warn_max;
};

struct Goal {
  std::variant<DeadlineGoal, BandGoal> kind;
  std::vector<Status> notify_on;  // the goal alert fires while the status is one of these
  Duration for_duration{};        // ... for at least this long
};

// The length of a recurring goal's periods (DESIGN.md [kpi.goal] period).
enum class PeriodKind { kWeek, kMonth, kQuarter, kYear };

[[nodiscard]] std::string_view PeriodKindName(PeriodKind kind);
[[nodiscard]] std::optional<PeriodKind> ParsePeriodKind(std::string_view name);

// The first day of a fiscal year (fiscal_year_start = "04-01"); quarters start on the same
// day of every third month from it. `day` is 1-28, so that every such date exists.
struct MonthDay {
  unsigned month = 1;
  unsigned day = 1;

  friend bool operator==(const MonthDay&, const MonthDay&) = default;
};

// [start, end): the end is the next period's start, i.e. the end of the period's last day.
struct Period {
  TimePoint start;
  TimePoint end;

  friend bool operator==(const Period&, const Period&) = default;
};

// The period holding `t`. Boundaries are local midnights in `tz` (nullptr: UTC), so a
// period with a DST change is an hour shorter or longer; weeks start on Monday (ISO 8601);
// months are calendar months; quarters and years start at `fiscal_year_start`.
[[nodiscard]] Period PeriodAt(PeriodKind kind, MonthDay fiscal_year_start,
                              const date::time_zone* tz, TimePoint t);

// How people name the period starting at `start`: "2026-W45", "2026-11", "2026-Q4" and
// "2026" for calendar quarters and years, "Q4 FY2026/27" and "FY2026/27" for fiscal ones.
[[nodiscard]] std::string PeriodLabel(PeriodKind kind, MonthDay fiscal_year_start,
                                      const date::time_zone* tz, TimePoint start);

// p = (value - baseline) / (target - baseline). A target equal to the baseline (a carried
// baseline that already sits on the target) reads as 1 at the target and 0 elsewhere.
[[nodiscard]] double Progress(const DeadlineGoal& goal, double value);

// e(t): the trajectory's progress at t, 0 before start and 1 from the deadline on; linear
// between start, each milestone and the deadline in real elapsed time (a day with a DST
// change counts 23 or 25 hours).
[[nodiscard]] double ExpectedProgress(const DeadlineGoal& goal, TimePoint t);

// baseline + e * (target - baseline).
[[nodiscard]] double ExpectedValue(const DeadlineGoal& goal, double expected_progress);

// Real days (86400 s) from t to the deadline, fractional; 0 from the deadline on.
[[nodiscard]] double DaysLeft(const DeadlineGoal& goal, TimePoint t);

// The status of a deadline goal with a fresh value (no_data is decided before: see
// Evaluate()): achieved, missed, off_track, at_risk or on_track, the first that applies.
// `forecast_progress` only counts with use_forecast.
[[nodiscard]] Status JudgeDeadline(const DeadlineGoal& goal, TimePoint t, double value,
                                   double expected_progress,
                                   std::optional<double> forecast_progress);

// off_track outside [min, max], at_risk outside [warn_min, warn_max], else on_track; the
// bounds themselves are inside.
[[nodiscard]] Status JudgeBand(const BandGoal& goal, double value);

}  // namespace kpid::rules
