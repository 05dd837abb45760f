// Drives an sql collector from a test: builds sources and targets by hand and waits for
// results on a private io_context.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "collectors/collector.hpp"
#include "collectors/sql/collector.hpp"
#include "collectors/sql/settings.hpp"

namespace kpid::collectors::sql::testing {

using namespace std::chrono_literals;

inline config::Source MakeSource(const std::string& name, Driver driver,
                                 const std::string& connection,
                                 std::optional<std::string> password = std::nullopt,
                                 std::chrono::milliseconds timeout = 10s, int max_concurrency = 2) {
  auto settings = std::make_shared<SourceSettings>();
  settings->driver = driver;
  settings->connection = config::Secret(connection);
  if (password) settings->password = config::Secret(*password);
  config::Source source;
  source.name = name;
  source.type = "sql";
  source.timeout = timeout;
  source.max_concurrency = max_concurrency;
  source.settings = settings;
  return source;
}

inline Target MakeTarget(const std::string& kpi, const std::string& query,
                         const std::string& history_query = "") {
  auto settings = std::make_shared<KpiSettings>();
  settings->query = query;
  settings->history_query = history_query;
  return {kpi, settings};
}

// Owns an io_context and a collector; runs the io_context until results arrive.
class Harness {
 public:
  explicit Harness(const config::Source& source) : collector_(Make(source, io_)) {}
  ~Harness() {
    if (collector_) collector_->Stop();
  }

  Collector& collector() { return *collector_; }
  boost::asio::io_context& io() { return io_; }

  CollectResult Collect(const std::string& query, std::chrono::milliseconds timeout = 10s) {
    std::optional<CollectResult> result;
    collector_->Collect(MakeTarget("k", query), timeout,
                        [&](CollectResult r) { result = std::move(r); });
    RunUntil([&] { return result.has_value(); });
    if (!result) return CollectError{ErrorKind::kInternal, "test: no result in time"};
    return *result;
  }

  HistoryResult CollectHistory(const std::string& history_query,
                               std::chrono::milliseconds timeout = 10s) {
    std::optional<HistoryResult> result;
    collector_->CollectHistory(MakeTarget("k", "SELECT 1", history_query), timeout,
                               [&](HistoryResult r) { result = std::move(r); });
    RunUntil([&] { return result.has_value(); });
    if (!result) return CollectError{ErrorKind::kInternal, "test: no result in time"};
    return *result;
  }

  // Runs handlers until `done` holds; the limit only guards against a hang.
  template <typename Pred>
  void RunUntil(Pred done, std::chrono::milliseconds limit = 60s) {
    auto guard = boost::asio::make_work_guard(io_);
    auto end = std::chrono::steady_clock::now() + limit;
    io_.restart();
    while (!done() && std::chrono::steady_clock::now() < end) io_.run_one_for(50ms);
  }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<Collector> collector_;
};

inline double ValueOf(const CollectResult& r) {
  if (const auto* e = std::get_if<CollectError>(&r)) {
    ADD_FAILURE() << "expected a value, got " << ErrorKindName(e->kind) << ": " << e->message;
    return -1;
  }
  return std::get<Sample>(r).value;
}

inline CollectError ErrorOf(const CollectResult& r) {
  if (const auto* s = std::get_if<Sample>(&r)) {
    ADD_FAILURE() << "expected an error, got the value " << s->value;
    return {};
  }
  if (std::getenv("KPID_TEST_VERBOSE") != nullptr) {
    std::fprintf(stderr, "[%s] %s\n",
                 std::string(ErrorKindName(std::get<CollectError>(r).kind)).c_str(),
                 std::get<CollectError>(r).message.c_str());
  }
  return std::get<CollectError>(r);
}

}  // namespace kpid::collectors::sql::testing
