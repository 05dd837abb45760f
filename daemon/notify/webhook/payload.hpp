// The Alertmanager webhook payload (version "4"), as Alertmanager's webhook notifier sends
// it, so that anything written for Alertmanager webhooks reads kpid's unchanged. The
// `webhook` receiver posts it; the `file` receiver writes it as one JSON line.
#pragma once

#include <nlohmann/json.hpp>

#include "daemon/notify/notification.hpp"

namespace kpid::notify {

// Fields in Alertmanager's order; label and annotation keys sorted (Go marshals maps
// sorted); a firing alert's endsAt is Go's zero time. Strings are passed through as they
// are: serialise with nlohmann::json's error_handler_t::replace for invalid UTF-8.
[[nodiscard]] nlohmann::ordered_json WebhookPayload(const Notification& n);

}  // namespace kpid::notify
