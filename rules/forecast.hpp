// Least-squares line through (x, y) points that come and go one at a time, for forecasts
// over a sliding window (DESIGN.md "Goal status": forecast).
#pragma once

#include <cstddef>
#include <optional>

namespace kpid::rules {

// Fewer samples in the window than this give no forecast.
inline constexpr std::size_t kMinForecastSamples = 3;

// Welford's updates of the means and centred co-moments: Add and Remove are O(1). The
// running means still round at the scale of the values, so callers centre x and y near the
// points (e.g. seconds since a recent sample, value minus a recent value), and a long run
// of removals accumulates rounding, so the owner refits from its points now and then (see
// Series).
class LinearFit {
 public:
  void Add(double x, double y);
  // (x, y) must be a point added before and not yet removed.
  void Remove(double x, double y);
  void Clear() { *this = LinearFit(); }

  [[nodiscard]] std::size_t Count() const { return count_; }
  // The line's value at x; nullopt with fewer than 2 points or no spread in x.
  [[nodiscard]] std::optional<double> ValueAt(double x) const;

 private:
  std::size_t count_ = 0;
  double mean_x_ = 0;
  double mean_y_ = 0;
  double sxx_ = 0;  // sum of (x - mean_x)^2
  double sxy_ = 0;  // sum of (x - mean_x)(y - mean_y)
};

}  // namespace kpid::rules
