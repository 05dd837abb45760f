// The csv collector end to end: real files in a temp dir, Collect() on an io_context.
#include "collectors/csv/collector.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <variant>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/process.hpp"

namespace kpid::collectors::csv {
namespace {

namespace chr = std::chrono;
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr auto kTimeout = chr::milliseconds(30'000);

Clock::time_point Utc(int y, unsigned m, unsigned d) {
  return Clock::time_point(
      chr::sys_days(chr::year{y} / chr::month{m} / chr::day{d}).time_since_epoch());
}

Clock::time_point MtimeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return Clock::time_point(chr::duration_cast<Clock::duration>(
      chr::seconds(st.st_mtim.tv_sec) + chr::nanoseconds(st.st_mtim.tv_nsec)));
}

// One write(2): readers see the old or the new content of a small file, never half of it.
void WriteAtomically(const fs::path& path, const std::string& content, int flags = O_TRUNC) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);
}

// Moves the mtime one second on, so that a rewrite within one timestamp tick is visible.
void Touch(const fs::path& path) {
  const auto mtime = MtimeOf(path) + chr::seconds(1);
  const auto ns = chr::duration_cast<chr::nanoseconds>(mtime.time_since_epoch()).count();
  const timespec times[2] = {{0, UTIME_OMIT}, {ns / 1'000'000'000, ns % 1'000'000'000}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

class CsvCollectorTest : public ::testing::Test {
 protected:
  std::unique_ptr<CsvCollector> MakeCollector(const fs::path& path, char delimiter = ',') {
    auto settings = std::make_shared<SourceSettings>();
    settings->path = path.string();
    settings->delimiter = delimiter;
    config::Source source;
    source.name = "finance";
    source.type = "csv";
    source.settings = settings;
    auto collector = Make(source, io_);
    return std::unique_ptr<CsvCollector>(dynamic_cast<CsvCollector*>(collector.release()));
  }

  static Target Kpi(std::string name, std::string column, Aggregate aggregate,
                    config::StringPairs where = {}, std::string timestamp_column = "") {
    auto kpi = std::make_shared<KpiSettings>();
    kpi->column = std::move(column);
    kpi->aggregate = aggregate;
    kpi->where = std::move(where);
    kpi->timestamp_column = std::move(timestamp_column);
    return Target{std::move(name), kpi};
  }

  CollectResult Collect(Collector& collector, const Target& target,
                        chr::milliseconds timeout = kTimeout) {
    std::optional<CollectResult> result;
    auto work = boost::asio::make_work_guard(io_);
    bool inside_collect = true;
    collector.Collect(target, timeout, [&](CollectResult r) {
      EXPECT_FALSE(inside_collect) << "done called from inside Collect()";
      result = std::move(r);
      work.reset();
    });
    inside_collect = false;
    io_.restart();
    io_.run_for(chr::seconds(60));  // failure guard only
    EXPECT_TRUE(result.has_value());
    return result.value_or(CollectError{ErrorKind::kInternal, "no result"});
  }

  HistoryResult CollectHistory(Collector& collector, const Target& target) {
    std::optional<HistoryResult> result;
    auto work = boost::asio::make_work_guard(io_);
    collector.CollectHistory(target, kTimeout, [&](HistoryResult r) {
      result = std::move(r);
      work.reset();
    });
    io_.restart();
    io_.run_for(chr::seconds(60));
    EXPECT_TRUE(result.has_value());
    return result.value_or(CollectError{ErrorKind::kInternal, "no result"});
  }

  static Sample ValueOf(const CollectResult& result) {
    if (const auto* error = std::get_if<CollectError>(&result)) {
      ADD_FAILURE() << "unexpected error: " << error->message;
      return {};
    }
    return std::get<Sample>(result);
  }

  static CollectError ErrorOf(const CollectResult& result) {
    if (const auto* sample = std::get_if<Sample>(&result)) {
      ADD_FAILURE() << "unexpected value " << sample->value;
      return {};
    }
    return std::get<CollectError>(result);
  }

  testing::TempDir dir_;
  boost::asio::io_context io_;
};

constexpr std::string_view kOrders =
    "date,region,orders\n"
    "2026-01-03,EU,5\n"
    "2026-01-01,EU,3\n"
    "2026-01-02,US,10\n"
    "2026-01-02,EU,4\n";

TEST_F(CsvCollectorTest, CollectsEveryAggregateFromARealFile) {
  const fs::path path = dir_.Write("orders.csv", std::string(kOrders));
  auto collector = MakeCollector(path);
  const config::StringPairs eu = {{"region", "EU"}};
  EXPECT_EQ(ValueOf(Collect(*collector, Kpi("a", "orders", Aggregate::kSum, eu))).value, 12);
  EXPECT_EQ(ValueOf(Collect(*collector, Kpi("b", "orders", Aggregate::kAvg, eu))).value, 4);
  EXPECT_EQ(ValueOf(Collect(*collector, Kpi("c", "orders", Aggregate::kMin, eu))).value, 3);
  EXPECT_EQ(ValueOf(Collect(*collector, Kpi("d", "orders", Aggregate::kMax, eu))).value, 5);
  EXPECT_EQ(ValueOf(Collect(*collector, Kpi("e", "orders", Aggregate::kCount, eu))).value, 3);
  const Sample last = ValueOf(Collect(*collector, Kpi("f", "orders", Aggregate::kLast, eu)));
  EXPECT_EQ(last.value, 4);
  EXPECT_EQ(last.timestamp, MtimeOf(path));  // no timestamp column: the file's mtime
  const Sample newest =
      ValueOf(Collect(*collector, Kpi("g", "orders", Aggregate::kLast, eu, "date")));
  EXPECT_EQ(newest, (Sample{5, Utc(2026, 1, 3)}));
}

TEST_F(CsvCollectorTest, ReadsBomCrlfAndTabs) {
  const fs::path path = dir_.Write("tabs.tsv",
                                   "\xEF\xBB\xBF"
                                   "day\tname\tvalue\r\n2026-01-01\t\"a\tb\"\t1.5\r\n"
                                   "2026-01-02\tc\t2.5\r\n");
  auto collector = MakeCollector(path, '\t');
  EXPECT_EQ(
      ValueOf(Collect(*collector, Kpi("k", "value", Aggregate::kSum, {{"name", "a\tb"}}))).value,
      1.5);
  EXPECT_EQ(ValueOf(Collect(*collector, Kpi("k", "value", Aggregate::kLast, {}, "day"))),
            (Sample{2.5, Utc(2026, 1, 2)}));
}

TEST_F(CsvCollectorTest, UnchangedFileIsNotReread) {
  const fs::path path = dir_.Write("orders.csv", std::string(kOrders));
  auto collector = MakeCollector(path);
  const Target sum = Kpi("eu_orders", "orders", Aggregate::kSum, {{"region", "EU"}});
  EXPECT_EQ(ValueOf(Collect(*collector, sum)).value, 12);
  EXPECT_EQ(ValueOf(Collect(*collector, sum)).value, 12);
  EXPECT_EQ(collector->reads(), 1u);
  // Another KPI with the same settings shares the cached result; other settings read.
  EXPECT_EQ(ValueOf(Collect(*collector, Kpi("same", "orders", Aggregate::kSum, {{"region", "EU"}})))
                .value,
            12);
  EXPECT_EQ(collector->reads(), 1u);
  EXPECT_EQ(ValueOf(Collect(*collector, Kpi("all", "orders", Aggregate::kSum))).value, 22);
  EXPECT_EQ(collector->reads(), 2u);
  EXPECT_EQ(ValueOf(Collect(*collector, sum)).value, 12);
  EXPECT_EQ(collector->reads(), 2u);
}

TEST_F(CsvCollectorTest, RewrittenFileIsReread) {
  const fs::path path = dir_.Write("orders.csv", std::string(kOrders));
  auto collector = MakeCollector(path);
  const Target sum = Kpi("eu_orders", "orders", Aggregate::kSum, {{"region", "EU"}});
  EXPECT_EQ(ValueOf(Collect(*collector, sum)).value, 12);
  WriteAtomically(path, "date,region,orders\n2026-01-04,EU,100\n");
  EXPECT_EQ(ValueOf(Collect(*collector, sum)).value, 100);
  EXPECT_EQ(collector->reads(), 2u);
  // Same size, same inode: the mtime tells.
  WriteAtomically(path, "date,region,orders\n2026-01-04,EU,200\n");
  Touch(path);
  EXPECT_EQ(ValueOf(Collect(*collector, sum)).value, 200);
  EXPECT_EQ(collector->reads(), 3u);
}

TEST_F(CsvCollectorTest, TruncatedAndRegrownFile) {
  const fs::path path = dir_.Write("orders.csv", std::string(kOrders));
  auto collector = MakeCollector(path);
  const Target sum = Kpi("eu_orders", "orders", Aggregate::kSum, {{"region", "EU"}});
  EXPECT_EQ(ValueOf(Collect(*collector, sum)).value, 12);
  fs::resize_file(path, 0);
  const CollectError empty = ErrorOf(Collect(*collector, sum));
  EXPECT_EQ(empty.kind, ErrorKind::kEmpty);
  EXPECT_EQ(empty.message,
            "source \"finance\" (csv): " + path.string() + " is empty (no header row)");
  WriteAtomically(path, "date,region,orders\n", O_APPEND);
  EXPECT_EQ(ErrorOf(Collect(*collector, sum)).kind, ErrorKind::kEmpty);
  WriteAtomically(path, "2026-02-01,EU,7\n", O_APPEND);
  EXPECT_EQ(ValueOf(Collect(*collector, sum)).value, 7);
}

TEST_F(CsvCollectorTest, RotatedFileIsFollowedByPath) {
  const fs::path path = dir_.Write("orders.csv", std::string(kOrders));
  auto collector = MakeCollector(path);
  const Target sum = Kpi("eu_orders", "orders", Aggregate::kSum, {{"region", "EU"}});
  EXPECT_EQ(ValueOf(Collect(*collector, sum)).value, 12);
  fs::rename(path, dir_.path() / "orders.csv.1");
  const fs::path next =
      dir_.Write("orders.csv.tmp", std::string(kOrders));  // same size and content...
  WriteAtomically(next, "date,region,orders\n2026-01-09,EU,9\n2026-01-10,EU,1\n2026-01-11,US,1\n");
  fs::rename(next, path);
  EXPECT_EQ(ValueOf(Collect(*collector, sum)).value, 10);
  EXPECT_EQ(collector->reads(), 2u);
}

TEST_F(CsvCollectorTest, MissingFileThenCreated) {
  const fs::path path = dir_.path() / "later.csv";
  auto collector = MakeCollector(path);
  const Target sum = Kpi("eu_orders", "orders", Aggregate::kSum);
  const CollectError missing = ErrorOf(Collect(*collector, sum));
  EXPECT_EQ(missing.kind, ErrorKind::kConnect);
  EXPECT_EQ(missing.message, "source \"finance\" (csv): cannot open " + path.string() +
                                 ": No such file or directory");
  dir_.Write("later.csv", std::string(kOrders));
  EXPECT_EQ(ValueOf(Collect(*collector, sum)).value, 22);
}

TEST_F(CsvCollectorTest, DirectoryAndUnreadableFile) {
  auto dir_collector = MakeCollector(dir_.path());
  const CollectError directory = ErrorOf(Collect(*dir_collector, Kpi("k", "v", Aggregate::kSum)));
  EXPECT_EQ(directory.kind, ErrorKind::kConnect);
  EXPECT_THAT(directory.message, HasSubstr("not a regular file"));

  if (::geteuid() == 0) GTEST_SKIP() << "running as root: file permissions do not apply";
  const fs::path path = dir_.Write("secret.csv", std::string(kOrders));
  fs::permissions(path, fs::perms::none);
  auto collector = MakeCollector(path);
  const CollectError denied = ErrorOf(Collect(*collector, Kpi("k", "orders", Aggregate::kSum)));
  EXPECT_EQ(denied.kind, ErrorKind::kAuth);
  EXPECT_THAT(denied.message, HasSubstr("Permission denied"));
}

TEST_F(CsvCollectorTest, MissingColumnNamesSourceFileAndHeader) {
  const fs::path path = dir_.Write("orders.csv", std::string(kOrders));
  auto collector = MakeCollector(path);
  const CollectError error = ErrorOf(Collect(*collector, Kpi("k", "revenue", Aggregate::kSum)));
  EXPECT_EQ(error.kind, ErrorKind::kParse);
  EXPECT_EQ(error.message, "source \"finance\" (csv): column \"revenue\" not in header of " +
                               path.string() + " (columns: \"date\", \"region\", \"orders\")");
}

TEST_F(CsvCollectorTest, MalformedRowsAreReportedNotFatal) {
  const fs::path path = dir_.Write(
      "orders.csv", "date,region,orders\n2026-01-01,EU,1\n2026-01-02,EU\n2026-01-03,EU,x\n");
  auto collector = MakeCollector(path);
  EXPECT_EQ(collector->LastBadRows("k"), std::nullopt);
  EXPECT_EQ(ValueOf(Collect(*collector, Kpi("k", "orders", Aggregate::kSum))).value, 1);
  const auto bad = collector->LastBadRows("k");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->count, 2u);
  EXPECT_EQ(bad->first, "line 3: 2 fields, header has 3");

  WriteAtomically(path, "date,region,orders\n2026-01-02,EU\n");
  const CollectError error = ErrorOf(Collect(*collector, Kpi("k", "orders", Aggregate::kSum)));
  EXPECT_EQ(error.kind, ErrorKind::kParse);
  EXPECT_THAT(error.message, HasSubstr("first at line 2: 2 fields, header has 3"));
}

TEST_F(CsvCollectorTest, History) {
  const fs::path path = dir_.Write("orders.csv", std::string(kOrders) + "oops,EU,1\n");
  auto collector = MakeCollector(path);
  const Target with_time = Kpi("k", "orders", Aggregate::kLast, {{"region", "EU"}}, "date");
  const Target without = Kpi("k", "orders", Aggregate::kLast, {{"region", "EU"}});
  EXPECT_TRUE(collector->HasHistory(with_time));
  EXPECT_FALSE(collector->HasHistory(without));

  const HistoryResult result = CollectHistory(*collector, with_time);
  ASSERT_TRUE(std::holds_alternative<History>(result)) << std::get<CollectError>(result).message;
  const auto& history = std::get<History>(result);
  EXPECT_THAT(history.samples,
              ::testing::ElementsAre(Sample{3, Utc(2026, 1, 1)}, Sample{4, Utc(2026, 1, 2)},
                                     Sample{5, Utc(2026, 1, 3)}));
  EXPECT_EQ(history.bad_rows, 1u);
  EXPECT_THAT(history.first_bad_row, StartsWith("line 6: \"oops\""));

  const HistoryResult none = CollectHistory(*collector, without);
  ASSERT_TRUE(std::holds_alternative<CollectError>(none));
  EXPECT_EQ(std::get<CollectError>(none).kind, ErrorKind::kQuery);

  const HistoryResult empty =
      CollectHistory(*collector, Kpi("k", "orders", Aggregate::kSum, {{"region", "MARS"}}, "date"));
  ASSERT_TRUE(std::holds_alternative<History>(empty));
  EXPECT_TRUE(std::get<History>(empty).samples.empty());
}

// A file of `bytes` bytes or more, for reads that take a while.
fs::path BigFile(const testing::TempDir& dir, std::size_t bytes) {
  fs::path path = dir.path() / "big.csv";
  std::ofstream out(path, std::ios::binary);
  out << "k,v\n";
  std::string block;
  for (int i = 0; i < 10000; ++i)
    block += "row" + std::to_string(i) + "," + std::to_string(i) + "\n";
  for (std::size_t written = 0; written < bytes; written += block.size()) out << block;
  return path;
}

TEST_F(CsvCollectorTest, SlowReadTimesOut) {
  const fs::path path = BigFile(dir_, 64 << 20);
  auto collector = MakeCollector(path);
  const CollectError error =
      ErrorOf(Collect(*collector, Kpi("k", "v", Aggregate::kSum), chr::milliseconds(1)));
  EXPECT_EQ(error.kind, ErrorKind::kTimeout);
  EXPECT_EQ(error.message, "source \"finance\" (csv): timeout after 1ms reading " + path.string());
  // A timed-out read is not cached: with time enough, the value comes.
  EXPECT_EQ(ValueOf(Collect(*collector, Kpi("k", "v", Aggregate::kMax))).value, 9999);
}

TEST_F(CsvCollectorTest, StopDropsPendingCallbacks) {
  const fs::path path = dir_.Write("orders.csv", std::string(kOrders));
  auto collector = MakeCollector(path);
  bool called = false;
  collector->Collect(Kpi("k", "orders", Aggregate::kSum), kTimeout,
                     [&](const CollectResult&) { called = true; });
  collector->CollectHistory(Kpi("k", "orders", Aggregate::kSum, {}, "date"), kTimeout,
                            [&](const HistoryResult&) { called = true; });
  collector->Stop();
  collector.reset();  // joins the reader thread: whatever it posted is now queued on io_
  io_.run();
  EXPECT_FALSE(called);
}

TEST_F(CsvCollectorTest, DestroyedWhileReading) {
  const fs::path path = BigFile(dir_, 64 << 20);
  bool called = false;
  {
    auto collector = MakeCollector(path);
    collector->Collect(Kpi("k", "v", Aggregate::kSum), kTimeout,
                       [&](const CollectResult&) { called = true; });
    std::this_thread::sleep_for(chr::milliseconds(5));  // let the read start; not asserted
  }
  io_.run();
  EXPECT_FALSE(called);
}

// A writer truncates, rewrites, appends and renames the file in a loop while the collector
// reads it: every result must be an error or the sum of one complete version of the file
// (a read mixing two versions would give a sum the writer never wrote).
TEST_F(CsvCollectorTest, FileRewrittenWhileBeingRead) {
  const fs::path path = dir_.path() / "live.csv";
  const fs::path tmp = dir_.path() / "live.csv.tmp";
  std::mutex mutex;
  std::set<double> sums;  // of every version written or about to be
  double final_sum = 0;
  auto version = [&](int v, int rows, bool header = true) {
    std::string text = header ? "date,region,orders\n" : "";
    for (int i = 0; i < rows; ++i) text += "2026-01-01,EU," + std::to_string(1000 + v) + "\n";
    return text;
  };
  auto expect = [&](double sum) {
    const std::lock_guard lock(mutex);
    sums.insert(sum);
    final_sum = sum;
  };
  expect(10 * 1000);
  WriteAtomically(path, version(0, 10));
  std::atomic<bool> stop = false;
  std::thread writer([&] {
    int rotated_rows = 0;
    for (int v = 1; !stop; ++v) {
      switch (v % 4) {
        case 0: {  // rewrite in place
          const int rows = 1 + v % 50;
          expect(rows * (1000.0 + v));
          WriteAtomically(path, version(v, rows));
          break;
        }
        case 1: {  // truncate, then write
          const int rows = 1 + v % 70;
          ::truncate(path.c_str(), 0);
          expect(rows * (1000.0 + v));
          WriteAtomically(path, version(v, rows));
          break;
        }
        case 2: {  // rotate: a new file renamed over the old one
          rotated_rows = 1 + v % 30;
          expect(rotated_rows * (1000.0 + v));
          WriteAtomically(tmp, version(v, rotated_rows));
          ::rename(tmp.c_str(), path.c_str());
          break;
        }
        default:  // grow: more rows of the rotated version
          expect((rotated_rows + 5) * (1000.0 + v - 1));
          WriteAtomically(path, version(v - 1, 5, false), O_APPEND);
          break;
      }
    }
  });
  auto collector = MakeCollector(path);
  const Target target = Kpi("k", "orders", Aggregate::kSum);
  int values = 0;
  int errors = 0;
  std::map<std::string, int> error_kinds;
  const auto until = chr::steady_clock::now() + chr::milliseconds(1500);
  while (chr::steady_clock::now() < until) {
    const CollectResult result = Collect(*collector, target);
    if (const auto* sample = std::get_if<Sample>(&result)) {
      ++values;
      const std::lock_guard lock(mutex);
      EXPECT_TRUE(sums.contains(sample->value)) << "a sum never written: " << sample->value;
    } else {
      ++errors;
      const auto& error = std::get<CollectError>(result);
      if (error_kinds[std::string(ErrorKindName(error.kind))]++ == 0) {
        RecordProperty("first_" + std::string(ErrorKindName(error.kind)), error.message);
      }
      EXPECT_THAT(error.kind,
                  ::testing::AnyOf(ErrorKind::kEmpty, ErrorKind::kParse, ErrorKind::kConnect))
          << error.message;
    }
  }
  stop = true;
  writer.join();
  // Settled: the final version. (A same-size rewrite within one timestamp tick onto a
  // reused inode would look unchanged; the touch rules that out here.)
  Touch(path);
  EXPECT_EQ(ValueOf(Collect(*collector, target)).value, final_sum);
  RecordProperty("values", values);
  RecordProperty("errors", errors);
  for (const auto& [kind, count] : error_kinds) RecordProperty(kind, count);
}

}  // namespace
}  // namespace kpid::collectors::csv
