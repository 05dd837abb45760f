// The `email` receiver: one multipart/alternative message (plain text and HTML, both from
// daemon/notify/message.hpp) per notification, sent over SMTP with libcurl: STARTTLS per
// `starttls`, implicit TLS for smtps://, AUTH with username and password. SMTP 4xx and
// transport failures are retried, SMTP 5xx are permanent. Each attempt runs on a thread
// of its own (libcurl's SMTP waits for some replies in blocking calls, which must not
// stall the io thread) and reports on the io thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config/config.hpp"
#include "daemon/notify/notification.hpp"
#include "daemon/notify/receiver.hpp"

namespace kpid::notify::email {

// Validates nothing beyond the settings' type (the config loader did); no network here.
// `context.io` must outlive the receiver; the destructor joins the attempts' threads after
// shutting their sockets down, so it returns at once.
std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context);

// The RFC 5322 message for `n` with CRLF line endings, ready for DATA (curl does the dot
// stuffing). `date` goes into the Date header; `random` seeds the Message-ID and the MIME
// boundary. Exposed for tests.
std::string ComposeMessage(const Notification& n, const std::string& from,
                           const std::vector<std::string>& to, TimePoint date,
                           std::uint64_t random);

// The HTML part of the message (every text from labels, annotations and titles escaped).
std::string HtmlBody(const Notification& n);

}  // namespace kpid::notify::email
