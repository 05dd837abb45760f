#include "collectors/http/curl_multi.hpp"

#include <chrono>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace kpid::collectors::http {

namespace asio = boost::asio;

void EnsureCurlGlobalInit() {
  // Process-wide and write-once: libcurl wants one global init before any handle exists.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One descriptor curl asked us to watch. `descriptor` holds either a socket OpenSocket()
// made (owned: closed by CloseSocket()) or a dup() of a descriptor curl made itself (closed
// when curl stops watching it), so Asio never closes a descriptor curl still uses.
struct CurlMulti::Watch {
  Watch(asio::io_context& io, curl_socket_t fd, bool is_owned)
      : descriptor(io), curl_fd(fd), owned(is_owned) {}

  asio::posix::stream_descriptor descriptor;
  curl_socket_t curl_fd;
  bool owned;
  int what = 0;  // CURL_POLL_* curl wants now
  bool reading = false;
  bool writing = false;
  bool closed = false;
  bool failed = false;  // a wait failed (not cancelled): stop waiting, curl was told
};

CurlMulti::CurlMulti(asio::io_context& io) : io_(io), timer_(io) {
  EnsureCurlGlobalInit();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) return;  // Add() reports it per request
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::SocketCallback);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::TimerCallback);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlMulti::~CurlMulti() {
  alive_.reset();  // handlers still queued on the io_context see this and return
  CancelAll();
  // Closes the cached connections through CloseSocket(), which still runs on `this`.
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
  multi_ = nullptr;
  for (auto& [fd, watch] : watches_) {
    watch->closed = true;
    boost::system::error_code ignored;
    watch->descriptor.close(ignored);
  }
  watches_.clear();
  timer_.cancel();
}

CurlMulti::RequestId CurlMulti::Add(EasyHandle easy, Completion done) {
  const RequestId id = next_id_++;
  CURL* raw = easy.get();
  if (raw == nullptr) {
    rejected_.emplace(id, Request{id, std::move(easy), std::move(done)});
    Fail(id, CURLE_FAILED_INIT);
    return id;
  }
  curl_easy_setopt(raw, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(raw, CURLOPT_OPENSOCKETFUNCTION, &CurlMulti::OpenSocket);
  curl_easy_setopt(raw, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(raw, CURLOPT_CLOSESOCKETFUNCTION, &CurlMulti::CloseSocket);
  curl_easy_setopt(raw, CURLOPT_CLOSESOCKETDATA, this);
  const CURLMcode rc = multi_ != nullptr ? curl_multi_add_handle(multi_, raw) : CURLM_OUT_OF_MEMORY;
  if (rc != CURLM_OK) {
    rejected_.emplace(id, Request{id, std::move(easy), std::move(done)});
    Fail(id, rc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT);
    return id;
  }
  requests_.emplace(raw, Request{id, std::move(easy), std::move(done)});
  by_id_.emplace(id, raw);
  return id;
}

void CurlMulti::Fail(RequestId id, CURLcode code) {
  asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_), id, code] {
    if (alive.expired()) return;
    auto it = rejected_.find(id);
    if (it == rejected_.end()) return;  // cancelled meanwhile
    Request request = std::move(it->second);
    rejected_.erase(it);
    if (request.done) request.done(code, std::move(request.easy));
  });
}

void CurlMulti::Cancel(RequestId id) {
  rejected_.erase(id);
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  CURL* raw = it->second;
  by_id_.erase(it);
  // Removing a handle mid-transfer makes curl close its connection (CloseSocket()).
  curl_multi_remove_handle(multi_, raw);
  requests_.erase(raw);
}

void CurlMulti::CancelAll() {
  rejected_.clear();
  // Move out first: destroying a completion may release state that calls back in here.
  auto requests = std::move(requests_);
  requests_.clear();
  by_id_.clear();
  for (auto& [raw, request] : requests) curl_multi_remove_handle(multi_, raw);
}

int CurlMulti::SocketCallback(CURL*, curl_socket_t fd, int what, void* self, void*) {
  static_cast<CurlMulti*>(self)->OnSocket(fd, what);
  return 0;
}

int CurlMulti::TimerCallback(CURLM*, long timeout_ms, void* self) {
  static_cast<CurlMulti*>(self)->OnTimer(timeout_ms);
  return 0;
}

curl_socket_t CurlMulti::OpenSocket(void* self_ptr, curlsocktype purpose, curl_sockaddr* address) {
  auto* self = static_cast<CurlMulti*>(self_ptr);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd < 0) return CURL_SOCKET_BAD;
  // A descriptor number curl closed on its own (the resolver's pipe) may come back now.
  self->Forget(fd);
  auto watch = std::make_shared<Watch>(self->io_, fd, true);
  boost::system::error_code ec;
  watch->descriptor.assign(fd, ec);
  if (ec) {
    ::close(fd);
    return CURL_SOCKET_BAD;
  }
  self->watches_.emplace(fd, std::move(watch));
  return fd;
}

int CurlMulti::CloseSocket(void* self_ptr, curl_socket_t fd) {
  auto* self = static_cast<CurlMulti*>(self_ptr);
  const auto it = self->watches_.find(fd);
  if (it == self->watches_.end() || !it->second->owned) {
    self->Forget(fd);
    return ::close(fd);
  }
  Watch& watch = *it->second;
  watch.closed = true;
  boost::system::error_code ec;
  watch.descriptor.close(ec);  // cancels pending waits, then closes
  self->watches_.erase(it);
  return ec ? -1 : 0;
}

void CurlMulti::Forget(curl_socket_t fd) {
  const auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  Watch& watch = *it->second;
  watch.closed = true;
  boost::system::error_code ignored;
  if (watch.owned) {
    // Only reached when curl closed one of our sockets behind our back: keep its number.
    static_cast<void>(watch.descriptor.release());
  } else {
    watch.descriptor.close(ignored);  // our dup
  }
  watches_.erase(it);
}

void CurlMulti::OnSocket(curl_socket_t fd, int what) {
  auto it = watches_.find(fd);
  if (what == CURL_POLL_REMOVE) {
    if (it == watches_.end()) return;
    if (!it->second->owned) {
      Forget(fd);
      return;
    }
    // An owned socket stays open (an idle connection in curl's cache) until CloseSocket().
    it->second->what = 0;
    boost::system::error_code ignored;
    it->second->descriptor.cancel(ignored);
    return;
  }
  if (it == watches_.end()) {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return;  // curl falls back on its timer
    auto watch = std::make_shared<Watch>(io_, fd, false);
    boost::system::error_code ec;
    watch->descriptor.assign(copy, ec);
    if (ec) {
      ::close(copy);
      return;
    }
    it = watches_.emplace(fd, std::move(watch)).first;
  }
  it->second->what = what;
  Arm(it->second);
}

void CurlMulti::Arm(const std::shared_ptr<Watch>& watch) {
  if (watch->closed || watch->failed) return;
  const auto wait = [this, watch](asio::posix::descriptor_base::wait_type type, bool& pending,
                                  int poll_bit, int select_bit) {
    pending = true;
    auto handler = [this, alive = std::weak_ptr<bool>(alive_), watch, &pending, poll_bit,
                    select_bit](const boost::system::error_code& ec) {
      if (alive.expired()) return;
      pending = false;
      if (watch->closed) return;
      if (ec && ec != asio::error::operation_aborted) {
        watch->failed = true;
        Action(watch->curl_fd, CURL_CSELECT_ERR);
        return;
      }
      if (!ec && (watch->what & poll_bit) != 0) Action(watch->curl_fd, select_bit);
      // Also after a cancellation: curl may want this direction again by now.
      Arm(watch);
    };
    // Asio's epoll reactor is edge-triggered and a wait is never speculative: readiness
    // that arrived while no wait was pending (a fast peer answering before curl asked to
    // read) would not wake a new wait, and the transfer would hang until curl's timeout.
    // So look at the socket's current state first.
    pollfd now{watch->descriptor.native_handle(),
               static_cast<short>(poll_bit == CURL_POLL_IN ? POLLIN : POLLOUT), 0};
    if (::poll(&now, 1, 0) > 0) {
      asio::post(io_, [handler = std::move(handler)] { handler(boost::system::error_code()); });
    } else {
      watch->descriptor.async_wait(type, std::move(handler));
    }
  };
  if ((watch->what & CURL_POLL_IN) != 0 && !watch->reading) {
    wait(asio::posix::descriptor_base::wait_read, watch->reading, CURL_POLL_IN, CURL_CSELECT_IN);
  }
  if ((watch->what & CURL_POLL_OUT) != 0 && !watch->writing) {
    wait(asio::posix::descriptor_base::wait_write, watch->writing, CURL_POLL_OUT, CURL_CSELECT_OUT);
  }
}

void CurlMulti::OnTimer(long timeout_ms) {
  if (timeout_ms < 0) {
    timer_.cancel();
    return;
  }
  // curl forbids calling it from its own callback: even a 0 ms timeout goes through the loop.
  timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        Action(CURL_SOCKET_TIMEOUT, 0);
      });
}

void CurlMulti::Action(curl_socket_t fd, int events) {
  if (multi_ == nullptr) return;
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  Complete();
}

void CurlMulti::Complete() {
  std::vector<std::pair<CURLcode, Request>> finished;
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* raw = msg->easy_handle;
    const CURLcode result = msg->data.result;  // msg dies with the removal below
    curl_multi_remove_handle(multi_, raw);
    const auto it = requests_.find(raw);
    if (it == requests_.end()) continue;
    by_id_.erase(it->second.id);
    finished.emplace_back(result, std::move(it->second));
    requests_.erase(it);
  }
  const std::weak_ptr<bool> alive = alive_;
  for (auto& [result, request] : finished) {
    if (alive.expired()) return;  // a completion destroyed this multi
    if (request.done) request.done(result, std::move(request.easy));
  }
}

namespace {

class CurlMultiService : public asio::io_context::service {
 public:
  // The service key Asio looks services up by: a constant identity, not mutable state.
  static asio::io_context::id id;

  explicit CurlMultiService(asio::io_context& io)
      : asio::io_context::service(io), multi_(std::make_unique<CurlMulti>(io)) {}

  CurlMulti& multi() { return *multi_; }

 private:
  // Runs before the io_context destroys its handlers and I/O services.
  void shutdown() override { multi_.reset(); }

  std::unique_ptr<CurlMulti> multi_;
};

// id's constructor is empty: nothing can throw before main().
asio::io_context::id CurlMultiService::id;  // NOLINT(cert-err58-cpp)

}  // namespace

CurlMulti& SharedCurlMulti(asio::io_context& io) {
  return asio::use_service<CurlMultiService>(io).multi();
}

}  // namespace kpid::collectors::http
