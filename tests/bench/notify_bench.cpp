// Notifications through the real path: engine transition -> notifier (outbox in a SQLite
// file, WAL) -> webhook receiver (libcurl) -> a local HTTP server.
//   kpid_notify_bench [LATENCY_SAMPLES=500] [THROUGHPUT_KPIS=10000] [alertmanager]
// The webhook peer is kpid's own HTTP server (daemon/http) on its own thread, answering
// every POST /hook with 200.
// Latency: one KPI goes off track, group_wait = 0s; the time from Reconcile() to the
// webhook answering, p50/p99. Throughput: N KPIs go off track at once, one group each; N
// notifications queued and delivered; notifications/s and RSS.
// With "alertmanager", the latency is measured a second time with a real Alertmanager in
// the path (/usr/bin/prometheus-alertmanager, group_wait 0s, one group per KPI): kpid's
// alertmanager receiver posts to it and its webhook reaches the same peer; the time is
// from Reconcile() to the webhook request arriving.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

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

std::shared_ptr<const kpid::config::Config> Config(std::size_t kpis, const std::string& url,
                                                   const std::string& type = "webhook") {
  std::string text =
      "[[source]]\nname = \"db\"\ntype = \"sql\"\ndriver = \"sqlite3\"\n"
      "connection = \"/nonexistent.db\"\n"
      "[[route]]\nreceivers = [\"hook\"]\ngroup_by = [\"kpi\"]\ngroup_wait = \"0s\"\n"
      "group_interval = \"1s\"\n"
      "[[receiver]]\nname = \"hook\"\ntype = \"" +
      type + "\"\nurl = \"" + url + "\"\n";
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

double Percentile(const std::vector<double>& sorted, double q) {
  return sorted[std::min(sorted.size() - 1,
                         static_cast<std::size_t>(q * static_cast<double>(sorted.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t latency_samples = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 500;
  const std::size_t throughput_kpis = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 10'000;
  const bool via_alertmanager = argc > 3 && std::string(argv[3]) == "alertmanager";
  kpid::log::Configure(kpid::log::Level::kError, kpid::log::Format::kText);
  boost::asio::io_context peer_io;
  kpid::http::Router router;
  std::atomic<std::size_t> hook_requests{0};
  router.Add(boost::beast::http::verb::post, "/hook",
             [&hook_requests](const kpid::http::Request& req, const kpid::http::PathParams&) {
               ++hook_requests;
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
    // Without work, run_one_for() would stop the io_context for good.
    auto work = boost::asio::make_work_guard(io);
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
          std::fprintf(stderr, "stuck: queue %zu\n%s", notifier.queue_length(),
                       prometheus::TextSerializer().Serialize(registry.Collect()).c_str());
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
      std::printf(
          "latency (status change -> webhook answered), %zu samples: p50 %.2f ms, p99 %.2f ms, max "
          "%.2f ms\n",
          latencies.size(), Percentile(latencies, 0.5), Percentile(latencies, 0.99),
          latencies.back());
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
  if (via_alertmanager) {
    // kpid -> Alertmanager -> the same webhook peer.
    const int am_port = kpid::testing::FreePort();
    const auto am_config =
        dir.Write("am.yml",
                  "route:\n  receiver: hook\n  group_by: [kpi]\n  group_wait: 0s\n"
                  "  group_interval: 1s\n  repeat_interval: 1h\n"
                  "receivers:\n  - name: hook\n    webhook_configs:\n      - url: " +
                      url + "\n        send_resolved: false\n");
    kpid::testing::Subprocess am(
        {"/usr/bin/prometheus-alertmanager", "--config.file=" + am_config.string(),
         "--storage.path=" + (dir.path() / "am").string(),
         "--web.listen-address=127.0.0.1:" + std::to_string(am_port),
         "--cluster.listen-address=", "--log.level=warn"},
        dir.path() / "am.log");
    const std::string am_url = "http://127.0.0.1:" + std::to_string(am_port);
    if (!kpid::testing::WaitFor(
            [&] { return kpid::testing::HttpGet(am_url + "/-/ready").status == 200; },
            std::chrono::seconds(30))) {
      std::fprintf(stderr, "alertmanager did not start: %s\n", am.Output().c_str());
      return 1;
    }
    boost::asio::io_context io;
    // Without work, run_one_for() would stop the io_context for good.
    auto work = boost::asio::make_work_guard(io);
    prometheus::Registry registry;
    kpid::Persistence persistence(registry);
    if (!persistence.Open((dir.path() / "am-bench.db").string())) return 1;
    auto config = Config(latency_samples, am_url, "alertmanager");
    kpid::Engine engine;
    engine.Apply(config);
    kpid::notify::Notifier notifier(io, registry, persistence, kpid::notify::MakeReceiver);
    notifier.Apply(config, engine);
    notifier.Restore();
    auto now = std::chrono::system_clock::now();
    for (std::size_t i = 0; i < latency_samples; ++i) {
      (void)engine.Record("k" + std::to_string(i), kpid::collectors::Sample{1, now});
    }
    (void)engine.Evaluate(now);
    notifier.Reconcile(now);
    std::vector<double> latencies;
    for (std::size_t i = 0; i < latency_samples; ++i) {
      // Real time: Alertmanager judges startsAt and endsAt by its own clock.
      now = std::max(now + std::chrono::milliseconds(1), std::chrono::system_clock::now());
      (void)engine.Record("k" + std::to_string(i), kpid::collectors::Sample{20, now});
      (void)engine.Evaluate(now);
      const std::size_t before = hook_requests.load();
      const auto started = Clock::now();
      notifier.Reconcile(now);
      const auto deadline = started + std::chrono::seconds(30);
      while (hook_requests.load() == before) {
        io.run_one_for(std::chrono::microseconds(200));
        if (Clock::now() > deadline) {
          std::fprintf(stderr, "no webhook from alertmanager: %s\n", am.Output().c_str());
          std::exit(1);
        }
      }
      latencies.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - started).count());
    }
    notifier.Stop();
    std::sort(latencies.begin(), latencies.end());
    std::printf(
        "latency with Alertmanager in the path (status change -> Alertmanager -> webhook), %zu "
        "samples: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
        latencies.size(), Percentile(latencies, 0.5), Percentile(latencies, 0.99),
        latencies.back());
  }
  boost::asio::post(peer_io, [&] { peer.Stop(); });
  peer_io.stop();
  peer_thread.join();
  return 0;
}
