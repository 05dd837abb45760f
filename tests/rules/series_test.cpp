#include "rules/series.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include <date/date.h>
#include <gtest/gtest.h>

#include "rules/forecast.hpp"
#include "rules/ring.hpp"

namespace kpid::rules {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr TimePoint kT0 = date::sys_days(date::year(2026) / 1 / 1);

double Seconds(TimePoint t) { return std::chrono::duration<double>(t - kT0).count(); }

// Deterministic noise in [-1, 1).
class Noise {
 public:
  double Next() {
    state_ = state_ * 6364136223846793005u + 1442695040888963407u;
    return static_cast<double>(state_ >> 11) / 4503599627370496.0 - 1.0;
  }

 private:
  std::uint64_t state_ = 12345;
};

// The samples a window of length `window` holds at `now`, as documented: grouped in cells
// of Series::BucketSpan(window) from the epoch, a cell inside while its newest sample is.
std::vector<Sample> InWindow(const std::vector<Sample>& all, TimePoint now, Duration window) {
  const Duration span = Series::BucketSpan(window);
  auto cell = [&](const Sample& s) {
    const auto ticks = s.at.time_since_epoch().count();
    return ticks / span.count() - (ticks % span.count() < 0 ? 1 : 0);
  };
  std::vector<Sample> in;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t end = i;
    while (end < all.size() && cell(all[end]) == cell(all[i])) ++end;
    if (now - all[end - 1].at <= window)
      in.insert(in.end(), all.begin() + static_cast<std::ptrdiff_t>(i),
                all.begin() + static_cast<std::ptrdiff_t>(end));
    i = end;
  }
  return in;
}

// Reference least squares over the samples inside `window` at `now`, in long double.
std::optional<double> BruteForecast(const std::vector<Sample>& all, TimePoint now, Duration window,
                                    TimePoint at) {
  const std::vector<Sample> in = InWindow(all, now, window);
  if (in.size() < 3) return std::nullopt;
  long double mx = 0, my = 0;
  for (const Sample& s : in) {
    mx += static_cast<long double>(Seconds(s.at));
    my += static_cast<long double>(s.value);
  }
  mx /= static_cast<long double>(in.size());
  my /= static_cast<long double>(in.size());
  long double sxx = 0, sxy = 0;
  for (const Sample& s : in) {
    const long double dx = static_cast<long double>(Seconds(s.at)) - mx;
    sxx += dx * dx;
    sxy += dx * (static_cast<long double>(s.value) - my);
  }
  if (sxx == 0) return std::nullopt;
  return static_cast<double>(my + sxy / sxx * (static_cast<long double>(Seconds(at)) - mx));
}

Series::Stats BruteStats(const std::vector<Sample>& all, TimePoint now) {
  Series::Stats stats;
  long double sum = 0;
  stats.min = std::numeric_limits<double>::infinity();
  stats.max = -std::numeric_limits<double>::infinity();
  for (const Sample& s : InWindow(all, now, Series::kStatsWindow)) {
    ++stats.count;
    sum += static_cast<long double>(s.value);
    stats.min = std::min(stats.min, s.value);
    stats.max = std::max(stats.max, s.value);
  }
  stats.avg = static_cast<double>(sum / static_cast<long double>(stats.count));
  return stats;
}

TEST(RingTest, QueueWithPositions) {
  internal::Ring<int> ring;
  EXPECT_TRUE(ring.empty());
  for (int i = 0; i < 20; ++i) ring.push_back(i);  // grows 8 -> 16 -> 32
  EXPECT_EQ(ring.capacity(), 32u);
  for (int i = 0; i < 15; ++i) ring.pop_front();
  for (int i = 20; i < 40; ++i) ring.push_back(i);  // wraps around
  ASSERT_EQ(ring.size(), 25u);
  for (std::size_t i = 0; i < ring.size(); ++i) EXPECT_EQ(ring[i], static_cast<int>(i) + 15);
  EXPECT_EQ(ring.front(), 15);
  EXPECT_EQ(ring.back(), 39);
  ring.pop_back();
  EXPECT_EQ(ring.back(), 38);
  for (int i = 0; i < 20; ++i) ring.pop_front();
  ring.ShrinkIfSparse();  // 4 of 32: shrinks to 8
  EXPECT_EQ(ring.capacity(), 8u);
  ASSERT_EQ(ring.size(), 4u);
  for (std::size_t i = 0; i < ring.size(); ++i) EXPECT_EQ(ring[i], static_cast<int>(i) + 35);
}

TEST(LinearFitTest, NeedsTwoPointsWithSpreadInX) {
  LinearFit fit;
  EXPECT_FALSE(fit.ValueAt(0).has_value());
  fit.Add(0, 1);
  EXPECT_FALSE(fit.ValueAt(0).has_value());  // one point: no line
  fit.Add(1, 3);
  EXPECT_DOUBLE_EQ(fit.ValueAt(2).value(), 5.0);
  fit.Clear();
  EXPECT_EQ(fit.Count(), 0u);
  fit.Add(5, 5);
  fit.Add(5, 7);
  EXPECT_FALSE(fit.ValueAt(6).has_value());  // no spread in x
}

TEST(SeriesTest, ForecastOfAnExactLine) {
  // 1.2 per hour from 1000 on 2026-01-01, hourly: at 100 h the line is at 1120.
  Series series(hours(24 * 30));
  for (int h = 0; h < 10; ++h) {
    ASSERT_TRUE(series.Add({kT0 + hours(h), 1000 + 1.2 * h}));
  }
  series.Advance(kT0 + hours(9));
  EXPECT_EQ(series.ForecastSamples(), 10u);
  EXPECT_NEAR(series.ForecastAt(kT0 + hours(100)).value(), 1120.0, 1e-9);
  EXPECT_NEAR(series.ForecastAt(kT0).value(), 1000.0, 1e-9);
}

TEST(SeriesTest, ForecastOfALineFarFromZero) {
  // Epoch-second times and values around 1e9 with a slope of 1e-3 per second: raw sums
  // would cancel catastrophically.
  Series series(hours(24 * 365));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(series.Add({kT0 + seconds(i * 37), 1e9 + 1e-3 * i * 37}));
  }
  series.Advance(kT0 + seconds(999 * 37));
  const TimePoint deadline = kT0 + hours(24 * 100);
  EXPECT_NEAR(series.ForecastAt(deadline).value(), 1e9 + 1e-3 * 86400 * 100, 1e-5);
}

TEST(SeriesTest, ForecastOfNoisyDataIsClose) {
  Noise noise;
  Series series(hours(24 * 30));
  std::vector<Sample> all;
  for (int i = 0; i < 24 * 20; ++i) {
    const Sample s{kT0 + hours(i), 50 + 2.0 * i + 5 * noise.Next()};
    all.push_back(s);
    ASSERT_TRUE(series.Add(s));
  }
  const TimePoint now = all.back().at;
  series.Advance(now);
  const TimePoint deadline = kT0 + hours(24 * 40);
  const double truth = 50 + 2.0 * 24 * 40;
  EXPECT_NEAR(series.ForecastAt(deadline).value(), truth, 0.01 * truth);
  EXPECT_NEAR(series.ForecastAt(deadline).value(),
              BruteForecast(all, now, hours(24 * 30), deadline).value(), 1e-6);
}

TEST(SeriesTest, WindowSlidesAndEvicts) {
  // Flat at 0 for 20 h, then rising 1 per hour; a 10 h window sees only the rise.
  Series series(hours(10));
  for (int h = 0; h <= 30; ++h) {
    ASSERT_TRUE(series.Add({kT0 + hours(h), h < 20 ? 0.0 : h - 20.0}));
  }
  series.Advance(kT0 + hours(25));
  EXPECT_EQ(series.ForecastSamples(), 16u);  // 15 h .. 30 h: 15 h is exactly 10 h old
  series.Advance(kT0 + hours(30));
  EXPECT_EQ(series.ForecastSamples(), 11u);  // 20 h .. 30 h
  EXPECT_NEAR(series.ForecastAt(kT0 + hours(50)).value(), 30.0, 1e-9);
  series.Advance(kT0 + hours(30) + seconds(1));
  EXPECT_EQ(series.ForecastSamples(), 10u);  // 20 h is now older than 10 h
  series.Advance(kT0 + hours(38));
  EXPECT_EQ(series.ForecastSamples(), 3u);
  EXPECT_NEAR(series.ForecastAt(kT0 + hours(50)).value(), 30.0, 1e-9);
  series.Advance(kT0 + hours(39));
  EXPECT_EQ(series.ForecastSamples(), 2u);
  EXPECT_FALSE(series.ForecastAt(kT0 + hours(50)).has_value());
  series.Advance(kT0 + hours(100));
  EXPECT_EQ(series.ForecastSamples(), 0u);
  // The latest and previous samples stay, however old.
  EXPECT_EQ(series.Latest()->value, 10.0);
  EXPECT_EQ(series.Previous()->value, 9.0);
  // A fresh start after the window emptied.
  ASSERT_TRUE(series.Add({kT0 + hours(100), 5}));
  ASSERT_TRUE(series.Add({kT0 + hours(101), 6}));
  ASSERT_TRUE(series.Add({kT0 + hours(102), 7}));
  series.Advance(kT0 + hours(102));
  EXPECT_NEAR(series.ForecastAt(kT0 + hours(110)).value(), 15.0, 1e-9);
}

TEST(SeriesTest, FewerThanThreeSamplesGiveNoForecast) {
  Series series(hours(24));
  EXPECT_FALSE(series.ForecastAt(kT0).has_value());
  series.Add({kT0, 1});
  series.Add({kT0 + hours(1), 2});
  series.Advance(kT0 + hours(1));
  EXPECT_FALSE(series.ForecastAt(kT0 + hours(5)).has_value());
  series.Add({kT0 + hours(2), 3});
  series.Advance(kT0 + hours(2));
  EXPECT_NEAR(series.ForecastAt(kT0 + hours(5)).value(), 6.0, 1e-9);
}

TEST(SeriesTest, IdenticalTimestampsGiveNoForecast) {
  Series series(hours(24));
  for (double v : {1.0, 2.0, 3.0, 4.0}) ASSERT_TRUE(series.Add({kT0, v}));
  series.Advance(kT0);
  EXPECT_EQ(series.ForecastSamples(), 4u);
  EXPECT_FALSE(series.ForecastAt(kT0 + hours(5)).has_value());
  EXPECT_EQ(series.Latest()->value, 4.0);
  EXPECT_EQ(series.Previous()->value, 3.0);
  // One sample an hour later: a line through the mean 2.5 at kT0 and 10 an hour later.
  ASSERT_TRUE(series.Add({kT0 + hours(1), 10}));
  series.Advance(kT0 + hours(1));
  EXPECT_NEAR(series.ForecastAt(kT0 + hours(2)).value(), 17.5, 1e-9);
}

TEST(SeriesTest, NoForecastWindowNoForecast) {
  Series series;
  for (int h = 0; h < 10; ++h) series.Add({kT0 + hours(h), 1.0 * h});
  series.Advance(kT0 + hours(9));
  EXPECT_EQ(series.ForecastSamples(), 0u);
  EXPECT_FALSE(series.ForecastAt(kT0 + hours(20)).has_value());
  EXPECT_EQ(series.Last7Days().count, 10u);
}

TEST(SeriesTest, RejectsOlderAndNonFiniteSamples) {
  Series series(hours(24));
  EXPECT_TRUE(series.Add({kT0 + hours(2), 1}));
  EXPECT_FALSE(series.Add({kT0 + hours(1), 2}));
  EXPECT_FALSE(series.Add({kT0 + hours(3), std::numeric_limits<double>::quiet_NaN()}));
  EXPECT_FALSE(series.Add({kT0 + hours(3), std::numeric_limits<double>::infinity()}));
  EXPECT_TRUE(series.Add({kT0 + hours(2), 3}));  // same time: kept
  EXPECT_EQ(series.Latest()->value, 3.0);
  EXPECT_EQ(series.Previous()->value, 1.0);
  series.Advance(kT0 + hours(2));
  EXPECT_EQ(series.Last7Days().count, 2u);
}

TEST(SeriesTest, SevenDayStatsMatchARescan) {
  // Random gaps (0 to 6 h) and a random walk with runs up and down, so the min and max
  // deques are exercised both ways; compared with a rescan after every sample.
  Noise noise;
  Series series(hours(24 * 3));
  std::vector<Sample> all;
  TimePoint t = kT0;
  TimePoint now = kT0;
  double value = 0;
  for (int i = 0; i < 3000; ++i) {
    t += minutes(static_cast<int>((noise.Next() + 1) * 180));
    value += (i / 200) % 2 == 0 ? 1 + noise.Next() : -1 + noise.Next();
    const Sample s{t, value};
    all.push_back(s);
    ASSERT_TRUE(series.Add(s));
    now = std::max(now, t + minutes(static_cast<int>((noise.Next() + 1) * 60)));
    series.Advance(now);
    const Series::Stats got = series.Last7Days();
    const Series::Stats want = BruteStats(all, now);
    ASSERT_EQ(got.count, want.count) << i;
    ASSERT_EQ(got.min, want.min) << i;
    ASSERT_EQ(got.max, want.max) << i;
    ASSERT_NEAR(got.avg, want.avg, 1e-9 * (1 + std::fabs(want.avg))) << i;
    if (i % 10 == 0) {
      const std::optional<double> brute = BruteForecast(all, now, hours(24 * 3), now + hours(240));
      const std::optional<double> fast = series.ForecastAt(now + hours(240));
      ASSERT_EQ(fast.has_value(), brute.has_value()) << i;
      if (brute) {
        ASSERT_NEAR(*fast, *brute, 1e-7 * (1 + std::fabs(*brute))) << i;
      }
    }
  }
}

TEST(SeriesTest, NoDriftOverALongRun) {
  // 200k samples through a 100-sample forecast window and a 10081-sample 7-day window: many
  // times more removals than samples held.
  Noise noise;
  Series series(minutes(99));
  std::vector<Sample> all;
  for (int i = 0; i < 200000; ++i) {
    const Sample s{kT0 + minutes(i), 1e6 + 1e4 * std::sin(i * 1e-3) + noise.Next()};
    ASSERT_TRUE(series.Add(s));
    all.push_back(s);
    series.Advance(s.at);
  }
  const TimePoint now = all.back().at;
  const TimePoint at = now + hours(24);
  ASSERT_EQ(series.ForecastSamples(), 100u);
  EXPECT_NEAR(series.ForecastAt(at).value(), BruteForecast(all, now, minutes(99), at).value(),
              1e-6);
  // One-minute samples share 84-minute stats buckets: the window holds 7 days and up to
  // one bucket more, in at most kBucketsPerWindow + 2 buckets.
  ASSERT_EQ(series.Last7Days().count, BruteStats(all, now).count);
  EXPECT_GE(series.Last7Days().count, 7u * 24 * 60 + 1);
  EXPECT_LE(series.Last7Days().count, 7u * 24 * 60 + 84);
  EXPECT_NEAR(series.Last7Days().avg, BruteStats(all, now).avg, 1e-6);
  EXPECT_LE(series.Buckets(), 2 * (Series::kBucketsPerWindow + 2));
}

TEST(SeriesTest, MemoryIsBoundedByTheWindowNotTheSampleRate) {
  // A sample every 10 s for 40 days through a 30-day forecast: what is held stays a few
  // hundred buckets, and the sums still equal a rescan of the samples the buckets hold.
  Series series(hours(24 * 30));
  std::vector<Sample> all;
  const auto total = 40 * 24 * 360;
  all.reserve(static_cast<std::size_t>(total));
  std::size_t most = 0;
  for (int i = 0; i < total; ++i) {
    const Sample s{kT0 + seconds(10 * i), 100 + 0.01 * i + std::sin(i * 1e-3)};
    ASSERT_TRUE(series.Add(s));
    all.push_back(s);
    if (i % 60 == 0) {
      series.Advance(s.at);
      most = std::max(most, series.Buckets());
    }
  }
  const TimePoint now = all.back().at;
  series.Advance(now);
  EXPECT_LE(most, 2 * (Series::kBucketsPerWindow + 2));
  const std::optional<double> brute = BruteForecast(all, now, hours(24 * 30), now + hours(24));
  ASSERT_TRUE(brute.has_value());
  EXPECT_NEAR(series.ForecastAt(now + hours(24)).value(), *brute, 1e-6 * std::fabs(*brute));
  EXPECT_EQ(series.ForecastSamples(), InWindow(all, now, hours(24 * 30)).size());
  EXPECT_EQ(series.Last7Days().count, BruteStats(all, now).count);
  EXPECT_EQ(series.Last7Days().max, BruteStats(all, now).max);
}

TEST(SeriesTest, EmptyStatsAreNaN) {
  Series series(hours(1));
  EXPECT_EQ(series.Last7Days().count, 0u);
  EXPECT_TRUE(std::isnan(series.Last7Days().avg));
  EXPECT_TRUE(std::isnan(series.Last7Days().min));
  EXPECT_TRUE(std::isnan(series.Last7Days().max));
  EXPECT_FALSE(series.Latest().has_value());
  EXPECT_FALSE(series.Previous().has_value());
  series.Add({kT0, 4});
  series.Advance(kT0 + Series::kStatsWindow);  // exactly 7 days old: inside
  EXPECT_EQ(series.Last7Days().count, 1u);
  EXPECT_EQ(series.Last7Days().avg, 4.0);
  series.Advance(kT0 + Series::kStatsWindow + std::chrono::nanoseconds(1));
  EXPECT_EQ(series.Last7Days().count, 0u);
  EXPECT_TRUE(std::isnan(series.Last7Days().min));
  EXPECT_EQ(series.Latest()->value, 4.0);
}

TEST(SeriesTest, AssignEqualsAddingOneByOne) {
  Noise noise;
  std::vector<Sample> all;
  all.reserve(std::size_t{24} * 60);
  for (int i = 0; i < 24 * 60; ++i) all.push_back({kT0 + hours(i), i + 10 * noise.Next()});
  const TimePoint now = all.back().at + hours(1);

  Series added(hours(24 * 14));
  for (const Sample& s : all) added.Add(s);
  added.Advance(now);
  Series assigned(hours(24 * 14));
  assigned.Add({kT0 - hours(5), 1e9});  // replaced
  assigned.Assign(all, now);

  EXPECT_EQ(assigned.ForecastSamples(), added.ForecastSamples());
  EXPECT_EQ(assigned.ForecastSamples(), 24u * 14);
  EXPECT_NEAR(assigned.ForecastAt(now + hours(100)).value(),
              added.ForecastAt(now + hours(100)).value(), 1e-6);
  EXPECT_EQ(assigned.Last7Days().count, added.Last7Days().count);
  EXPECT_EQ(assigned.Last7Days().min, added.Last7Days().min);
  EXPECT_EQ(assigned.Last7Days().max, added.Last7Days().max);
  EXPECT_NEAR(assigned.Last7Days().avg, added.Last7Days().avg, 1e-9);
  EXPECT_EQ(assigned.Latest(), all.back());
  EXPECT_EQ(assigned.Previous(), all[all.size() - 2]);

  // Everything far outside the windows: only the latest and previous remain.
  Series old(hours(24));
  old.Assign(all, now + hours(24 * 365));
  EXPECT_EQ(old.Latest(), all.back());
  EXPECT_EQ(old.Previous(), all[all.size() - 2]);
  EXPECT_EQ(old.Last7Days().count, 0u);
  EXPECT_EQ(old.ForecastSamples(), 0u);

  Series empty(hours(24));
  empty.Add({kT0, 1});
  empty.Assign({}, now);
  EXPECT_FALSE(empty.Latest().has_value());
}

}  // namespace
}  // namespace kpid::rules
