#include "rules/series.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace kpid::rules {
namespace {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// `t - window`, saturating instead of overflowing near the clock's minimum.
TimePoint Cutoff(TimePoint t, Duration window) {
  if (t.time_since_epoch() < Duration::min() + window) return TimePoint(Duration::min());
  return t - window;
}

// The bucket a sample at `t` belongs to: buckets are cells of a grid from the epoch, so
// which samples share one does not depend on where a series started (Assign() equals
// adding one by one).
std::int64_t Cell(TimePoint t, Duration span) {
  const Duration::rep ticks = t.time_since_epoch().count();
  const Duration::rep width = span.count();
  return ticks / width - (ticks % width < 0 ? 1 : 0);
}

// The first tick after the cell holding `t`, or the clock's maximum when that is beyond it
// (then every later tick is in the cell).
Duration::rep CellEnd(TimePoint t, Duration span) {
  constexpr Duration::rep kMax = Duration::max().count();
  const std::int64_t cell = Cell(t, span);
  if (cell >= kMax / span.count()) return kMax;
  return (cell + 1) * span.count();
}

// Whether `t`, not before the bucket's first sample, is in the cell ending at `end`.
bool InCell(TimePoint t, Duration::rep end) {
  const Duration::rep ticks = t.time_since_epoch().count();
  return ticks < end || end == Duration::max().count();
}

}  // namespace

Duration Series::BucketSpan(Duration window) {
  return std::max(Duration(1), window / static_cast<Duration::rep>(kBucketsPerWindow));
}

Series::Series(Duration forecast_window)
    : forecast_window_(forecast_window),
      stats_span_(BucketSpan(kStatsWindow)),
      forecast_span_(BucketSpan(std::max(forecast_window, Duration(0)))) {}

double Series::X(TimePoint t) const {
  return std::chrono::duration<double>(t - fit_origin_).count();
}

bool Series::Add(const Sample& sample) {
  if (!std::isfinite(sample.value)) return false;
  if (latest_ && sample.at < latest_->at) return false;
  previous_ = latest_;
  latest_ = sample;
  AddToStats(sample);
  if (Forecasting()) AddToForecast(sample);
  return true;
}

void Series::AddToStats(const Sample& sample) {
  ++stats_count_;
  stats_sum_ += sample.value;
  if (!stats_.empty() && InCell(sample.at, stats_open_end_)) {
    StatsBucket& open = stats_.back();
    open.last = sample.at;
    ++open.count;
    open.sum += sample.value;
    open.min = std::min(open.min, sample.value);
    open.max = std::max(open.max, sample.value);
    return;
  }
  if (!stats_.empty()) CloseStatsBucket();
  stats_open_end_ = CellEnd(sample.at, stats_span_);
  stats_.push_back({.first = sample.at,
                    .last = sample.at,
                    .count = 1,
                    .sum = sample.value,
                    .min = sample.value,
                    .max = sample.value,
                    .seq = stats_seq_++});
}

void Series::CloseStatsBucket() {
  const StatsBucket& closed = stats_.back();
  while (!closed_mins_.empty() && closed_mins_.back().value >= closed.min) closed_mins_.pop_back();
  closed_mins_.push_back({closed.min, closed.seq});
  while (!closed_maxs_.empty() && closed_maxs_.back().value <= closed.max) closed_maxs_.pop_back();
  closed_maxs_.push_back({closed.max, closed.seq});
}

void Series::AddToForecast(const Sample& sample) {
  if (forecast_.empty()) {
    fit_origin_ = sample.at;
    fit_offset_ = sample.value;
    fit_.Clear();
  }
  const double x = X(sample.at);
  const double y = sample.value - fit_offset_;
  fit_.Add(x, y);
  if (!forecast_.empty() && InCell(sample.at, forecast_open_end_)) {
    ForecastBucket& open = forecast_.back();
    open.last = sample.at;
    open.fit.Add(x, y);
    return;
  }
  forecast_open_end_ = CellEnd(sample.at, forecast_span_);
  ForecastBucket bucket{.first = sample.at, .last = sample.at, .fit = {}};
  bucket.fit.Add(x, y);
  forecast_.push_back(bucket);
}

void Series::Assign(std::span<const Sample> samples, TimePoint now) {
  *this = Series(forecast_window_);
  // A bucket still inside a window at `now` holds no sample older than one span before
  // the window; older samples are in buckets that have left.
  const Duration reach = std::max(forecast_window_ + forecast_span_, kStatsWindow + stats_span_);
  const TimePoint cutoff = Cutoff(now, reach);
  auto first = std::partition_point(samples.begin(), samples.end(),
                                    [&](const Sample& s) { return s.at < cutoff; });
  // The last two samples are the latest and previous even when outside the windows.
  const auto keep = static_cast<std::ptrdiff_t>(std::min<std::size_t>(samples.size(), 2));
  first = std::min(first, samples.end() - keep);
  for (auto it = first; it != samples.end(); ++it) Add(*it);
  Advance(now);
}

void Series::Advance(TimePoint now) {
  const TimePoint stats_cutoff = Cutoff(now, kStatsWindow);
  bool stats_left = false;
  while (!stats_.empty() && stats_.front().last < stats_cutoff) {
    const std::uint64_t seq = stats_.front().seq;
    if (!closed_mins_.empty() && closed_mins_.front().seq == seq) closed_mins_.pop_front();
    if (!closed_maxs_.empty() && closed_maxs_.front().seq == seq) closed_maxs_.pop_front();
    stats_.pop_front();
    stats_left = true;
  }
  if (stats_left) RetotalStats();
  if (!Forecasting()) return;
  const TimePoint forecast_cutoff = Cutoff(now, forecast_window_);
  bool forecast_left = false;
  while (!forecast_.empty() && forecast_.front().last < forecast_cutoff) {
    forecast_.pop_front();
    forecast_left = true;
  }
  if (forecast_left) RetotalForecast();
}

void Series::RetotalStats() {
  stats_.ShrinkIfSparse();
  closed_mins_.ShrinkIfSparse();
  closed_maxs_.ShrinkIfSparse();
  // In locals: members could alias the buckets, and a store and reload per bucket would
  // lengthen the chain of additions.
  std::size_t count = 0;
  double sum = 0;
  for (std::size_t i = 0; i < stats_.size(); ++i) {
    const StatsBucket& bucket = stats_[i];
    count += bucket.count;
    sum += bucket.sum;
  }
  stats_count_ = count;
  stats_sum_ = sum;
}

void Series::RetotalForecast() {
  forecast_.ShrinkIfSparse();
  fit_.Clear();
  if (forecast_.empty()) return;
  const double shift = X(forecast_.front().first);
  fit_origin_ = forecast_.front().first;
  LinearFit fit;  // a local, as in RetotalStats()
  for (std::size_t i = 0; i < forecast_.size(); ++i) {
    forecast_[i].fit.Translate(-shift, 0);
    fit.Merge(forecast_[i].fit);
  }
  fit_ = fit;
}

Series::Stats Series::Last7Days() const {
  Stats stats;
  stats.count = stats_count_;
  if (stats.count == 0) {
    stats.avg = stats.min = stats.max = kNoValue;
    return stats;
  }
  stats.avg = stats_sum_ / static_cast<double>(stats.count);
  stats.min = stats_.back().min;
  stats.max = stats_.back().max;
  if (!closed_mins_.empty()) stats.min = std::fmin(closed_mins_.front().value, stats.min);
  if (!closed_maxs_.empty()) stats.max = std::fmax(closed_maxs_.front().value, stats.max);
  return stats;
}

bool Series::HasForecastLine() const {
  return fit_.Count() >= kMinForecastSamples && forecast_.front().first != forecast_.back().last;
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
