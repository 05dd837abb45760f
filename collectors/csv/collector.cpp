#include "collectors/csv/collector.hpp"

#include <cerrno>
#include <exception>
#include <system_error>
#include <utility>

#include <boost/asio/post.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collectors/csv/reader.hpp"
#include "daemon/config/duration.hpp"

namespace kpid::collectors::csv {
namespace {

namespace chr = std::chrono;

std::int64_t Nanoseconds(const timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + static_cast<std::int64_t>(t.tv_nsec);
}

std::string ErrnoText(int error) { return std::system_category().message(error); }

// Closes a descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// The cache key: everything in a KPI's settings that changes the result.
std::string CacheKey(const KpiSettings& kpi) {
  std::string key = kpi.column;
  key += '\0';
  key += kpi.timestamp_column;
  key += '\0';
  key += std::to_string(static_cast<int>(kpi.aggregate));
  for (const auto& [column, value] : kpi.where) {
    key += '\0';
    key += column;
    key += '\0';
    key += value;
  }
  return key;
}

}  // namespace

CsvCollector::CsvCollector(const config::Source& source, boost::asio::io_context& io)
    : name_(source.name), io_(io) {
  if (const auto* settings = dynamic_cast<const SourceSettings*>(source.settings.get())) {
    path_ = settings->path;
    delimiter_ = settings->delimiter;
  }
}

CsvCollector::~CsvCollector() {
  stopped_->store(true);
  thread_.stop();
  thread_.join();
}

void CsvCollector::Stop() { stopped_->store(true); }

std::optional<CsvCollector::BadRows> CsvCollector::LastBadRows(const std::string& kpi) const {
  const std::lock_guard lock(bad_rows_mutex_);
  const auto it = bad_rows_.find(kpi);
  if (it == bad_rows_.end()) return std::nullopt;
  return it->second;
}

template <typename Result, typename Callback>
void CsvCollector::Deliver(Callback done, Result result) {
  boost::asio::post(
      io_, [stopped = stopped_, done = std::move(done), result = std::move(result)]() mutable {
        if (!stopped->load()) done(std::move(result));
      });
}

CollectError CsvCollector::Error(ErrorKind kind, const std::string& what) const {
  return CollectError{kind, "source \"" + name_ + "\" (csv): " + what};
}

void CsvCollector::Collect(const Target& target, chr::milliseconds timeout, Done done) {
  Deadline deadline;
  if (timeout > chr::milliseconds::zero()) deadline = chr::steady_clock::now() + timeout;
  boost::asio::post(thread_, [this, target, timeout, deadline, done = std::move(done)]() mutable {
    CollectResult result;
    try {
      const auto* kpi = dynamic_cast<const KpiSettings*>(target.settings.get());
      result = kpi != nullptr
                   ? CollectNow(target, *kpi, timeout, deadline)
                   : Error(ErrorKind::kInternal, "KPI \"" + target.kpi + "\" has no csv settings");
    } catch (const std::exception& e) {
      result = Error(ErrorKind::kInternal, e.what());
    } catch (...) {
      result = Error(ErrorKind::kInternal, "unknown failure");
    }
    Deliver(std::move(done), std::move(result));
  });
}

bool CsvCollector::HasHistory(const Target& target) const {
  const auto* kpi = dynamic_cast<const KpiSettings*>(target.settings.get());
  return kpi != nullptr && !kpi->timestamp_column.empty();
}

void CsvCollector::CollectHistory(const Target& target, chr::milliseconds timeout,
                                  HistoryDone done) {
  if (!HasHistory(target)) {
    Deliver(std::move(done),
            HistoryResult(Error(ErrorKind::kQuery, "KPI \"" + target.kpi +
                                                       "\" has no timestamp_column, "
                                                       "so no history")));
    return;
  }
  Deadline deadline;
  if (timeout > chr::milliseconds::zero()) deadline = chr::steady_clock::now() + timeout;
  boost::asio::post(thread_, [this, target, timeout, deadline, done = std::move(done)]() mutable {
    HistoryResult result;
    try {
      result =
          HistoryNow(target, dynamic_cast<const KpiSettings&>(*target.settings), timeout, deadline);
    } catch (const std::exception& e) {
      result = Error(ErrorKind::kInternal, e.what());
    } catch (...) {
      result = Error(ErrorKind::kInternal, "unknown failure");
    }
    Deliver(std::move(done), std::move(result));
  });
}

CollectResult CsvCollector::CollectNow(const Target& target, const KpiSettings& kpi,
                                       chr::milliseconds timeout, Deadline deadline) {
  if (path_.empty()) return Error(ErrorKind::kInternal, "source has no csv settings");
  const std::string key = CacheKey(kpi);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    const FileState state{st.st_dev, st.st_ino, st.st_size, Nanoseconds(st.st_mtim),
                          Nanoseconds(st.st_ctim)};
    const auto it = cache_.find(key);
    if (it != cache_.end() && it->second.state == state) return it->second.result;
  }
  const Pass pass = ReadFile(kpi, false, timeout, deadline);
  Remember(target, kpi, pass);
  return ToResult(pass);
}

HistoryResult CsvCollector::HistoryNow(const Target& target, const KpiSettings& kpi,
                                       chr::milliseconds timeout, Deadline deadline) {
  if (path_.empty()) return Error(ErrorKind::kInternal, "source has no csv settings");
  Pass pass = ReadFile(kpi, true, timeout, deadline);
  Remember(target, kpi, pass);
  if (pass.error) return *pass.error;
  if (pass.scan.history_error)
    return Error(pass.scan.history_error->kind, pass.scan.history_error->message);
  History history;
  history.bad_rows = pass.scan.bad_rows;
  history.first_bad_row = pass.scan.first_bad_row;
  if (pass.scan.error) {
    // No rows to aggregate is an empty history; anything structural is an error.
    const ErrorKind kind = pass.scan.error->kind;
    const bool no_rows =
        kind == ErrorKind::kEmpty ||
        (kind == ErrorKind::kParse && pass.scan.bad_rows > 0 && pass.scan.kept == 0);
    if (!no_rows) return Error(kind, pass.scan.error->message);
    return history;
  }
  history.samples = std::move(pass.scan.history);
  return history;
}

void CsvCollector::Remember(const Target& target, const KpiSettings& kpi, const Pass& pass) {
  if (pass.error) return;
  cache_[CacheKey(kpi)] = CacheEntry{pass.state, ToResult(pass)};
  const std::lock_guard lock(bad_rows_mutex_);
  bad_rows_[target.kpi] = BadRows{pass.scan.bad_rows, pass.scan.first_bad_row};
}

CollectResult CsvCollector::ToResult(const Pass& pass) const {
  if (pass.error) return *pass.error;
  if (pass.scan.error) return Error(pass.scan.error->kind, pass.scan.error->message);
  const auto mtime =
      Clock::time_point(chr::duration_cast<Clock::duration>(chr::nanoseconds(pass.state.mtime_ns)));
  return Sample{*pass.scan.value, pass.scan.timestamp.value_or(mtime)};
}

CsvCollector::Pass CsvCollector::ReadFile(const KpiSettings& kpi, bool history,
                                          chr::milliseconds timeout, Deadline deadline) {
  for (int attempt = 0;; ++attempt) {
    Pass pass;
    const Fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      const int error = errno;
      const ErrorKind kind =
          error == EACCES || error == EPERM ? ErrorKind::kAuth : ErrorKind::kConnect;
      pass.error = Error(kind, "cannot open " + path_ + ": " + ErrnoText(error));
      return pass;
    }
    struct stat before {};
    if (::fstat(fd.get(), &before) != 0 || !S_ISREG(before.st_mode)) {
      pass.error = Error(ErrorKind::kConnect, "cannot read " + path_ + ": not a regular file");
      return pass;
    }
    pass.state = FileState{before.st_dev, before.st_ino, before.st_size,
                           Nanoseconds(before.st_mtim), Nanoseconds(before.st_ctim)};
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    ++reads_;

    enum class Abort { kNone, kStopped, kTimeout, kIo } abort = Abort::kNone;
    int read_error = 0;
    Reader reader(
        [&](char* buffer, std::size_t capacity) -> std::ptrdiff_t {
          if (stopped_->load(std::memory_order_relaxed)) {
            abort = Abort::kStopped;
            return -1;
          }
          if (deadline && chr::steady_clock::now() > *deadline) {
            abort = Abort::kTimeout;
            return -1;
          }
          for (;;) {
            const ssize_t n = ::read(fd.get(), buffer, capacity);
            if (n >= 0) return n;
            if (errno != EINTR) {
              read_error = errno;
              abort = Abort::kIo;
              return -1;
            }
          }
        },
        ReaderOptions{.delimiter = delimiter_});
    pass.scan = Scan(reader, kpi, ScanOptions{.history = history, .path = path_});
    switch (abort) {
      case Abort::kNone:
        break;
      case Abort::kStopped:
        pass.error = Error(ErrorKind::kInternal, "stopped");
        return pass;
      case Abort::kTimeout:
        pass.error = Error(ErrorKind::kTimeout, "timeout after " + config::FormatDuration(timeout) +
                                                    " reading " + path_);
        return pass;
      case Abort::kIo:
        pass.error =
            Error(ErrorKind::kConnect, "cannot read " + path_ + ": " + ErrnoText(read_error));
        return pass;
    }

    // A writer that truncated, appended or replaced the file during the pass makes the
    // result a mix of two versions: read again, once.
    struct stat after_fd {};
    struct stat after_path {};
    const bool changed = ::fstat(fd.get(), &after_fd) != 0 ||
                         ::stat(path_.c_str(), &after_path) != 0 ||
                         after_fd.st_size != before.st_size ||
                         Nanoseconds(after_fd.st_mtim) != Nanoseconds(before.st_mtim) ||
                         after_path.st_ino != before.st_ino || after_path.st_dev != before.st_dev ||
                         after_path.st_size != before.st_size ||
                         Nanoseconds(after_path.st_mtim) != Nanoseconds(before.st_mtim);
    if (!changed) return pass;
    if (attempt == 1) {
      pass.error = Error(ErrorKind::kParse, path_ + " changed while being read, twice in a row");
      return pass;
    }
  }
}

std::unique_ptr<Collector> Make(const config::Source& source, boost::asio::io_context& io) {
  return std::make_unique<CsvCollector>(source, io);
}

}  // namespace kpid::collectors::csv
