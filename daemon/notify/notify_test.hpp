// `kpid notify-test --receiver NAME`: sends one clearly marked test notification through
// the receiver, without the outbox or retries, and reports the outcome.
#pragma once

#include <ostream>
#include <string>

#include "daemon/config/config.hpp"
#include "daemon/notify/notification.hpp"

namespace kpid::notify {

// The test notification for `receiver`: one firing alert, kpi="kpid_notify_test",
// severity "info", with a summary that says what it is.
[[nodiscard]] Notification TestNotification(const config::Config& config,
                                            const std::string& receiver, TimePoint now);

// Returns the exit code: 0 delivered, 1 not delivered or no such receiver (the reason on
// `err`).
int RunNotifyTest(const config::Config& config, const std::string& receiver, std::ostream& out,
                  std::ostream& err);

}  // namespace kpid::notify
