// The `file` receiver: appends each notification to a file as one line of JSON, the
// Alertmanager webhook payload (webhook/payload.hpp), for audits and for tools that tail.
#pragma once

#include <memory>

#include "daemon/config/config.hpp"
#include "daemon/notify/receiver.hpp"

namespace kpid::notify::file {

// Each Send() opens the file (creating it, mode 0640 less the umask), appends the line,
// fsyncs and closes it, on the io thread: a rotated or deleted file is recreated by the
// next notification. Any error is kRetry (a full disk or a missing directory can be fixed
// while the dispatcher retries). `config.settings` must be file::Settings.
std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context);

}  // namespace kpid::notify::file
