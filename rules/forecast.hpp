// Least-squares line through (x, y) points, added one at a time and merged in buckets, for
// forecasts over a sliding window (DESIGN.md "Goal status": forecast).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>

namespace kpid::rules {

// Fewer samples in the window than this give no forecast.
inline constexpr std::size_t kMinForecastSamples = 3;

// Welford's updates of the means and centred co-moments: Add is O(1), Merge exact. The
// running means still round at the scale of the values, so callers centre x and y near the
// points (e.g. seconds since a recent sample, value minus a recent value; see Series).
class LinearFit {
 public:
  // Inline: the forecast window adds every sample and re-merges its buckets as they leave,
  // where a call per point and the fit kept in memory cost more than the arithmetic.
  void Add(double x, double y) {
    ++count_;
    const auto n = static_cast<double>(count_);
    const double dx = x - mean_x_;
    const double dy = y - mean_y_;
    mean_x_ += dx / n;
    mean_y_ += dy / n;
    sxx_ += dx * (x - mean_x_);
    sxy_ += dx * (y - mean_y_);
    syy_ += dy * (y - mean_y_);
  }
  void Clear() { *this = LinearFit(); }
  // Adds all points of `other` (Chan et al.'s pairwise update: exact, no drift).
  void Merge(const LinearFit& other) {
    if (other.count_ == 0) return;
    if (count_ == 0) {
      *this = other;
      return;
    }
    const auto na = static_cast<double>(count_);
    const auto nb = static_cast<double>(other.count_);
    const double n = na + nb;
    const double dx = other.mean_x_ - mean_x_;
    const double dy = other.mean_y_ - mean_y_;
    const double weight = na * nb / n;
    count_ += other.count_;
    mean_x_ += dx * nb / n;
    mean_y_ += dy * nb / n;
    sxx_ += other.sxx_ + dx * dx * weight;
    sxy_ += other.sxy_ + dx * dy * weight;
    syy_ += other.syy_ + dy * dy * weight;
  }
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

// Inline, as Add() and Merge(): every evaluation of a goal asks several of these.
inline std::optional<double> LinearFit::ValueAt(double x) const {
  if (count_ < 2 || !(sxx_ > 0)) return std::nullopt;
  const double value = mean_y_ + sxy_ / sxx_ * (x - mean_x_);
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

inline std::optional<double> LinearFit::Slope() const {
  if (count_ < 2 || !(sxx_ > 0)) return std::nullopt;
  const double slope = sxy_ / sxx_;
  if (!std::isfinite(slope)) return std::nullopt;
  return slope;
}

inline std::optional<double> LinearFit::XAt(double y) const {
  const std::optional<double> slope = Slope();
  if (!slope || *slope == 0) return std::nullopt;
  const double x = mean_x_ + (y - mean_y_) / *slope;
  if (!std::isfinite(x)) return std::nullopt;
  return x;
}

inline std::optional<double> LinearFit::PredictionError(double x) const {
  if (count_ < 3 || !(sxx_ > 0)) return std::nullopt;
  const auto n = static_cast<double>(count_);
  // Residual sum of squares; clamped because the difference of two rounded sums of a
  // near-perfect fit can come out slightly negative.
  const double sse = std::max(0.0, syy_ - sxy_ * sxy_ / sxx_);
  const double variance = sse / (n - 2);
  const double dx = x - mean_x_;
  const double error = std::sqrt(variance * (1 + 1 / n + dx * dx / sxx_));
  if (!std::isfinite(error)) return std::nullopt;
  return error;
}

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
