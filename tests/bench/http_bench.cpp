// Benchmark driver for the HTTP collector: SOURCES http sources (default 1,000), each with
// one JSON KPI, against one loopback server running in a child process, collected in one
// cycle on one io thread. Prints per-cycle wall time and CPU time, and this process's RSS
// (the server's memory and CPU are not counted).
//   kpid_http_bench [SOURCES] [CYCLES]
//   kpid_http_bench serve    runs the same server in the foreground, prints its port and
//                            stops at end of input (to measure the kpid daemon itself)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collectors/http/collector.hpp"
#include "collectors/http/settings.hpp"
#include "tests/support/http_test_server.hpp"

namespace {

namespace chr = std::chrono;
using namespace std::chrono_literals;
namespace http = kpid::collectors::http;
namespace collectors = kpid::collectors;

double MiB(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(std::string(field).size())) / 1024;
  }
  return 0;
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// A small JSON document, like a stats endpoint's.
kpid::testing::HttpTestResponse Answer(const kpid::testing::HttpTestRequest& request) {
  return kpid::testing::HttpTestResponse::Json(R"({"source": ")" + request.target +
                                               R"(", "stats": {"value": 42.5}})");
}

// Runs the server in a child; returns its port, or 0. The child lives until `stop` closes.
std::uint16_t StartServer(int& stop_fd, pid_t& child) {
  int port_pipe[2];
  int stop_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(stop_pipe) != 0) return 0;
  child = fork();
  if (child == 0) {
    close(port_pipe[0]);
    close(stop_pipe[1]);
    const kpid::testing::HttpTestServer server(Answer);
    const std::uint16_t port = server.port();
    if (write(port_pipe[1], &port, sizeof port) != sizeof port) _exit(1);
    char byte = 0;
    while (read(stop_pipe[0], &byte, 1) > 0) {
    }
    _exit(0);
  }
  close(port_pipe[1]);
  close(stop_pipe[0]);
  stop_fd = stop_pipe[1];
  std::uint16_t port = 0;
  if (read(port_pipe[0], &port, sizeof port) != sizeof port) port = 0;
  close(port_pipe[0]);
  return port;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "serve") {
    const kpid::testing::HttpTestServer server(Answer);
    std::printf("%u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    while (std::getchar() != EOF) {
    }
    return 0;
  }
  const std::size_t sources = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000;
  const int cycles = argc > 2 ? std::atoi(argv[2]) : 3;
  const double rss_start = MiB("VmRSS:");

  // One descriptor per concurrent request: lift the soft limit to the hard one, as a
  // service manager's LimitNOFILE would.
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);

  int stop_fd = -1;
  pid_t child = -1;
  const std::uint16_t port = StartServer(stop_fd, child);
  if (port == 0) {
    std::fprintf(stderr, "http_bench: cannot start the server\n");
    return 1;
  }

  boost::asio::io_context io;
  std::vector<std::unique_ptr<collectors::Collector>> collectors;
  std::vector<collectors::Target> targets;
  for (std::size_t i = 0; i < sources; ++i) {
    auto settings = std::make_shared<http::SourceSettings>();
    settings->url = kpid::config::Secret("http://127.0.0.1:" + std::to_string(port) + "/stats/" +
                                         std::to_string(i) + "?token=t" + std::to_string(i));
    settings->headers.emplace_back("X-Api-Key", kpid::config::Secret("key-" + std::to_string(i)));
    kpid::config::Source source;
    source.name = "s" + std::to_string(i);
    source.type = "http";
    source.timeout = 30s;
    source.settings = settings;
    collectors.push_back(http::Make(source, io));
    auto kpi = std::make_shared<http::KpiSettings>();
    kpi->json_pointer = "/stats/value";
    targets.push_back({"k" + std::to_string(i), kpi});
  }

  std::printf("http_bench: %zu sources, one JSON KPI each, one loopback server (child process)\n",
              sources);
  int status = 0;
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    std::size_t ok = 0;
    std::size_t failed = 0;
    std::optional<std::string> first_error;
    const double cpu0 = CpuSeconds();
    const auto t0 = chr::steady_clock::now();
    for (std::size_t i = 0; i < sources; ++i) {
      collectors[i]->Collect(targets[i], 30s, [&](collectors::CollectResult result) {
        if (const auto* error = std::get_if<collectors::CollectError>(&result)) {
          ++failed;
          if (!first_error) first_error = error->message;
        } else {
          ++ok;
        }
      });
    }
    io.restart();
    while (ok + failed < sources && chr::steady_clock::now() - t0 < 120s) io.run_one_for(100ms);
    const double wall = chr::duration<double>(chr::steady_clock::now() - t0).count();
    const double cpu = CpuSeconds() - cpu0;
    std::printf("cycle %d (%s): %zu ok, %zu failed, %.3f s wall, %.3f s CPU, RSS %.1f MiB\n", cycle,
                cycle == 1 ? "new connections" : "kept-alive connections", ok, failed, wall, cpu,
                MiB("VmRSS:"));
    const struct mallinfo2 heap = mallinfo2();
    std::printf("  heap: %.1f MiB in use, %.1f MiB arena, %.1f MiB mmap\n",
                static_cast<double>(heap.uordblks) / 1048576,
                static_cast<double>(heap.arena) / 1048576,
                static_cast<double>(heap.hblkhd) / 1048576);
    if (first_error) std::printf("  first error: %s\n", first_error->c_str());
    if (ok != sources) status = 1;
  }
  std::printf("RSS: %.1f MiB at start, %.1f MiB now, %.1f MiB peak\n", rss_start, MiB("VmRSS:"),
              MiB("VmHWM:"));

  for (auto& collector : collectors) collector->Stop();
  collectors.clear();
  close(stop_fd);
  waitpid(child, nullptr, 0);
  return status;
}
