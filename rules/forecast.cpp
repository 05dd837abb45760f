#include "rules/forecast.hpp"

#include <cmath>

namespace kpid::rules {

void LinearFit::Add(double x, double y) {
  ++count_;
  const auto n = static_cast<double>(count_);
  const double dx = x - mean_x_;
  mean_x_ += dx / n;
  mean_y_ += (y - mean_y_) / n;
  sxx_ += dx * (x - mean_x_);
  sxy_ += dx * (y - mean_y_);
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
  mean_x_ -= dx / n;
  mean_y_ -= (y - mean_y_) / n;
  sxx_ -= dx * (x - mean_x_);
  sxy_ -= dx * (y - mean_y_);
  if (sxx_ < 0) sxx_ = 0;  // rounding; the true value is never negative
}

std::optional<double> LinearFit::ValueAt(double x) const {
  if (count_ < 2 || !(sxx_ > 0)) return std::nullopt;
  const double value = mean_y_ + sxy_ / sxx_ * (x - mean_x_);
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace kpid::rules
