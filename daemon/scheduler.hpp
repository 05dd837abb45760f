// Periodic tasks on the io_context: per-KPI collection timers and the evaluation tick.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace kpid {

// Runs each task every `interval` at a fixed rate (the schedule does not drift with the
// task's run time). Offset() spreads first runs by a hash of the key, as Prometheus
// spreads scrapes: many tasks with one interval do not fire together, and a task keeps
// its phase across restarts and reloads. Tasks run on the io thread and must not block.
// Not thread-safe: use from the io thread.
class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using Task = std::function<void()>;

  explicit Scheduler(boost::asio::io_context& io) : io_(io) {}
  ~Scheduler() { Clear(); }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Adds or replaces the task under `key`; the first run is after `first_delay`.
  void Every(const std::string& key, Clock::duration interval, Task task,
             Clock::duration first_delay);
  void Remove(const std::string& key);
  void Clear();
  std::size_t size() const { return entries_.size(); }

  // A stable offset for `key` in [0, window).
  static Clock::duration Offset(const std::string& key, Clock::duration window);

 private:
  struct Entry {
    boost::asio::steady_timer timer;
    Clock::duration interval;
    Clock::time_point next;
    Task task;
    explicit Entry(boost::asio::io_context& io) : timer(io) {}
  };
  static void Arm(const std::shared_ptr<Entry>& entry);

  boost::asio::io_context& io_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace kpid
