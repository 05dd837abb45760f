// The sample history of one KPI as goal evaluation reads it: the latest and previous
// value, a least-squares line over the forecast window and avg/min/max over the last 7
// days, kept up to date as samples arrive and age, so that evaluating never rescans the
// history, in memory bounded by the windows' bucket count whatever the sample rate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "rules/forecast.hpp"
#include "rules/goal.hpp"
#include "rules/ring.hpp"

namespace kpid::rules {

struct Sample {
  TimePoint at;
  double value = 0;

  friend bool operator==(const Sample&, const Sample&) = default;
};

// Each window is kept as buckets: cells of BucketSpan(window) = window / kBucketsPerWindow
// on a grid from the epoch, each holding the exact sums the statistics need (count, sum,
// min and max for the 7 days; the least-squares moments for the forecast). Memory is
// bounded by the window, not by how often samples arrive, and the sums are exact; only the
// edge is coarse: a bucket leaves a window of length w at time t when its newest sample
// has t - at > w, so the bucket's older samples stay up to one span longer. Samples in
// separate cells are windowed exactly. Add() and Advance() cost O(1) amortized.
// Not thread-safe.
class Series {
 public:
  static constexpr Duration kStatsWindow = 7 * kDay;
  // A window touches at most this + 2 cells, which fits a ring of 128.
  static constexpr std::size_t kBucketsPerWindow = 120;
  // The width of a window's buckets; at least 1 ns.
  [[nodiscard]] static Duration BucketSpan(Duration window);

  // A zero or negative `forecast_window` keeps no forecast.
  explicit Series(Duration forecast_window = Duration::zero());

  // Appends a sample. Returns false and ignores it if its value is not finite or it is
  // older than the latest sample; to insert older samples, Assign() the merged history.
  // Equal timestamps are kept as separate samples.
  bool Add(const Sample& sample);

  // Replaces the content with `samples` (oldest first), as if added one by one and then
  // advanced to `now`, skipping those that are already outside both windows.
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
  [[nodiscard]] std::size_t ForecastSamples() const { return fit_.Count(); }
  [[nodiscard]] Duration ForecastWindow() const { return forecast_window_; }
  // Buckets held, both windows together (for tests and memory accounting).
  [[nodiscard]] std::size_t Buckets() const { return stats_.size() + forecast_.size(); }

 private:
  struct StatsBucket {
    TimePoint first;
    TimePoint last;
    std::size_t count = 0;
    double sum = 0;
    double min = 0;
    double max = 0;
    std::uint64_t seq = 0;  // numbers the buckets in order, for the extremes below
  };
  // A closed bucket's min or max, kept while no newer closed bucket has a more extreme one.
  struct Extreme {
    double value = 0;
    std::uint64_t seq = 0;
  };
  struct ForecastBucket {
    TimePoint first;
    TimePoint last;
    LinearFit fit;  // in the series' coordinates: X() and value - fit_offset_
  };

  [[nodiscard]] double X(TimePoint t) const;
  // At least kMinForecastSamples in the window, not all at one instant.
  [[nodiscard]] bool HasForecastLine() const;
  [[nodiscard]] bool Forecasting() const { return forecast_window_ > Duration::zero(); }
  void AddToStats(const Sample& sample);
  // The bucket at the back of stats_ closed: a newer one takes samples from now on.
  void CloseStatsBucket();
  void AddToForecast(const Sample& sample);
  // Recomputes the totals from the buckets after some left, which also keeps rounding from
  // accumulating; moves the forecast's origin to its oldest bucket.
  void RetotalStats();
  void RetotalForecast();

  Duration forecast_window_;
  Duration stats_span_;  // the longest a bucket may span, per window
  Duration forecast_span_;

  internal::Ring<StatsBucket> stats_;  // oldest first; the last one takes new samples
  std::size_t stats_count_ = 0;
  double stats_sum_ = 0;
  std::uint64_t stats_seq_ = 0;  // of the next bucket
  // Where the cell of the last bucket ends (ticks, saturated): a sample before it joins the
  // bucket, found without dividing per sample. Likewise for the forecast.
  Duration::rep stats_open_end_ = 0;
  Duration::rep forecast_open_end_ = 0;
  // The min and max over all buckets but the last, as monotonic queues (oldest first; the
  // front is the extreme): each bucket enters and leaves once, where rescanning the window
  // for them whenever a bucket left cost O(buckets).
  internal::Ring<Extreme> closed_mins_;  // values increasing
  internal::Ring<Extreme> closed_maxs_;  // values decreasing

  // x: seconds since fit_origin_, y: value - fit_offset_. The origin moves to the oldest
  // bucket as buckets leave, so x and y stay on the scale of the window's spread, not of
  // epoch seconds or of the values' magnitude, where the sums would lose digits.
  internal::Ring<ForecastBucket> forecast_;
  LinearFit fit_;  // all of forecast_
  TimePoint fit_origin_;
  double fit_offset_ = 0;

  std::optional<Sample> latest_;
  std::optional<Sample> previous_;
};

}  // namespace kpid::rules
