// A receiver for notifier tests: records every notification it is sent and reports it
// delivered, on the io context's next turn as a real receiver would.
#pragma once

#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "daemon/notify/receiver.hpp"

namespace kpid::testing {

class RecordingReceiver : public notify::Receiver {
 public:
  RecordingReceiver(boost::asio::io_context& io, std::vector<notify::Notification>& sent)
      : io_(io), sent_(sent) {}
  void Send(const notify::Notification& n, Done done) override {
    sent_.push_back(n);
    boost::asio::post(io_, [done = std::move(done)] { done(notify::Delivery{}); });
  }

 private:
  boost::asio::io_context& io_;
  std::vector<notify::Notification>& sent_;
};

}  // namespace kpid::testing
