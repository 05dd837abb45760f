// sd_notify(3) when running under systemd with Type=notify; a no-op otherwise.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace kpid {

class SystemdNotifier {
 public:
  SystemdNotifier();  // reads NOTIFY_SOCKET and WATCHDOG_USEC once

  bool enabled() const { return enabled_; }
  // How often to send WATCHDOG=1 (half of WatchdogSec), when the watchdog is on.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

  void Ready(std::string_view status) const;
  void Reloading() const;
  void Stopping() const;
  void Status(std::string_view status) const;
  void Watchdog() const;

 private:
  void Send(std::string_view state) const;

  bool enabled_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace kpid
