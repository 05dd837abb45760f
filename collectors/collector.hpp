// The collector plugin interface. A collector serves one [[source]]: it owns that source's
// connections (pool, curl handles, file state) and collects values for the KPIs that use
// it. The core (daemon/collection) schedules, limits concurrency to the source's
// max_concurrency, times every call, enforces the timeout as a backstop and counts
// results; plugins only fetch and parse.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "daemon/config/config.hpp"

namespace kpid::collectors {

using Clock = std::chrono::system_clock;

struct Sample {
  double value = 0;
  Clock::time_point timestamp;
  friend bool operator==(const Sample&, const Sample&) = default;
};

// What went wrong, as a metric label value (kpid_collector_runs_total{result}).
enum class ErrorKind { kTimeout, kConnect, kAuth, kQuery, kParse, kEmpty, kTooLarge, kInternal };
inline constexpr ErrorKind kAllErrorKinds[] = {
    ErrorKind::kTimeout, ErrorKind::kConnect, ErrorKind::kAuth,     ErrorKind::kQuery,
    ErrorKind::kParse,   ErrorKind::kEmpty,   ErrorKind::kTooLarge, ErrorKind::kInternal};
std::string_view ErrorKindName(ErrorKind kind);

// `message` names the source and what failed, never a secret (password, token, URL with
// credentials): `source "warehouse" (postgresql): timeout after 30s`.
struct CollectError {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
};

using CollectResult = std::variant<Sample, CollectError>;

// History rows for backfill, oldest first. Rows that failed to parse are counted and
// described (with line or row numbers) rather than failing the whole history.
struct History {
  std::vector<Sample> samples;
  std::size_t bad_rows = 0;
  std::string first_bad_row;  // description of the first bad row, empty if none
};
using HistoryResult = std::variant<History, CollectError>;

// The per-call view of a KPI: its name and the source kind's per-KPI settings
// (config::Kpi::collect, downcast by the plugin).
struct Target {
  std::string kpi;
  std::shared_ptr<const config::KindSettings> settings;
};

class Collector {
 public:
  using Done = std::function<void(CollectResult)>;
  using HistoryDone = std::function<void(HistoryResult)>;

  virtual ~Collector() = default;

  // Starts collecting the current value of `target`. `done` is called exactly once, on
  // the io_context the collector was made with, unless Stop() ran first; it is never
  // called from inside Collect(). Must not block the calling (io) thread: blocking work
  // runs on the collector's own threads. The plugin applies `timeout` where the backend
  // can (statement_timeout, curl timeouts) and reports kTimeout.
  virtual void Collect(const Target& target, std::chrono::milliseconds timeout, Done done) = 0;

  // Whether this source can backfill `target`'s history (sql history_query, csv with a
  // timestamp_column).
  virtual bool HasHistory(const Target& target) const = 0;
  // Like Collect(), for the full history.
  virtual void CollectHistory(const Target& target, std::chrono::milliseconds timeout,
                              HistoryDone done) = 0;

  // Abandons in-flight work: pending `done` callbacks are dropped, connections closed,
  // and blocking work is made to end promptly (cancel the running query, check a flag
  // between reads). Called on the io thread at shutdown and on reload; the destructor
  // follows on the io thread, so its join of the collector's threads must be short.
  virtual void Stop() = 0;
};

// Builds the collector of one source. Only validated config reaches it; it does no network
// I/O (connections open lazily on the first Collect()).
using Factory = std::function<std::unique_ptr<Collector>(const config::Source& source,
                                                         boost::asio::io_context& io)>;

}  // namespace kpid::collectors
