#include "rules/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <boost/math/distributions/students_t.hpp>

namespace kpid::rules {

void LinearFit::Add(double x, double y) {
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

void LinearFit::Remove(double x, double y) {
  if (count_ <= 1) {
    Clear();
    return;
  }
  --count_;
  const auto n = static_cast<double>(count_);
  // Add() in reverse: (x - old mean_x)(y - new mean_y) is symmetric in old and new.
  const double dx = x - mean_x_;
  const double dy = y - mean_y_;
  mean_x_ -= dx / n;
  mean_y_ -= dy / n;
  sxx_ -= dx * (x - mean_x_);
  sxy_ -= dx * (y - mean_y_);
  syy_ -= dy * (y - mean_y_);
  // Rounding; the true values are never negative.
  if (sxx_ < 0) sxx_ = 0;
  if (syy_ < 0) syy_ = 0;
}

void LinearFit::Merge(const LinearFit& other) {
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

std::optional<double> LinearFit::ValueAt(double x) const {
  if (count_ < 2 || !(sxx_ > 0)) return std::nullopt;
  const double value = mean_y_ + sxy_ / sxx_ * (x - mean_x_);
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<double> LinearFit::Slope() const {
  if (count_ < 2 || !(sxx_ > 0)) return std::nullopt;
  const double slope = sxy_ / sxx_;
  if (!std::isfinite(slope)) return std::nullopt;
  return slope;
}

std::optional<double> LinearFit::XAt(double y) const {
  const std::optional<double> slope = Slope();
  if (!slope || *slope == 0) return std::nullopt;
  const double x = mean_x_ + (y - mean_y_) / *slope;
  if (!std::isfinite(x)) return std::nullopt;
  return x;
}

std::optional<double> LinearFit::PredictionError(double x) const {
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

namespace {

// Boost promotes double to long double by default, which costs 15x here for digits no
// forecast has.
using FastPolicy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;
using StudentT = boost::math::students_t_distribution<double, FastPolicy>;

}  // namespace

double StudentTQuantile(double dof, double probability) {
  return boost::math::quantile(StudentT(dof), probability);
}

double StudentTCdf(double dof, double t) {
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  // With many samples (a month of 15-minute values has 2,880) the exact CDF, an incomplete
  // beta function, costs more than the rest of an evaluation; there the normal CDF of
  // Abramowitz & Stegun 26.7.8's transform is within 1e-4 of it.
  constexpr double kNormalFrom = 100;
  if (dof >= kNormalFrom) {
    const double z = t * (1 - 1 / (4 * dof)) / std::sqrt(1 + t * t / (2 * dof));
    return 0.5 * std::erfc(-z / std::sqrt(2.0));
  }
  return boost::math::cdf(StudentT(dof), t);
}

double ForecastBandQuantile(std::size_t dof) {
  // Beyond this many degrees of freedom t is within 0.1 % of its limit for the band's
  // probabilities; the table is built once, on first use, and never changes.
  constexpr std::size_t kTabulated = 1024;
  static const std::vector<double> table = [] {
    std::vector<double> t(kTabulated + 1);
    for (std::size_t d = 1; d <= kTabulated; ++d) {
      t[d] = StudentTQuantile(static_cast<double>(d), 0.5 + kForecastBandProbability / 2);
    }
    return t;
  }();
  return table[std::clamp<std::size_t>(dof, 1, kTabulated)];
}

}  // namespace kpid::rules
