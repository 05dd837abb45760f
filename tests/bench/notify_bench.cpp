// Notifications through the real path: engine transition -> notifier (outbox in a SQLite
// file, WAL) -> webhook receiver (libcurl) -> a local HTTP server.
//   kpid_notify_bench [LATENCY_SAMPLES=500] [THROUGHPUT_KPIS=10000]
// The webhook peer is kpid's own HTTP server (daemon/http) on its own thread, answering
// every POST /hook with 200.
// Latency: one KPI goes off track, group_wait = 0s; the time from Reconcile() to the
// request arriving at the server, p50/p99. Throughput: N KPIs go off track at once, one
// group each; N notifications queued and delivered; notifications/s and RSS.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <prometheus/registry.h>

#include "daemon/engine.hpp"
#include "daemon/http/router.hpp"
#include "daemon/http/server.hpp"
#include "daemon/load_config.hpp"
#include "daemon/log.hpp"
#include "daemon/notify/notifier.hpp"
#include "daemon/notify/registry.hpp"
#include "daemon/persistence.hpp"
#include "tests/support/process.hpp"

namespace {

using Clock = std::chrono::steady_clock;

long RssMiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10) / 1024;
  }
  return -1;
}

std::shared_ptr<const kpid::config::Config> Config(std::size_t kpis, const std::string& url) {
  std::string text =
      "[[source]]\nname = \"db\"\ntype = \"sql\"\ndriver = \"sqlite3\"\n"
      "connection = \"/nonexistent.db\"\n"
      "[[route]]\nreceivers = [\"hook\"]\ngroup_by = [\"kpi\"]\ngroup_wait = \"0s\"\n"
      "group_interval = \"1s\"\n"
      "[[receiver]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"" +
      url + "\"\n";
  for (std::size_t i = 0; i < kpis; ++i) {
    text += "[[kpi]]\nname = \"k" + std::to_string(i) +
            "\"\nsource = \"db\"\nquery = \"SELECT 1\"\n[kpi.goal]\nmax = 10\n";
  }
  auto loaded = kpid::config::LoadFromString(text, "bench.toml", kpid::BuiltinExtensions());
  if (!loaded.config) {
    std::fprintf(stderr, "config: %s\n", loaded.errors.front().ToString().c_str());
    std::exit(1);
  }
  return std::make_shared<const kpid::config::Config>(std::move(*loaded.config));
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t latency_samples = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 500;
  const std::size_t throughput_kpis = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 10'000;
  kpid::log::Configure(kpid::log::Level::kError, kpid::log::Format::kText);
  boost::asio::io_context peer_io;
  kpid::http::Router router;
  router.Add(boost::beast::http::verb::post, "/hook",
             [](const kpid::http::Request& req, const kpid::http::PathParams&) {
               return kpid::http::JsonResponse(req, boost::beast::http::status::ok, "{}");
             });
  kpid::http::Server peer(peer_io, router, kpid::http::ServerOptions{});
  if (peer.Listen({boost::asio::ip::make_address("127.0.0.1"), 0})) return 1;
  const std::string url =
      "http://127.0.0.1:" + std::to_string(peer.LocalEndpoint().port()) + "/hook";
  std::thread peer_thread([&] { peer_io.run(); });
  kpid::testing::TempDir dir;

  auto run = [&](std::size_t kpis, bool one_by_one) {
    boost::asio::io_context io;
    prometheus::Registry registry;
    kpid::Persistence persistence(registry);
    const std::string db = (dir.path() / ("bench" + std::to_string(kpis) + ".db")).string();
    if (!persistence.Open(db)) std::exit(1);
    auto config = Config(kpis, url);
    kpid::Engine engine;
    engine.Apply(config);
    kpid::notify::Notifier notifier(io, registry, persistence, kpid::notify::MakeReceiver);
    notifier.Apply(config, engine);
    notifier.Restore();
    auto now = std::chrono::system_clock::now();
    for (std::size_t i = 0; i < kpis; ++i) {
      (void)engine.Record("k" + std::to_string(i), kpid::collectors::Sample{1, now});
    }
    (void)engine.Evaluate(now);
    notifier.Reconcile(now);
    std::vector<double> latencies;
    // Delivered = acknowledged by the server: the outbox is empty again.
    const auto wait_for = [&] {
      const auto deadline = Clock::now() + std::chrono::seconds(60);
      while (notifier.queue_length() > 0) {
        io.run_one_for(std::chrono::milliseconds(1));
        if (Clock::now() > deadline) {
          std::fprintf(stderr, "stuck: queue %zu\n", notifier.queue_length());
          std::exit(1);
        }
      }
    };
    wait_for();
    if (one_by_one) {
      for (std::size_t i = 0; i < kpis; ++i) {
        now += std::chrono::seconds(2);
        (void)engine.Record("k" + std::to_string(i), kpid::collectors::Sample{20, now});
        (void)engine.Evaluate(now);
        const auto started = Clock::now();
        notifier.Reconcile(now);
        wait_for();
        latencies.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - started).count());
      }
      std::sort(latencies.begin(), latencies.end());
      auto at = [&](double q) {
        return latencies[std::min(
            latencies.size() - 1,
            static_cast<std::size_t>(q * static_cast<double>(latencies.size())))];
      };
      std::printf(
          "latency (status change -> webhook answered), %zu samples: p50 %.2f ms, p99 %.2f ms, max "
          "%.2f ms\n",
          latencies.size(), at(0.5), at(0.99), latencies.back());
      return;
    }
    now += std::chrono::seconds(2);
    for (std::size_t i = 0; i < kpis; ++i) {
      (void)engine.Record("k" + std::to_string(i), kpid::collectors::Sample{20, now});
    }
    (void)engine.Evaluate(now);
    const auto started = Clock::now();
    notifier.Reconcile(now);
    const double queued_s = std::chrono::duration<double>(Clock::now() - started).count();
    wait_for();
    const double total_s = std::chrono::duration<double>(Clock::now() - started).count();
    std::printf(
        "throughput: %zu notifications queued in %.3f s, delivered in %.3f s = %.0f/s; rss %ld "
        "MiB\n",
        kpis, queued_s, total_s, static_cast<double>(kpis) / total_s, RssMiB());
  };
  run(latency_samples, true);
  run(throughput_kpis, false);
  boost::asio::post(peer_io, [&] { peer.Stop(); });
  peer_io.stop();
  peer_thread.join();
  return 0;
}
