// A libcurl multi handle driven by a Boost.Asio io_context: curl's socket and timer callbacks
// become async_wait()s on the io thread, so hundreds of transfers run concurrently on one
// thread without a thread per request. A request is a configured CURL easy handle plus a
// completion callback; the HTTP collector and the notification receivers (webhook, Slack,
// Alertmanager, SMTP) share this client.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <curl/curl.h>

namespace kpid::collectors::http {

// Calls curl_global_init() once per process (std::call_once); every CurlMulti does it.
void EnsureCurlGlobalInit();

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// Not thread-safe: every call, and every completion, happens on the io thread. Must be
// destroyed before its io_context (the destructor aborts every transfer and closes the
// sockets it owns).
class CurlMulti {
 public:
  using RequestId = std::uint64_t;
  // The transfer's result and its easy handle (for curl_easy_getinfo()); the handle is
  // already out of the multi. Never called from inside Add().
  using Completion = std::function<void(CURLcode result, EasyHandle easy)>;

  explicit CurlMulti(boost::asio::io_context& io);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // Starts a transfer. The caller has set URL, options and write callback on `easy`; this
  // sets CURLOPT_NOSIGNAL and the socket callbacks that let the multi own its sockets.
  // Whatever the write callback writes to must live as long as `done` (capture it there).
  // A handle the multi refuses is completed with that error, from the io loop.
  RequestId Add(EasyHandle easy, Completion done);
  // Aborts a transfer; its completion is destroyed without being called. Unknown ids
  // (already completed or cancelled) are ignored.
  void Cancel(RequestId id);
  // Aborts every transfer; their completions are dropped.
  void CancelAll();

  std::size_t in_flight() const { return requests_.size(); }
  boost::asio::io_context& io() { return io_; }

 private:
  struct Request {
    RequestId id = 0;
    EasyHandle easy;
    Completion done;
  };
  struct Watch;

  // curl callbacks (C linkage trampolines forward to these).
  static int SocketCallback(CURL* easy, curl_socket_t fd, int what, void* self, void*);
  static int TimerCallback(CURLM* multi, long timeout_ms, void* self);
  static curl_socket_t OpenSocket(void* self, curlsocktype purpose, curl_sockaddr* address);
  static int CloseSocket(void* self, curl_socket_t fd);

  void OnSocket(curl_socket_t fd, int what);
  void OnTimer(long timeout_ms);
  void Arm(const std::shared_ptr<Watch>& watch);
  void Action(curl_socket_t fd, int events);
  void Complete();
  void Forget(curl_socket_t fd);
  void Fail(RequestId id, CURLcode code);

  boost::asio::io_context& io_;
  CURLM* multi_ = nullptr;
  boost::asio::steady_timer timer_;
  // Shared with every pending handler: they check it before touching `this`.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  RequestId next_id_ = 1;
  std::unordered_map<CURL*, Request> requests_;
  std::unordered_map<RequestId, CURL*> by_id_;
  std::map<RequestId, Request> rejected_;  // refused by the multi, completed from the loop
  // Sockets curl reported, by curl's descriptor. Sockets made by OpenSocket() are owned
  // here; others (the threaded resolver's wake-up pipe) are watched through a dup().
  std::map<curl_socket_t, std::shared_ptr<Watch>> watches_;
};

// One CurlMulti per io_context, shared by every HTTP source (one connection cache, DNS
// cache and CA store for all of them). An Asio service, so it is created on first use and
// destroyed with the io_context: per io_context, not global.
CurlMulti& SharedCurlMulti(boost::asio::io_context& io);

}  // namespace kpid::collectors::http
