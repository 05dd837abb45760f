// The interface every receiver kind implements (daemon/notify/<kind>/receiver.hpp), and
// what the dispatcher hands them. Receivers do the I/O of one delivery attempt; retries,
// backoff, expiry and the outbox are the dispatcher's.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "collectors/http/curl_multi.hpp"
#include "daemon/config/config.hpp"
#include "daemon/notify/notification.hpp"

namespace kpid::notify {

struct Delivery {
  enum class Outcome {
    kDelivered,
    kRetry,   // a temporary failure: 5xx, 429, timeout, connection refused, SMTP 4xx
    kFailed,  // permanent: retrying cannot help (4xx other than 429, SMTP 5xx)
  };
  Outcome outcome = Outcome::kDelivered;
  // Why it was not delivered, for logs and `kpid notify-test`: names the receiver and the
  // peer's answer (status line, SMTP reply), never a secret (URL token, password).
  std::string error;
  // The peer asked to wait this long (HTTP 429/503 Retry-After).
  std::optional<std::chrono::seconds> retry_after;
};

// What a receiver gets at construction.
struct ReceiverContext {
  boost::asio::io_context& io;
  collectors::http::CurlMulti& curl;  // shared libcurl multi on the io thread
};

class Receiver {
 public:
  using Done = std::function<void(Delivery)>;

  virtual ~Receiver() = default;

  // One delivery attempt of `n`. Calls `done` exactly once, on the io thread, never from
  // inside Send(), within the receiver's `timeout` (config::Receiver::timeout). Never
  // blocks the io thread (file: a write + fsync of one line is acceptable). Destroying the
  // receiver abandons attempts in flight without calling their `done`.
  virtual void Send(const Notification& n, Done done) = 0;
};

}  // namespace kpid::notify
