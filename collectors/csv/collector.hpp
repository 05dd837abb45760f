// The collector of a `type = "csv"` source: one file, read by a thread of its own, shared by
// every KPI of the source. A KPI's result is cached with the file's identity and is only
// recomputed when the file changed (device, inode, size, mtime, ctime), so rotation,
// truncation and rewrites are simply "changed". See collectors/csv/README.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "collectors/collector.hpp"
#include "collectors/csv/scan.hpp"
#include "collectors/csv/settings.hpp"
#include "daemon/config/config.hpp"

namespace kpid::collectors::csv {

class CsvCollector final : public Collector {
 public:
  // Malformed rows seen by a KPI's latest read of the file.
  struct BadRows {
    std::uint64_t count = 0;
    std::string first;  // "line 7: 3 fields, header has 4"
  };

  CsvCollector(const config::Source& source, boost::asio::io_context& io);
  // Abandons a read in progress and joins the reader thread.
  ~CsvCollector() override;
  CsvCollector(const CsvCollector&) = delete;
  CsvCollector& operator=(const CsvCollector&) = delete;

  void Collect(const Target& target, std::chrono::milliseconds timeout, Done done) override;
  bool HasHistory(const Target& target) const override;
  void CollectHistory(const Target& target, std::chrono::milliseconds timeout,
                      HistoryDone done) override;
  void Stop() override;

  // Passes over the file so far; collections answered from the cache do not count.
  std::uint64_t reads() const { return reads_.load(); }
  // Any thread. Nullopt before the KPI's first read.
  std::optional<BadRows> LastBadRows(const std::string& kpi) const;

 private:
  using Deadline = std::optional<std::chrono::steady_clock::time_point>;

  // What identifies one version of the file.
  struct FileState {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    friend bool operator==(const FileState&, const FileState&) = default;
  };
  struct Pass {
    std::optional<CollectError> error;  // the file could not be read (open, timeout, ...)
    ScanOutput scan;
    FileState state;
  };
  struct CacheEntry {
    FileState state;
    CollectResult result;
  };

  // Reader-thread side.
  CollectResult CollectNow(const Target& target, const KpiSettings& kpi,
                           std::chrono::milliseconds timeout, Deadline deadline);
  HistoryResult HistoryNow(const Target& target, const KpiSettings& kpi,
                           std::chrono::milliseconds timeout, Deadline deadline);
  // Reads the file once more if it changed while being read.
  Pass ReadFile(const KpiSettings& kpi, bool history, std::chrono::milliseconds timeout,
                Deadline deadline);
  CollectResult ToResult(const Pass& pass) const;
  void Remember(const Target& target, const KpiSettings& kpi, const Pass& pass);
  CollectError Error(ErrorKind kind, const std::string& what) const;

  template <typename Result, typename Callback>
  void Deliver(Callback done, Result result);

  std::string name_;
  std::string path_;
  char delimiter_ = ',';
  boost::asio::io_context& io_;
  std::shared_ptr<std::atomic<bool>> stopped_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<std::uint64_t> reads_{0};
  std::map<std::string, CacheEntry> cache_;  // reader thread only; key: the KPI's settings

  mutable std::mutex bad_rows_mutex_;
  std::map<std::string, BadRows> bad_rows_;  // by KPI name

  boost::asio::thread_pool thread_{1};  // last: stopped and joined before the rest goes
};

std::unique_ptr<Collector> Make(const config::Source& source, boost::asio::io_context& io);

}  // namespace kpid::collectors::csv
