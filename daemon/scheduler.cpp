#include "daemon/scheduler.hpp"

namespace kpid {

Scheduler::Clock::duration Scheduler::Offset(const std::string& key, Clock::duration window) {
  if (window <= Clock::duration::zero()) return Clock::duration::zero();
  // FNV-1a: stable across runs and builds, unlike std::hash.
  std::uint64_t h = 1469598103934665603ULL;
  for (char ch : key) {
    auto c = static_cast<unsigned char>(ch);
    h ^= c;
    h *= 1099511628211ULL;
  }
  return Clock::duration(static_cast<Clock::rep>(h % static_cast<std::uint64_t>(window.count())));
}

void Scheduler::Every(const std::string& key, Clock::duration interval, Task task,
                      Clock::duration first_delay) {
  Remove(key);
  auto entry = std::make_shared<Entry>(io_);
  entry->interval = interval;
  entry->task = std::move(task);
  entry->next = Clock::now() + first_delay;
  entries_.emplace(key, entry);
  Arm(entry);
}

void Scheduler::Arm(const std::shared_ptr<Entry>& entry) {
  entry->timer.expires_at(entry->next);
  // The handler holds a weak reference: a removed task's pending wait ends as aborted
  // and nothing runs.
  entry->timer.async_wait([weak = std::weak_ptr<Entry>(entry)](boost::system::error_code ec) {
    auto e = weak.lock();
    if (ec || !e) return;
    e->next += e->interval;
    auto now = Clock::now();
    if (e->next <= now) {
      // Fell behind (a long stall): skip the missed runs rather than firing a burst.
      auto missed = (now - e->next) / e->interval + 1;
      e->next += missed * e->interval;
    }
    Arm(e);
    e->task();
  });
}

void Scheduler::Remove(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  it->second->timer.cancel();
  entries_.erase(it);
}

void Scheduler::Clear() {
  for (auto& [key, entry] : entries_) entry->timer.cancel();
  entries_.clear();
}

}  // namespace kpid
