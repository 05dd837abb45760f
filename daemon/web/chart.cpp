#include "daemon/web/chart.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <variant>

#include <date/date.h>

#include "daemon/web/html.hpp"

namespace kpid::web {
namespace {

constexpr auto kDefaultSpan = std::chrono::hours(24 * 30);

// A coordinate with one decimal: enough for a viewBox of a few hundred units.
std::string Num(double v) {
  char buffer[32];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::fixed, 1);
  return r.ec == std::errc() ? std::string(buffer, r.ptr) : "0";
}

struct Bounds {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  double step = 0;  // of the axis labels, once Round() has set it
  void Add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // The axis step: 1, 2 or 5 times a power of ten, about a quarter of the range.
  [[nodiscard]] double Step() const {
    const double raw = (hi - lo) / 4;
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    const double norm = raw / power;
    return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * power;
  }
  // Widens the range to whole steps, so the axis labels are round numbers.
  void Round() {
    const double s = Step();
    if (!std::isfinite(s) || s <= 0) return;
    step = s;
    lo = std::floor(lo / step) * step;
    hi = std::ceil(hi / step) * step;
  }
  // Some air above and below; a flat or empty range gets a span around its value.
  void Pad() {
    if (lo > hi) {
      lo = 0;
      hi = 1;
      return;
    }
    double pad = (hi - lo) * 0.08;
    if (pad == 0) pad = lo != 0 ? std::fabs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
};

// Maps time and value to viewBox coordinates inside the plot area.
class Frame {
 public:
  Frame(ChartRange range, Bounds bounds, double left, double top, double width, double height)
      : range_(range), bounds_(bounds), left_(left), top_(top), width_(width), height_(height) {}

  [[nodiscard]] double X(TimePoint t) const {
    const double span = Seconds(range_.to - range_.from);
    const double x = span > 0 ? Seconds(t - range_.from) / span : 1;
    return left_ + std::clamp(x, 0.0, 1.0) * width_;
  }
  [[nodiscard]] double Y(double v) const {
    const double y = (bounds_.hi - v) / (bounds_.hi - bounds_.lo);
    return top_ + std::clamp(y, 0.0, 1.0) * height_;
  }
  [[nodiscard]] std::string Point(TimePoint t, double v) const {
    return Num(X(t)) + "," + Num(Y(v));
  }
  [[nodiscard]] double left() const { return left_; }
  [[nodiscard]] double right() const { return left_ + width_; }
  [[nodiscard]] double top() const { return top_; }
  [[nodiscard]] double bottom() const { return top_ + height_; }
  [[nodiscard]] const Bounds& bounds() const { return bounds_; }
  [[nodiscard]] const ChartRange& range() const { return range_; }

 private:
  static double Seconds(rules::Duration d) { return std::chrono::duration<double>(d).count(); }

  ChartRange range_;
  Bounds bounds_;
  double left_, top_, width_, height_;
};

const rules::DeadlineGoal* DeadlineOf(const KpiView& view) {
  return view.spec.goal ? std::get_if<rules::DeadlineGoal>(&view.spec.goal->kind) : nullptr;
}

const rules::BandGoal* BandOf(const KpiView& view) {
  return view.spec.goal ? std::get_if<rules::BandGoal>(&view.spec.goal->kind) : nullptr;
}

std::string Line(const char* cls, double x1, double y1, double x2, double y2) {
  return "<line class=\"" + std::string(cls) + "\" x1=\"" + Num(x1) + "\" y1=\"" + Num(y1) +
         "\" x2=\"" + Num(x2) + "\" y2=\"" + Num(y2) + "\"/>";
}

std::string Text(const char* cls, double x, double y, const char* anchor, std::string_view text) {
  return "<text class=\"" + std::string(cls) + "\" x=\"" + Num(x) + "\" y=\"" + Num(y) +
         "\" text-anchor=\"" + anchor + "\">" + Escape(text) + "</text>";
}

Bounds ValueBounds(const KpiView& view, std::span<const rules::Sample> history, bool detailed) {
  Bounds b;
  for (const rules::Sample& s : history) b.Add(s.value);
  if (const auto* d = DeadlineOf(view)) {
    b.Add(d->baseline);
    b.Add(d->target);
    for (const rules::Milestone& m : d->milestones) b.Add(m.value);
    if (detailed) b.Add(view.evaluation.variables.forecast);
  } else if (const auto* band = BandOf(view)) {
    for (const auto& bound : {band->min, band->max, band->warn_min, band->warn_max}) {
      if (bound) b.Add(*bound);
    }
  }
  // The detailed chart's round axis steps leave room enough; a flat range still needs a span.
  if (!detailed || b.lo >= b.hi) b.Pad();
  if (detailed) b.Round();
  return b;
}

// The trajectory: start → milestones → deadline, dashed.
std::string Trajectory(const rules::DeadlineGoal& goal, const Frame& f, bool detailed) {
  std::string out = "<polyline class=\"traj\" points=\"" + f.Point(goal.start, goal.baseline);
  std::string marks;
  TimePoint last = goal.start;
  for (const rules::Milestone& m : goal.milestones) {
    if (m.at <= last || m.at >= goal.deadline) continue;  // ignored by the rules too
    last = m.at;
    out += " " + f.Point(m.at, m.value);
    if (detailed) {
      marks += "<circle class=\"milestone\" cx=\"" + Num(f.X(m.at)) + "\" cy=\"" +
               Num(f.Y(m.value)) + "\" r=\"4\"/>";
    }
  }
  out += " " + f.Point(goal.deadline, goal.target) + "\"/>";
  if (detailed) {
    out += Line("target", f.left(), f.Y(goal.target), f.right(), f.Y(goal.target));
  }
  return out + marks;
}

std::string Band(const rules::BandGoal& band, const Frame& f) {
  const double top = band.max ? f.Y(*band.max) : f.top();
  const double bottom = band.min ? f.Y(*band.min) : f.bottom();
  std::string out = "<rect class=\"band\" x=\"" + Num(f.left()) + "\" y=\"" + Num(top) +
                    "\" width=\"" + Num(f.right() - f.left()) + "\" height=\"" +
                    Num(std::max(bottom - top, 0.0)) + "\"/>";
  for (const auto& warn : {band.warn_min, band.warn_max}) {
    if (warn) out += Line("warn", f.left(), f.Y(*warn), f.right(), f.Y(*warn));
  }
  return out;
}

std::string History(std::span<const rules::Sample> history, const Frame& f, std::size_t max_points,
                    const char* dot_radius) {
  if (history.empty()) return "";
  const std::vector<rules::Sample> points = Thin(history, max_points);
  std::string out = "<polyline class=\"hist\" points=\"";
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (i > 0) out += ' ';
    out += f.Point(points[i].at, points[i].value);
  }
  out += "\"/>";
  const rules::Sample& last = history.back();
  out += "<circle class=\"last\" cx=\"" + Num(f.X(last.at)) + "\" cy=\"" + Num(f.Y(last.value)) +
         "\" r=\"" + dot_radius + "\"/>";
  return out;
}

// From the latest sample to the forecast value at the deadline.
std::string Forecast(const KpiView& view, const rules::DeadlineGoal& goal, const Frame& f) {
  const double forecast = view.evaluation.variables.forecast;
  if (!std::isfinite(forecast) || !view.latest || view.latest->at >= goal.deadline) return "";
  return Line("forecast", f.X(view.latest->at), f.Y(view.latest->value), f.X(goal.deadline),
              f.Y(forecast));
}

// The local day of `t`.
std::string Day(TimePoint t, const date::time_zone* zone) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  return zone != nullptr ? date::format("%F", date::make_zoned(zone, seconds))
                         : date::format("%F", seconds);
}

std::string Axes(const Frame& f, std::string_view unit, TimePoint now,
                 const date::time_zone* zone) {
  const Bounds& b = f.bounds();
  const double step = b.step;
  std::string out;
  for (int i = 0; i <= 10 && step > 0; ++i) {
    const double v = b.lo + step * i;
    if (v > b.hi + step / 2) break;
    out += Line("grid", f.left(), f.Y(v), f.right(), f.Y(v));
    out += Text("axis", f.left() - 6, f.Y(v) + 4, "end", FormatCompact(v));
  }
  if (!unit.empty()) out += Text("axis", f.left(), f.top() - 10, "start", unit);
  out += Text("axis", f.left(), f.bottom() + 22, "start", Day(f.range().from, zone));
  // A deadline at midnight ends the day before: 2027-01-01 00:00 is "2026-12-31".
  out += Text("axis", f.right(), f.bottom() + 22, "end",
              Day(f.range().to - std::chrono::seconds(1), zone));
  if (now > f.range().from && now < f.range().to) {
    out += Line("now", f.X(now), f.top(), f.X(now), f.bottom());
    // The dates at both ends need their room.
    if (f.X(now) - f.left() > 110 && f.right() - f.X(now) > 110) {
      out += Text("axis", f.X(now), f.bottom() + 22, "middle", "now");
    }
  }
  return out;
}

// The samples (oldest first) from range.from to range.to.
std::span<const rules::Sample> InRange(std::span<const rules::Sample> samples,
                                       const ChartRange& range) {
  const auto begin = std::lower_bound(samples.begin(), samples.end(), range.from,
                                      [](const rules::Sample& s, TimePoint t) { return s.at < t; });
  const auto end = std::upper_bound(begin, samples.end(), range.to,
                                    [](TimePoint t, const rules::Sample& s) { return t < s.at; });
  return {begin, end};
}

std::string AltText(const KpiView& view, std::span<const rules::Sample> history,
                    const date::time_zone* zone) {
  const std::string_view unit = view.config != nullptr ? view.config->unit : std::string_view();
  std::string out = "History of " + std::string(TitleOf(view)) + ": ";
  if (history.empty()) {
    out += "no samples";
  } else {
    out += std::to_string(history.size()) + (history.size() == 1 ? " sample" : " samples") +
           " from " + FormatTime(history.front().at, zone) + " to " +
           FormatTime(history.back().at, zone) + ", latest " +
           FormatQuantity(history.back().value, unit);
  }
  if (const auto* d = DeadlineOf(view)) {
    out += "; trajectory from " + FormatQuantity(d->baseline, unit) + " at " +
           FormatTime(d->start, zone) + " to " + FormatQuantity(d->target, unit) + " by " +
           FormatEnd(d->deadline, zone);
  } else if (BandOf(view) != nullptr) {
    out += "; goal " + GoalText(view, zone);
  }
  return out;
}

}  // namespace

std::vector<rules::Sample> Thin(std::span<const rules::Sample> samples, std::size_t max_points) {
  if (samples.size() <= max_points || max_points < 2) {
    return {samples.begin(), samples.end()};
  }
  const std::size_t buckets = max_points / 2;
  std::vector<rules::Sample> out;
  out.reserve(buckets * 2);
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t begin = b * samples.size() / buckets;
    const std::size_t end = (b + 1) * samples.size() / buckets;
    if (begin == end) continue;
    const auto [lo, hi] = std::minmax_element(
        samples.begin() + static_cast<std::ptrdiff_t>(begin),
        samples.begin() + static_cast<std::ptrdiff_t>(end),
        [](const rules::Sample& a, const rules::Sample& c) { return a.value < c.value; });
    if (lo == hi) {
      out.push_back(*lo);
    } else if (lo < hi) {
      out.push_back(*lo);
      out.push_back(*hi);
    } else {
      out.push_back(*hi);
      out.push_back(*lo);
    }
  }
  return out;
}

ChartRange RangeOf(const KpiView& view, TimePoint now) {
  if (const auto* d = DeadlineOf(view)) {
    TimePoint to = d->deadline;
    if (view.latest && view.latest->at > to) to = view.latest->at;
    return {d->start, to};
  }
  TimePoint to = now;
  if (view.latest && view.latest->at > to) to = view.latest->at;
  return {to - kDefaultSpan, to};
}

std::string ProgressBar(const KpiView& view) {
  const rules::Variables& v = view.evaluation.variables;
  if (DeadlineOf(view) == nullptr || !std::isfinite(v.progress)) return "";
  const double p = std::clamp(v.progress, 0.0, 1.0) * 100;
  std::string out =
      "<svg class=\"progress\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" "
      "role=\"img\" aria-label=\"Progress " +
      FormatPercent(v.progress);
  if (std::isfinite(v.expected_progress)) {
    out += ", expected " + FormatPercent(v.expected_progress);
  }
  out += "\"><rect class=\"track\" x=\"0\" y=\"1\" width=\"100\" height=\"8\"/>";
  out += "<rect class=\"fill st-" + std::string(StatusOf(view).key) +
         "\" x=\"0\" y=\"1\" width=\"" + Num(p) + "\" height=\"8\"/>";
  if (std::isfinite(v.expected_progress)) {
    const double e = std::clamp(v.expected_progress, 0.0, 1.0) * 100;
    out += Line("expected", e, 0, e, 10);
  }
  return out + "</svg>";
}

std::string Chart(const KpiView& view, std::span<const rules::Sample> history, TimePoint now,
                  const ChartOptions& options) {
  ChartRange range = RangeOf(view, now);
  const auto* deadline = DeadlineOf(view);
  // Without a trajectory to show, the chart starts at the first sample it has.
  if (deadline == nullptr && !history.empty() && history.front().at > range.from) {
    range.from = std::min(history.front().at, range.to - std::chrono::hours(1));
  }
  history = InRange(history, range);

  const double left = options.detailed ? 80 : 2;
  const double top = options.detailed ? 36 : 3;
  const double right = options.detailed ? 16 : 3;
  const double bottom = options.detailed ? 36 : 3;
  const Frame f(range, ValueBounds(view, history, options.detailed), left, top,
                options.width - left - right, options.height - top - bottom);

  std::string out = "<svg class=\"" + std::string(options.detailed ? "chart" : "spark") +
                    "\" viewBox=\"0 0 " + Num(options.width) + " " + Num(options.height) +
                    "\" role=\"img\" aria-label=\"" + Escape(AltText(view, history, options.zone)) +
                    "\">";
  if (options.detailed) {
    out += "<rect class=\"plot\" x=\"" + Num(f.left()) + "\" y=\"" + Num(f.top()) + "\" width=\"" +
           Num(f.right() - f.left()) + "\" height=\"" + Num(f.bottom() - f.top()) + "\"/>";
    out += Axes(f, view.config != nullptr ? view.config->unit : "", now, options.zone);
  }
  if (const auto* band = BandOf(view)) out += Band(*band, f);
  if (deadline != nullptr) out += Trajectory(*deadline, f, options.detailed);
  if (deadline != nullptr && options.detailed) out += Forecast(view, *deadline, f);
  out += History(history, f, options.max_points, options.detailed ? "4" : "2.5");
  return out + "</svg>";
}

}  // namespace kpid::web
