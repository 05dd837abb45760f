// The `alertmanager` receiver: hands kpid's alerts to an Alertmanager, which then does its
// own routing, grouping, silencing and notifying (POST <url>/api/v2/alerts).
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "daemon/config/config.hpp"
#include "daemon/notify/receiver.hpp"

namespace kpid::notify::alertmanager {

// The body of POST /api/v2/alerts: one postable alert per alert of `n`. A firing alert has
// no endsAt, so Alertmanager ends it after its resolve_timeout (5m by default) unless it
// is posted again: re-sending firing alerts (the route's repeat_interval, shorter than the
// resolve_timeout) is the dispatcher's job, as it is Prometheus's. A resolved alert
// carries its endsAt (now if unknown). Labels with empty values are left out (Prometheus:
// absent).
[[nodiscard]] nlohmann::ordered_json AlertsBody(const Notification& n);

// Statuses and errors are classified as the webhook receiver's (webhook::JsonPoster); a
// 400 (Alertmanager rejected the alerts) fails with its explanation. `config.settings`
// must be alertmanager::Settings.
std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context);

}  // namespace kpid::notify::alertmanager
