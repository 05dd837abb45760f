#include "rules/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <boost/math/distributions/students_t.hpp>

namespace kpid::rules {

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
