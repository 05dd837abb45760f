// The sample history of one KPI as goal evaluation reads it: the latest and previous
// value, a least-squares line over the forecast window and avg/min/max over the last 7
// days, kept up to date as samples arrive and age, so that evaluating never rescans the
// history.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "rules/forecast.hpp"
#include "rules/goal.hpp"
#include "rules/ring.hpp"

namespace kpid::rules {

struct Sample {
  TimePoint at;
  double value = 0;

  friend bool operator==(const Sample&, const Sample&) = default;
};

// A sample is inside a window of length w at time t when t - at <= w. Add() and
// Advance() cost O(1) amortized (monotonic queues for min and max; running means and
// co-moments refitted from the held samples after as many removals as samples held, which
// bounds the rounding drift). Holds the samples of the longer of the two windows.
// Not thread-safe.
class Series {
 public:
  static constexpr Duration kStatsWindow = 7 * kDay;

  // A zero or negative `forecast_window` keeps no forecast.
  explicit Series(Duration forecast_window = Duration::zero());

  // Appends a sample. Returns false and ignores it if its value is not finite or it is
  // older than the latest sample; to insert older samples, Assign() the merged history.
  // Equal timestamps are kept as separate samples.
  bool Add(const Sample& sample);

  // Replaces the content with `samples` (oldest first), as if added one by one and then
  // advanced to `now`, without holding those that are already outside both windows.
  void Assign(std::span<const Sample> samples, TimePoint now);

  // Drops what left the windows at `now`. Time only moves forward here: an earlier `now`
  // than before drops nothing and brings nothing back.
  void Advance(TimePoint now);

  [[nodiscard]] const std::optional<Sample>& Latest() const { return latest_; }
  // The sample before the latest, however old.
  [[nodiscard]] const std::optional<Sample>& Previous() const { return previous_; }

  struct Stats {
    std::size_t count = 0;
    double avg = 0;  // avg, min and max are NaN when count is 0
    double min = 0;
    double max = 0;
  };
  // Over the samples inside kStatsWindow, as of the last Advance().
  [[nodiscard]] Stats Last7Days() const;

  // The least-squares line through the samples inside the forecast window (as of the last
  // Advance()), evaluated at `t`; nullopt with fewer than kMinForecastSamples samples or
  // when they all share one timestamp.
  [[nodiscard]] std::optional<double> ForecastAt(TimePoint t) const;
  // The same line's standard error for one new value at `t` (LinearFit::PredictionError),
  // under the same conditions as ForecastAt().
  [[nodiscard]] std::optional<double> ForecastErrorAt(TimePoint t) const;
  // The same line's slope, in value per day.
  [[nodiscard]] std::optional<double> ForecastRatePerDay() const;
  // When the same line reaches `value`; nullopt when it is flat or the instant is not
  // representable.
  [[nodiscard]] std::optional<TimePoint> ForecastTimeAt(double value) const;
  [[nodiscard]] std::size_t ForecastSamples() const {
    return static_cast<std::size_t>(end_seq() - forecast_begin_);
  }
  [[nodiscard]] Duration ForecastWindow() const { return forecast_window_; }

  // The samples held for the windows, oldest first; Latest() and Previous() may be older
  // and not among them. For merging older samples in with Assign().
  [[nodiscard]] std::vector<Sample> Held() const;

 private:
  [[nodiscard]] std::uint64_t end_seq() const { return first_seq_ + samples_.size(); }
  [[nodiscard]] const Sample& At(std::uint64_t seq) const {
    return samples_[static_cast<std::size_t>(seq - first_seq_)];
  }
  // The queues hold the low 32 bits of sequence numbers: the window never holds 2^32.
  [[nodiscard]] static std::uint32_t Low(std::uint64_t seq) {
    return static_cast<std::uint32_t>(seq);
  }
  [[nodiscard]] const Sample& AtLow(std::uint32_t low) const {
    return samples_[static_cast<std::uint32_t>(low - Low(first_seq_))];
  }
  [[nodiscard]] double X(TimePoint t) const;
  // At least kMinForecastSamples in the window, not all at one instant.
  [[nodiscard]] bool HasForecastLine() const;
  [[nodiscard]] bool Forecasting() const { return forecast_window_ > Duration::zero(); }
  void Refit();

  Duration forecast_window_;
  // Samples by sequence number: samples_[0] has first_seq_. Those before forecast_begin_
  // are outside the forecast window, those before stats_begin_ outside the 7 days.
  internal::Ring<Sample> samples_;
  std::uint64_t first_seq_ = 0;
  std::uint64_t forecast_begin_ = 0;
  std::uint64_t stats_begin_ = 0;

  // x: seconds since fit_origin_, y: value - fit_offset_. Both origins are a sample of the
  // window, so x and y stay on the scale of the window's spread, not of epoch seconds or of
  // the values' magnitude, where the running means would lose digits.
  LinearFit fit_;
  TimePoint fit_origin_;
  double fit_offset_ = 0;
  double stats_sum_ = 0;
  internal::Ring<std::uint32_t> min_queue_;  // values increase front to back
  internal::Ring<std::uint32_t> max_queue_;  // values decrease front to back
  std::size_t removals_ = 0;                 // since the last Refit()

  std::optional<Sample> latest_;
  std::optional<Sample> previous_;
};

}  // namespace kpid::rules
