// Raw bytes as HTTP/1.1 requests to the real daemon: a kpid::Service (its Server, Router,
// API, status pages, silences and store) runs in this process on a loopback port with a
// small CSV config, and each input is written to a fresh connection, which is then
// half-closed; the input may hold several pipelined requests. Properties: the daemon
// answers (or closes) every connection, never with a handler exception ("internal
// error"), and keeps serving.
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon/load_config.hpp"
#include "daemon/log.hpp"
#include "daemon/service.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

constexpr std::string_view kCsv =
    "date,region,orders,customers\n"
    "2026-11-01,EU,120,40\n"
    "2026-11-02,EU,130,41\n"
    "2026-11-02,US,90,30\n";

std::string Config(const std::filesystem::path& dir, int port) {
  const std::string d = dir.string();
  return "[server]\nlisten = \"127.0.0.1:" + std::to_string(port) +
         "\"\n"
         "[storage]\npath = \"" +
         d +
         "/kpid.db\"\n"
         "[evaluation]\ninterval = \"1h\"\n"
         "[[source]]\nname = \"finance\"\ntype = \"csv\"\npath = \"" +
         d +
         "/kpis.csv\"\n"
         "[[kpi]]\nname = \"eu_orders\"\nsource = \"finance\"\ncolumn = \"orders\"\n"
         "where = { region = \"EU\" }\ntimestamp_column = \"date\"\n"
         "labels = { team = \"finance\" }\n"
         "  [kpi.goal]\n  min = 10\n"
         "  [[kpi.rule]]\n  name = \"low\"\n  when = \"value < 1000\"\n"
         "  severity = \"warning\"\n  summary = \"orders at {{value}}\"\n"
         "[[kpi]]\nname = \"active_customers\"\nsource = \"finance\"\ncolumn = \"customers\"\n"
         "[[kpi]]\nname = \"orders_per_customer\"\nexpr = \"eu_orders / active_customers\"\n"
         "[[receiver]]\nname = \"audit\"\ntype = \"file\"\npath = \"" +
         d +
         "/notifications.jsonl\"\n"
         "[[route]]\nmatch = { team = \"finance\" }\nreceivers = [\"audit\"]\n"
         "[[silence]]\nmatch = { kpi = \"eu_orders\" }\nstarts = 2026-12-24T00:00:00Z\n"
         "ends = 2026-12-27T00:00:00Z\ncomment = \"holiday freeze\"\n";
}

// A free loopback port: bound to port 0, then released.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  KPID_FUZZ_CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0, "bind");
  KPID_FUZZ_CHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "port");
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Whether a connect() that failed with EINTR completes (it goes on in the background).
bool Connected(int fd) {
  if (errno != EINTR) return false;
  pollfd p{fd, POLLOUT, 0};
  int ready = 0;
  while ((ready = ::poll(&p, 1, 20000)) < 0 && errno == EINTR) {
  }
  int error = 0;
  socklen_t len = sizeof error;
  if (ready != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) return false;
  errno = error;
  return error == 0;
}

// Sends `request` on a new connection, half-closes it and reads until the daemon closes.
// Returns false when the connection cannot be made.
bool Exchange(int port, std::string_view request, std::string& response) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{20, 0};  // the daemon's own request timeout is 10 s
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  // libFuzzer's SIGALRM (its -timeout check) interrupts blocking calls: EINTR is retried.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && !Connected(fd)) {
    std::fprintf(stderr, "connect to 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    ::close(fd);
    return false;
  }
  // The daemon may answer and close before it has read everything (413, 431, 400).
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  response.clear();
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      response.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    KPID_FUZZ_CHECK(n == 0 || errno == ECONNRESET, "the daemon closes within 20 s");
    break;
  }
  ::close(fd);
  return true;
}

struct Daemon {
  std::filesystem::path dir;
  int port = 0;
  std::unique_ptr<kpid::Service> service;
  std::thread thread;
};

// Started once per process and never stopped: libFuzzer exits the process.
Daemon& Start() {
  static Daemon* const daemon = [] {
    kpid::log::Configure(kpid::log::Level::kError, kpid::log::Format::kText);
    auto* d = new Daemon;
    std::string tmpl = (std::filesystem::temp_directory_path() / "kpid-fuzz-XXXXXX").string();
    KPID_FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr, "temp dir");
    d->dir = tmpl;
    d->port = FreePort();
    std::ofstream(d->dir / "kpis.csv") << kCsv;
    const std::filesystem::path config_path = d->dir / "kpid.toml";
    std::ofstream(config_path) << Config(d->dir, d->port);
    auto loaded = kpid::LoadConfig(config_path.string());
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
    KPID_FUZZ_CHECK(loaded.config.has_value(), "the fuzz config loads");
    d->service = std::make_unique<kpid::Service>(config_path.string(), std::move(*loaded.config));
    d->thread = std::thread([d] { d->service->Run(); });
    static const std::filesystem::path dir = d->dir;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    });
    // Ready: listening and evaluated once, so the API has KPIs and alerts to show.
    std::string response;
    for (int i = 0; i < 400; ++i) {
      if (Exchange(d->port, "GET /-/ready HTTP/1.1\r\nHost: x\r\n\r\n", response) &&
          response.starts_with("HTTP/1.1 200")) {
        return d;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    KPID_FUZZ_CHECK(false, "the daemon becomes ready within 20 s");
    return d;
  }();
  return *daemon;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Daemon& daemon = Start();
  std::string response;
  KPID_FUZZ_CHECK(
      Exchange(daemon.port, std::string_view(reinterpret_cast<const char*>(data), size), response),
      "the daemon keeps accepting");
  if (!response.empty()) {
    KPID_FUZZ_CHECK(response.starts_with("HTTP/1."), "an HTTP response");
  }
  KPID_FUZZ_CHECK(response.find("\"internal error\"") == std::string::npos, "no handler throws");
  return 0;
}
