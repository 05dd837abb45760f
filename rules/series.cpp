#include "rules/series.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kpid::rules {
namespace {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// Refit after this many removals beyond the number of samples held: the refit costs as
// much as the samples held, so adding and removing stay O(1) amortized.
constexpr std::size_t kRefitSlack = 64;

// `t - window`, saturating instead of overflowing near the clock's minimum.
TimePoint Cutoff(TimePoint t, Duration window) {
  if (t.time_since_epoch() < Duration::min() + window) return TimePoint(Duration::min());
  return t - window;
}

}  // namespace

Series::Series(Duration forecast_window) : forecast_window_(forecast_window) {}

double Series::X(TimePoint t) const {
  return std::chrono::duration<double>(t - fit_origin_).count();
}

bool Series::Add(const Sample& sample) {
  if (!std::isfinite(sample.value)) return false;
  if (latest_ && sample.at < latest_->at) return false;
  previous_ = latest_;
  latest_ = sample;

  const std::uint64_t seq = end_seq();
  samples_.push_back(sample);
  if (Forecasting()) {
    if (fit_.Count() == 0) {
      fit_origin_ = sample.at;
      fit_offset_ = sample.value;
    }
    fit_.Add(X(sample.at), sample.value - fit_offset_);
  } else {
    forecast_begin_ = seq + 1;
  }
  stats_sum_ += sample.value;
  while (!min_queue_.empty() && AtLow(min_queue_.back()).value >= sample.value) {
    min_queue_.pop_back();
  }
  min_queue_.push_back(Low(seq));
  while (!max_queue_.empty() && AtLow(max_queue_.back()).value <= sample.value) {
    max_queue_.pop_back();
  }
  max_queue_.push_back(Low(seq));
  return true;
}

void Series::Assign(std::span<const Sample> samples, TimePoint now) {
  *this = Series(forecast_window_);
  const TimePoint cutoff = Cutoff(now, std::max(forecast_window_, kStatsWindow));
  auto first = std::partition_point(samples.begin(), samples.end(),
                                    [&](const Sample& s) { return s.at < cutoff; });
  // The last two samples are the latest and previous even when outside the windows.
  const auto keep = static_cast<std::ptrdiff_t>(std::min<std::size_t>(samples.size(), 2));
  first = std::min(first, samples.end() - keep);
  for (auto it = first; it != samples.end(); ++it) Add(*it);
  Advance(now);
}

std::vector<Sample> Series::Held() const {
  std::vector<Sample> held;
  held.reserve(samples_.size());
  for (std::size_t i = 0; i < samples_.size(); ++i) held.push_back(samples_[i]);
  return held;
}

void Series::Advance(TimePoint now) {
  const std::uint64_t end = end_seq();
  const TimePoint stats_cutoff = Cutoff(now, kStatsWindow);
  while (stats_begin_ < end && At(stats_begin_).at < stats_cutoff) {
    stats_sum_ -= At(stats_begin_).value;
    if (min_queue_.front() == Low(stats_begin_)) min_queue_.pop_front();
    if (max_queue_.front() == Low(stats_begin_)) max_queue_.pop_front();
    ++stats_begin_;
    ++removals_;
  }
  if (Forecasting()) {
    const TimePoint forecast_cutoff = Cutoff(now, forecast_window_);
    while (forecast_begin_ < end && At(forecast_begin_).at < forecast_cutoff) {
      const Sample& s = At(forecast_begin_);
      fit_.Remove(X(s.at), s.value - fit_offset_);
      ++forecast_begin_;
      ++removals_;
    }
  }
  const std::uint64_t keep_from = std::min(stats_begin_, forecast_begin_);
  while (first_seq_ < keep_from) {
    samples_.pop_front();
    ++first_seq_;
  }
  const auto held = static_cast<std::size_t>(2 * end - stats_begin_ - forecast_begin_);
  if (removals_ > held + kRefitSlack) Refit();
}

void Series::Refit() {
  removals_ = 0;
  samples_.ShrinkIfSparse();
  min_queue_.ShrinkIfSparse();
  max_queue_.ShrinkIfSparse();
  const std::uint64_t end = end_seq();
  stats_sum_ = 0;
  for (std::uint64_t seq = stats_begin_; seq < end; ++seq) stats_sum_ += At(seq).value;
  fit_.Clear();
  if (forecast_begin_ < end) {
    fit_origin_ = At(forecast_begin_).at;
    fit_offset_ = At(forecast_begin_).value;
    for (std::uint64_t seq = forecast_begin_; seq < end; ++seq) {
      fit_.Add(X(At(seq).at), At(seq).value - fit_offset_);
    }
  }
}

Series::Stats Series::Last7Days() const {
  Stats stats;
  stats.count = static_cast<std::size_t>(end_seq() - stats_begin_);
  if (stats.count == 0) {
    stats.avg = stats.min = stats.max = kNoValue;
    return stats;
  }
  stats.avg = stats_sum_ / static_cast<double>(stats.count);
  stats.min = AtLow(min_queue_.front()).value;
  stats.max = AtLow(max_queue_.front()).value;
  return stats;
}

bool Series::HasForecastLine() const {
  return ForecastSamples() >= kMinForecastSamples && At(forecast_begin_).at != At(end_seq() - 1).at;
}

std::optional<double> Series::ForecastAt(TimePoint t) const {
  if (!HasForecastLine()) return std::nullopt;
  const std::optional<double> value = fit_.ValueAt(X(t));
  if (!value) return std::nullopt;
  return *value + fit_offset_;
}

std::optional<double> Series::ForecastErrorAt(TimePoint t) const {
  if (!HasForecastLine()) return std::nullopt;
  return fit_.PredictionError(X(t));
}

std::optional<double> Series::ForecastRatePerDay() const {
  if (!HasForecastLine()) return std::nullopt;
  const std::optional<double> slope = fit_.Slope();
  if (!slope) return std::nullopt;
  return *slope * std::chrono::duration<double>(kDay).count();
}

std::optional<TimePoint> Series::ForecastTimeAt(double value) const {
  if (!HasForecastLine()) return std::nullopt;
  const std::optional<double> x = fit_.XAt(value - fit_offset_);
  // system_clock counts nanoseconds in 64 bits: about +-292 years around 1970.
  constexpr double kMaxSeconds = 9.0e9;
  if (!x) return std::nullopt;
  const double seconds = *x + std::chrono::duration<double>(fit_origin_.time_since_epoch()).count();
  if (!(std::abs(seconds) < kMaxSeconds)) return std::nullopt;
  return fit_origin_ + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*x));
}

}  // namespace kpid::rules
