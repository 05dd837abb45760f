// The `slack` receiver: posts a Block Kit message (daemon/notify/message.hpp's wording) to
// an incoming webhook. The webhook URL is the credential: errors name its host only.
// 2xx delivered; 429 and 5xx, timeouts and connection failures retried (with Retry-After);
// other statuses are permanent.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "daemon/config/config.hpp"
#include "daemon/notify/notification.hpp"
#include "daemon/notify/receiver.hpp"

namespace kpid::notify::slack {

// No network here. `context.curl` must outlive the receiver.
std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context);

// The message body: {"text": subject, "blocks": [header, a section (and a context with
// the link) per alert, ...]} within Slack's limits (50 blocks, 10 fields per section,
// 150 characters of header). Exposed for tests.
nlohmann::json Payload(const Notification& n);

}  // namespace kpid::notify::slack
