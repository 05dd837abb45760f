#include "daemon/scheduler.hpp"

#include <set>

#include <gtest/gtest.h>

namespace kpid {
namespace {

using namespace std::chrono_literals;

TEST(SchedulerTest, RunsTasksRepeatedlyAndStopsWhenRemoved) {
  boost::asio::io_context io;
  Scheduler scheduler(io);
  int fast = 0;
  int removed = 0;
  scheduler.Every(
      "fast", 10ms, [&] { ++fast; }, 0ms);
  scheduler.Every(
      "removed", 10ms, [&] { ++removed; }, 0ms);
  scheduler.Remove("removed");
  boost::asio::steady_timer stop(io, 200ms);
  stop.async_wait([&](auto) { scheduler.Clear(); });
  io.run();  // returns once Clear() cancelled every timer
  EXPECT_GE(fast, 3);
  EXPECT_EQ(removed, 0);
  EXPECT_EQ(scheduler.size(), 0u);
}

TEST(SchedulerTest, ReplacingATaskKeepsOnlyTheNewOne) {
  boost::asio::io_context io;
  Scheduler scheduler(io);
  int old_runs = 0;
  int new_runs = 0;
  scheduler.Every(
      "k", 5ms, [&] { ++old_runs; }, 0ms);
  scheduler.Every(
      "k", 5ms, [&] { ++new_runs; }, 0ms);
  boost::asio::steady_timer stop(io, 100ms);
  stop.async_wait([&](auto) { scheduler.Clear(); });
  io.run();
  EXPECT_EQ(old_runs, 0);
  EXPECT_GE(new_runs, 2);
}

TEST(SchedulerTest, OffsetsAreStableAndSpreadWithinTheInterval) {
  const auto interval = std::chrono::duration_cast<Scheduler::Clock::duration>(60s);
  std::set<Scheduler::Clock::duration> offsets;
  for (int i = 0; i < 100; ++i) {
    std::string key = "kpi_" + std::to_string(i);
    auto offset = Scheduler::Offset(key, interval);
    EXPECT_GE(offset, Scheduler::Clock::duration::zero());
    EXPECT_LT(offset, interval);
    EXPECT_EQ(offset, Scheduler::Offset(key, interval)) << "stable for " << key;
    offsets.insert(offset);
  }
  EXPECT_GT(offsets.size(), 95u) << "100 keys should not collide much";
}

}  // namespace
}  // namespace kpid
