#include "daemon/systemd_notify.hpp"

#include <cstdlib>
#include <string>

#include <systemd/sd-daemon.h>

namespace kpid {

SystemdNotifier::SystemdNotifier() {
  enabled_ = std::getenv("NOTIFY_SOCKET") != nullptr;  // NOLINT(concurrency-mt-unsafe)
  std::uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ = std::chrono::microseconds(usec / 2);
  }
}

void SystemdNotifier::Send(std::string_view state) const {
  if (!enabled_) return;
  std::string s(state);
  sd_notify(0, s.c_str());
}

void SystemdNotifier::Ready(std::string_view status) const {
  Send("READY=1\nSTATUS=" + std::string(status));
}

void SystemdNotifier::Reloading() const { Send("RELOADING=1"); }
void SystemdNotifier::Stopping() const { Send("STOPPING=1"); }
void SystemdNotifier::Status(std::string_view status) const {
  Send("STATUS=" + std::string(status));
}
void SystemdNotifier::Watchdog() const { Send("WATCHDOG=1"); }

}  // namespace kpid
