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
  // Adds all points of `other` (Chan et al.'s pairwise update: exact, no drift).
  void Merge(const LinearFit& other);
  // Moves every point by (dx, dy); the line moves with them.
  void Translate(double dx, double dy) {
    mean_x_ += dx;
    mean_y_ += dy;
  }

  [[nodiscard]] std::size_t Count() const { return count_; }
  // The line's value at x; nullopt with fewer than 2 points or no spread in x.
  [[nodiscard]] std::optional<double> ValueAt(double x) const;
  // dy/dx; nullopt as ValueAt().
  [[nodiscard]] std::optional<double> Slope() const;
  // The x where the line reaches y; nullopt without a line or when it is flat.
  [[nodiscard]] std::optional<double> XAt(double y) const;
  // The standard error of one new observation at x, the scale of the prediction interval:
  // s * sqrt(1 + 1/n + (x - mean_x)^2 / sxx), with s^2 the residual variance over n - 2
  // degrees of freedom; nullopt with fewer than 3 points or no spread in x.
  [[nodiscard]] std::optional<double> PredictionError(double x) const;

 private:
  std::size_t count_ = 0;
  double mean_x_ = 0;
  double mean_y_ = 0;
  double sxx_ = 0;  // sum of (x - mean_x)^2
  double sxy_ = 0;  // sum of (x - mean_x)(y - mean_y)
  double syy_ = 0;  // sum of (y - mean_y)^2
};

// The forecast band (a goal's forecast_lower, forecast_upper) is this central prediction
// interval.
inline constexpr double kForecastBandProbability = 0.8;

// Student's t quantile and distribution for `dof` degrees of freedom (dof >= 1).
[[nodiscard]] double StudentTQuantile(double dof, double probability);
[[nodiscard]] double StudentTCdf(double dof, double t);
// StudentTQuantile(dof, 0.5 + kForecastBandProbability / 2), from a table: the quantile
// costs microseconds, and every evaluation of every goal needs it.
[[nodiscard]] double ForecastBandQuantile(std::size_t dof);

}  // namespace kpid::rules
