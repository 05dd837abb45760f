// Benchmark driver for the CSV collector, used by tests/bench/csv_bench.sh.
//   kpid_csv_bench generate FILE BYTES
//       writes a sales-like CSV of about BYTES bytes: date,region,product,orders,revenue
//   kpid_csv_bench run FILE COLUMN AGGREGATE [COLUMN=VALUE ...] [--repeat=N]
//       Collect() through the real collector (N times, default 1, each with a fresh
//       collector); prints the value, the best and median seconds, and MB/s
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "collectors/csv/collector.hpp"
#include "collectors/csv/settings.hpp"

namespace {

namespace chr = std::chrono;
using kpid::collectors::csv::Aggregate;

int Usage() {
  std::fprintf(stderr,
               "usage: kpid_csv_bench generate FILE BYTES\n"
               "       kpid_csv_bench run FILE COLUMN AGGREGATE [COLUMN=VALUE ...] [--repeat=N]\n");
  return 2;
}

void Append(std::string& out, std::uint64_t value, int width = 0) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;
  for (auto n = end - digits; n < width; ++n) out += '0';
  out.append(digits, end);
}

int Generate(const std::string& path, std::uint64_t bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return 1;
  }
  constexpr std::string_view kRegions[] = {"EU", "US", "APAC", "LATAM"};
  constexpr std::uint64_t kRowsPerDay = 1000;
  const chr::sys_days first = chr::sys_days(chr::year{2000} / 1 / 1);
  std::string block = "date,region,product,orders,revenue\n";
  std::uint64_t written = 0;
  std::uint64_t state = 42;
  for (std::uint64_t row = 0; written + block.size() < bytes; ++row) {
    state = state * 6364136223846793005u + 1442695040888963407u;  // LCG: reproducible data
    const std::uint64_t r = state >> 24;
    const chr::year_month_day day{first + chr::days(static_cast<int>(row / kRowsPerDay))};
    Append(block, static_cast<std::uint64_t>(static_cast<int>(day.year())), 4);
    block += '-';
    Append(block, static_cast<unsigned>(day.month()), 2);
    block += '-';
    Append(block, static_cast<unsigned>(day.day()), 2);
    block += ',';
    block += kRegions[r % 4];
    block += ',';
    if (r % 8 == 0) {  // some names quoted, as spreadsheet exports do
      block += "\"Widget ";
      Append(block, r % 1000);
      block += '"';
    } else {
      block += "p";
      Append(block, r % 1000);
    }
    block += ',';
    Append(block, (r >> 10) % 1000);
    block += ',';
    Append(block, (r >> 20) % 100000);
    block += '.';
    Append(block, (r >> 8) % 100, 2);
    block += '\n';
    if (block.size() >= (1u << 20)) {
      file.write(block.data(), static_cast<std::streamsize>(block.size()));
      written += block.size();
      block.clear();
    }
  }
  file.write(block.data(), static_cast<std::streamsize>(block.size()));
  return file ? 0 : 1;
}

int Run(const std::string& path, const std::string& column, const std::string& aggregate,
        const std::vector<std::string>& where, int repeat) {
  auto source_settings = std::make_shared<kpid::collectors::csv::SourceSettings>();
  source_settings->path = path;
  kpid::config::Source source;
  source.name = "bench";
  source.type = "csv";
  source.settings = source_settings;

  auto kpi = std::make_shared<kpid::collectors::csv::KpiSettings>();
  kpi->column = column;
  const std::pair<std::string_view, Aggregate> kAggregates[] = {
      {"last", Aggregate::kLast}, {"sum", Aggregate::kSum}, {"avg", Aggregate::kAvg},
      {"min", Aggregate::kMin},   {"max", Aggregate::kMax}, {"count", Aggregate::kCount}};
  bool known = false;
  for (const auto& [name, value] : kAggregates) {
    if (name == aggregate) {
      kpi->aggregate = value;
      known = true;
    }
  }
  if (!known) return Usage();
  for (const auto& condition : where) {
    const auto eq = condition.find('=');
    if (eq == std::string::npos) return Usage();
    kpi->where.emplace_back(condition.substr(0, eq), condition.substr(eq + 1));
  }

  // A fresh collector per run: the same one would answer from its cache.
  std::vector<double> times;
  kpid::collectors::CollectResult result;
  for (int run = 0; run < repeat; ++run) {
    boost::asio::io_context io;
    auto collector = kpid::collectors::csv::Make(source, io);
    auto work = boost::asio::make_work_guard(io);  // the result arrives from another thread
    const auto start = chr::steady_clock::now();
    collector->Collect({"bench", kpi}, chr::hours(1), [&](kpid::collectors::CollectResult r) {
      result = std::move(r);
      work.reset();
    });
    io.run();
    times.push_back(chr::duration<double>(chr::steady_clock::now() - start).count());
    collector->Stop();
    if (const auto* error = std::get_if<kpid::collectors::CollectError>(&result)) {
      std::fprintf(stderr, "error: %s\n", error->message.c_str());
      return 1;
    }
  }
  std::sort(times.begin(), times.end());
  const double best = times.front();
  const auto& sample = std::get<kpid::collectors::Sample>(result);
  const auto bytes = static_cast<double>(std::filesystem::file_size(path));
  std::printf("value=%.17g seconds=%.6f median_seconds=%.6f mb_per_s=%.1f runs=%d\n", sample.value,
              best, times[times.size() / 2], bytes / 1e6 / best, repeat);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "generate") {
    return Generate(args[1], std::strtoull(args[2].c_str(), nullptr, 10));
  }
  if (args.size() >= 4 && args[0] == "run") {
    int repeat = 1;
    std::vector<std::string> where;
    for (auto it = args.begin() + 4; it != args.end(); ++it) {
      if (it->starts_with("--repeat=")) {
        repeat = std::max(1, std::atoi(it->c_str() + 9));
      } else {
        where.push_back(*it);
      }
    }
    return Run(args[1], args[2], args[3], where, repeat);
  }
  return Usage();
}
