#include "daemon/notify/notify_test.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "daemon/notify/registry.hpp"

namespace kpid::notify {

Notification TestNotification(const config::Config& config, const std::string& receiver,
                              TimePoint now) {
  Notification n;
  n.receiver = receiver;
  n.test = true;
  n.external_url = config.server.external_url;
  n.group_key = "notify-test";
  Alert alert;
  alert.labels = {
      {"kpi", "kpid_notify_test"}, {"alert", "kpid_notify_test/test"}, {"severity", "info"}};
  alert.annotations = {
      {"summary", "Test notification from kpid to receiver \"" + receiver + "\""},
      {"description",
       "Sent by `kpid notify-test`. If you read this, the receiver works; nothing is wrong."}};
  alert.starts_at = now;
  alert.generator_url = config.server.external_url + "/";
  alert.fingerprint = Fingerprint("kpid_notify_test/test");
  alert.figures.title = "kpid test notification";
  n.alerts.push_back(std::move(alert));
  n.ComputeCommon();
  return n;
}

int RunNotifyTest(const config::Config& config, const std::string& receiver, std::ostream& out,
                  std::ostream& err) {
  const config::Receiver* found = config.FindReceiver(receiver);
  if (found == nullptr) {
    err << "kpid notify-test: no receiver named \"" << receiver << "\" in " << config.path << '\n';
    return 1;
  }
  boost::asio::io_context io;
  std::optional<Delivery> result;
  {
    collectors::http::CurlMulti curl(io);
    std::unique_ptr<Receiver> r = MakeReceiver(*found, ReceiverContext{io, curl});
    if (r == nullptr) {
      err << "kpid notify-test: receiver \"" << receiver << "\" has an unknown type\n";
      return 1;
    }
    r->Send(TestNotification(config, receiver, std::chrono::system_clock::now()), [&](Delivery d) {
      result = std::move(d);
      io.stop();
    });
    // The receiver enforces its timeout; this only guards against one that does not. The
    // guard keeps run_for() from returning while the email receiver's SMTP session runs on
    // its own thread and the io_context has nothing queued.
    auto work = boost::asio::make_work_guard(io);
    io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(found->timeout) +
               std::chrono::seconds(5));
  }
  if (!result) {
    err << "kpid notify-test: receiver \"" << receiver << "\" did not answer in time\n";
    return 1;
  }
  if (result->outcome != Delivery::Outcome::kDelivered) {
    err << "kpid notify-test: not delivered"
        << (result->outcome == Delivery::Outcome::kRetry ? " (temporary; kpid would retry)"
                                                         : " (permanent)")
        << ": " << result->error << '\n';
    return 1;
  }
  out << "kpid notify-test: delivered to receiver \"" << receiver << "\" (" << found->type << ")\n";
  return 0;
}

}  // namespace kpid::notify
