// The CSV reader and the per-KPI scan on any bytes. The vectorized and byte-at-a-time
// parsers must agree at every chunking (as tests/collectors/csv/reader_test.cpp checks on
// random inputs); the scan then aggregates column "value", filtered by region = EU, with
// history on column "ts".
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/csv/reader.hpp"
#include "collectors/csv/scan.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace csv = kpid::collectors::csv;

namespace {

struct Row {
  std::vector<std::string> fields;
  std::uint64_t line = 0;
  csv::RecordError error = csv::RecordError::kNone;
  bool operator==(const Row&) const = default;
};

// Serves `text` `chunk` bytes at a time.
csv::ReadFn Chunks(std::string_view text, std::size_t chunk) {
  return [text, chunk, offset = std::size_t{0}](char* buffer,
                                                std::size_t capacity) mutable -> std::ptrdiff_t {
    const std::size_t n = std::min({chunk, capacity, text.size() - offset});
    std::copy_n(text.data() + offset, n, buffer);
    offset += n;
    return static_cast<std::ptrdiff_t>(n);
  };
}

std::vector<Row> ReadAll(std::string_view text, csv::ReaderOptions options, std::size_t chunk) {
  csv::Reader reader(Chunks(text, chunk), options);
  std::vector<Row> rows;
  csv::Record record;
  while (reader.Next(record) == csv::Reader::Status::kRecord) {
    Row row{{}, record.line, record.error};
    if (record.error == csv::RecordError::kNone) {
      for (const std::string_view field : record.fields) row.fields.emplace_back(field);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// ',' unless the first line has none but has ';', a tab or '|'.
char Delimiter(std::string_view text) {
  const std::string_view first = text.substr(0, text.find('\n'));
  if (first.find(',') != std::string_view::npos) return ',';
  for (const char c : {';', '\t', '|'}) {
    if (first.find(c) != std::string_view::npos) return c;
  }
  return ',';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const char delimiter = Delimiter(text);
  // Chunk sizes from the input's length, so every boundary gets tried across the corpus.
  const std::size_t chunk = 1 + size % 67;
  const csv::ReaderOptions slow{
      .delimiter = delimiter, .block_size = 16, .max_record_size = 512, .vectorized = false};
  csv::ReaderOptions fast = slow;
  fast.vectorized = true;
  const std::vector<Row> expected = ReadAll(text, slow, chunk);
  KPID_FUZZ_CHECK(ReadAll(text, fast, chunk) == expected, "vectorized == byte-at-a-time");
  fast.block_size = 256;
  KPID_FUZZ_CHECK(ReadAll(text, fast, size + 1) == expected, "same in bigger blocks");

  static const csv::Aggregate kAggregates[] = {csv::Aggregate::kLast, csv::Aggregate::kSum,
                                               csv::Aggregate::kAvg,  csv::Aggregate::kMin,
                                               csv::Aggregate::kMax,  csv::Aggregate::kCount};
  csv::KpiSettings kpi;
  kpi.column = "value";
  kpi.aggregate = kAggregates[size % 6];
  kpi.timestamp_column = "ts";
  if (size % 2 == 0) kpi.where = {{"region", "EU"}};
  // Small blocks: the default 1 MiB buffer would dominate the run time.
  csv::Reader reader(Chunks(text, chunk),
                     csv::ReaderOptions{.delimiter = delimiter, .block_size = 4096});
  const csv::ScanOutput out =
      csv::Scan(reader, kpi, csv::ScanOptions{.history = true, .max_history_rows = 64});
  KPID_FUZZ_CHECK(out.kept <= out.rows, "kept rows are rows");
  KPID_FUZZ_CHECK(out.history.size() <= 64, "history bounded");
  KPID_FUZZ_CHECK(!(out.error && out.value), "an error or a value");
  return 0;
}
