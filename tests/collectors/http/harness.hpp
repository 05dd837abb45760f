// Shared by the HTTP collector's integration tests: sources built by hand, and a loop that
// runs the io_context until callbacks arrive (a generous guard, never a timing assertion).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "collectors/http/collector.hpp"
#include "collectors/http/settings.hpp"

namespace kpid::collectors::http::testing {

using namespace std::chrono_literals;

inline config::Source MakeSource(const std::string& url,
                                 const std::function<void(SourceSettings&)>& tweak = {},
                                 const std::string& name = "crm") {
  auto settings = std::make_shared<SourceSettings>();
  settings->url = config::Secret(url);
  if (tweak) tweak(*settings);
  config::Source source;
  source.name = name;
  source.type = "http";
  source.timeout = 10s;
  source.settings = std::move(settings);
  return source;
}

inline Target JsonTarget(const std::string& pointer, const std::string& kpi = "churn") {
  auto settings = std::make_shared<KpiSettings>();
  settings->json_pointer = pointer;
  return Target{kpi, std::move(settings)};
}

inline Target TextTarget(const std::string& kpi = "depth") {
  auto settings = std::make_shared<KpiSettings>();
  settings->format = Format::kText;
  return Target{kpi, std::move(settings)};
}

// Runs `io` until `done()` holds or the guard passes; true if it holds.
inline bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::milliseconds guard = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + guard;
  io.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(50ms);
    if (io.stopped()) io.restart();
  }
  return done();
}

// One collection, run to its end.
inline CollectResult CollectOnce(Collector& collector, boost::asio::io_context& io,
                                 const Target& target, std::chrono::milliseconds timeout = 10s) {
  std::optional<CollectResult> result;
  collector.Collect(target, timeout, [&](CollectResult r) { result = std::move(r); });
  if (!RunUntil(io, [&] { return result.has_value(); })) {
    ADD_FAILURE() << "no result within the guard";
    return CollectError{ErrorKind::kInternal, "no result"};
  }
  return std::move(*result);
}

inline double ValueOf(const CollectResult& result) {
  if (const auto* error = std::get_if<CollectError>(&result)) {
    ADD_FAILURE() << "error " << ErrorKindName(error->kind) << ": " << error->message;
    return -1;
  }
  return std::get<Sample>(result).value;
}

inline CollectError ErrorOf(const CollectResult& result) {
  if (const auto* error = std::get_if<CollectError>(&result)) return *error;
  ADD_FAILURE() << "value " << std::get<Sample>(result).value;
  return {};
}

}  // namespace kpid::collectors::http::testing
