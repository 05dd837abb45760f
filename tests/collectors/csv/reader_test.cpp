#include "collectors/csv/reader.hpp"

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kpid::collectors::csv {
namespace {

using ::testing::ElementsAre;

struct Row {
  std::vector<std::string> fields;
  std::uint64_t line = 0;
  RecordError error = RecordError::kNone;
  friend bool operator==(const Row&, const Row&) = default;
};

void PrintTo(const Row& row, std::ostream* os) {
  *os << "line " << row.line << " error " << static_cast<int>(row.error) << " [";
  for (const auto& f : row.fields) *os << '<' << f << '>';
  *os << ']';
}

Row R(std::uint64_t line, std::vector<std::string> fields) { return Row{std::move(fields), line}; }
Row Bad(std::uint64_t line, RecordError error) { return Row{{}, line, error}; }

struct Result {
  std::vector<Row> rows;
  Reader::Status end = Reader::Status::kEnd;
};

// Serves `text` `chunk` bytes at a time, so records straddle every possible boundary.
Result ReadAll(const std::string& text, ReaderOptions options, std::size_t chunk) {
  std::size_t offset = 0;
  Reader reader(
      [&](char* buffer, std::size_t capacity) -> std::ptrdiff_t {
        const std::size_t n = std::min({chunk, capacity, text.size() - offset});
        std::copy_n(text.data() + offset, n, buffer);
        offset += n;
        return static_cast<std::ptrdiff_t>(n);
      },
      options);
  Result result;
  Record record;
  Reader::Status status;
  while ((status = reader.Next(record)) == Reader::Status::kRecord) {
    Row row{{}, record.line, record.error};
    if (record.error == RecordError::kNone) {
      for (const auto field : record.fields) row.fields.emplace_back(field);
    }
    result.rows.push_back(std::move(row));
  }
  result.end = status;
  return result;
}

// (vectorized, chunk size): every test runs on both parsers and several chunk sizes.
class ReaderTest : public ::testing::TestWithParam<std::tuple<bool, std::size_t>> {
 protected:
  std::vector<Row> Read(const std::string& text, char delimiter = ',') {
    ReaderOptions options;
    options.delimiter = delimiter;
    options.vectorized = std::get<0>(GetParam());
    options.block_size = 64;  // small blocks: many refills and buffer moves
    const Result result = ReadAll(text, options, std::get<1>(GetParam()));
    EXPECT_EQ(result.end, Reader::Status::kEnd);
    return result.rows;
  }
};

TEST_P(ReaderTest, PlainRows) {
  EXPECT_THAT(Read("date,region,orders\n2026-01-01,EU,5\n2026-01-02,US,7\n"),
              ElementsAre(R(1, {"date", "region", "orders"}), R(2, {"2026-01-01", "EU", "5"}),
                          R(3, {"2026-01-02", "US", "7"})));
}

TEST_P(ReaderTest, QuotedFieldsWithDelimitersQuotesAndNewlines) {
  EXPECT_THAT(Read("a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\n\"\",\"\"\"\",z\nlast,1,2\n"),
              ElementsAre(R(1, {"a", "b", "c"}), R(2, {"x,y", "say \"hi\"", "two\nlines"}),
                          R(4, {"", "\"", "z"}), R(5, {"last", "1", "2"})));
}

TEST_P(ReaderTest, CrLfLineEnds) {
  EXPECT_THAT(Read("a,b\r\n1,\"q\"\r\n\"multi\r\nline\",2\r\n"),
              ElementsAre(R(1, {"a", "b"}), R(2, {"1", "q"}), R(3, {"multi\r\nline", "2"})));
}

TEST_P(ReaderTest, ByteOrderMarkIsSkipped) {
  EXPECT_THAT(Read("\xEF\xBB\xBF"
                   "date,v\n1,2\n"),
              ElementsAre(R(1, {"date", "v"}), R(2, {"1", "2"})));
  EXPECT_THAT(Read("\xEF\xBB\xBF"), ElementsAre());
  EXPECT_THAT(Read("\xEF\xBB"), ElementsAre(R(1, {"\xEF\xBB"})));
}

TEST_P(ReaderTest, TabAndSemicolonDelimiters) {
  EXPECT_THAT(Read("a\tb\n1,5\t\"x\ty\"\n", '\t'),
              ElementsAre(R(1, {"a", "b"}), R(2, {"1,5", "x\ty"})));
  EXPECT_THAT(Read("a;b\n1,5;2\n", ';'), ElementsAre(R(1, {"a", "b"}), R(2, {"1,5", "2"})));
}

TEST_P(ReaderTest, EmptyFields) {
  EXPECT_THAT(Read("a,b,c\n,,\n1,,\n,,3\n\"\",,\"\"\n"),
              ElementsAre(R(1, {"a", "b", "c"}), R(2, {"", "", ""}), R(3, {"1", "", ""}),
                          R(4, {"", "", "3"}), R(5, {"", "", ""})));
}

TEST_P(ReaderTest, ShortAndLongRowsKeepTheirLineNumbers) {
  // Field counts are the caller's to check; the reader reports what is there.
  EXPECT_THAT(Read("a,b,c\n1,2\n\"x\ny\",2,3,4\n5,6,7\n"),
              ElementsAre(R(1, {"a", "b", "c"}), R(2, {"1", "2"}), R(3, {"x\ny", "2", "3", "4"}),
                          R(5, {"5", "6", "7"})));
}

TEST_P(ReaderTest, NoTrailingNewline) {
  EXPECT_THAT(Read("a,b\n1,2"), ElementsAre(R(1, {"a", "b"}), R(2, {"1", "2"})));
  EXPECT_THAT(Read("a,b\n1,\"2\""), ElementsAre(R(1, {"a", "b"}), R(2, {"1", "2"})));
  EXPECT_THAT(Read("a,b\r\n1,2\r"), ElementsAre(R(1, {"a", "b"}), R(2, {"1", "2"})));
  EXPECT_THAT(Read("a,b\n1,"), ElementsAre(R(1, {"a", "b"}), R(2, {"1", ""})));
}

TEST_P(ReaderTest, BlankLinesAreSkipped) {
  EXPECT_THAT(Read("\na,b\n\n\r\n1,2\n\n"), ElementsAre(R(2, {"a", "b"}), R(5, {"1", "2"})));
  EXPECT_THAT(Read(""), ElementsAre());
  EXPECT_THAT(Read("\n\n"), ElementsAre());
}

TEST_P(ReaderTest, QuoteInsideAnUnquotedFieldIsALiteral) {
  EXPECT_THAT(
      Read("item,size\npizza,12\"\nboard,2\"x4\"\n"),
      ElementsAre(R(1, {"item", "size"}), R(2, {"pizza", "12\""}), R(3, {"board", "2\"x4\""})));
}

TEST_P(ReaderTest, TextAfterAClosingQuoteIsFlagged) {
  const auto rows = Read("a,b\n\"x\"y,1\n2,3\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].line, 2u);
  EXPECT_EQ(rows[1].error, RecordError::kBadQuote);
  EXPECT_EQ(rows[2], R(3, {"2", "3"}));
}

TEST_P(ReaderTest, UnterminatedQuoteAtEndIsFlaggedAndTheRestRecovered) {
  EXPECT_THAT(Read("a,b\n1,\"open\n2,3\n4,5\n"),
              ElementsAre(R(1, {"a", "b"}), Bad(2, RecordError::kUnterminatedQuote),
                          R(3, {"2", "3"}), R(4, {"4", "5"})));
  EXPECT_THAT(Read("a,b\n1,\"open"),
              ElementsAre(R(1, {"a", "b"}), Bad(2, RecordError::kUnterminatedQuote)));
}

INSTANTIATE_TEST_SUITE_P(Parsers, ReaderTest,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Values(std::size_t{1}, std::size_t{2},
                                                              std::size_t{3}, std::size_t{7},
                                                              std::size_t{63}, std::size_t{4096})));

TEST(ReaderLimits, OverlongRecordIsFlaggedAndSkippedToTheEndOfItsLine) {
  for (const bool vectorized : {true, false}) {
    ReaderOptions options;
    options.block_size = 64;
    options.max_record_size = 256;
    options.vectorized = vectorized;
    const std::string text =
        "a,b\n1,\"" + std::string(1000, 'x') + "\n2,3\n" + std::string(1000, 'y') + ",4\n5,6\n";
    const Result result = ReadAll(text, options, 100);
    EXPECT_EQ(result.end, Reader::Status::kEnd);
    EXPECT_THAT(result.rows,
                ElementsAre(R(1, {"a", "b"}), Bad(2, RecordError::kTooLong), R(3, {"2", "3"}),
                            Bad(4, RecordError::kTooLong), R(5, {"5", "6"})))
        << "vectorized=" << vectorized;
  }
}

TEST(ReaderLimits, AbortedReadStops) {
  int calls = 0;
  Reader reader(
      [&](char* buffer, std::size_t) -> std::ptrdiff_t {
        if (++calls > 1) return -1;
        constexpr std::string_view kText = "a,b\n1,2";
        std::copy(kText.begin(), kText.end(), buffer);
        return static_cast<std::ptrdiff_t>(kText.size());
      },
      ReaderOptions{.block_size = 64});
  Record record;
  ASSERT_EQ(reader.Next(record), Reader::Status::kRecord);
  EXPECT_EQ(reader.Next(record), Reader::Status::kAborted);
}

TEST(ReaderLimits, BigInputInDefaultBlocks) {
  std::string text = "k,v\n";
  for (int i = 0; i < 200000; ++i) {
    text += (i % 3 == 0 ? "\"k," + std::to_string(i) + "\"" : "k" + std::to_string(i)) + "," +
            std::to_string(i) + "\n";
  }
  const Result result = ReadAll(text, ReaderOptions{}, 1 << 20);
  ASSERT_EQ(result.rows.size(), 200001u);
  EXPECT_EQ(result.rows[1], R(2, {"k,0", "0"}));
  EXPECT_EQ(result.rows[3], R(4, {"k2", "2"}));
  EXPECT_EQ(result.rows[200000], R(200001, {"k199999", "199999"}));
  EXPECT_EQ(result.rows[199999], R(200000, {"k,199998", "199998"}));
}

// The vectorized parser must agree with the byte-at-a-time one on anything, including
// malformed input, at every chunking.
TEST(ReaderDifferential, RandomInputsAgree) {
  std::mt19937 rng(20260101);
  const std::string alphabet = "ab,,,\"\"\"\n\n\r ;";
  for (int round = 0; round < 3000; ++round) {
    std::string text(rng() % 200, ' ');
    for (char& c : text) c = alphabet[rng() % alphabet.size()];
    const std::size_t chunk = 1 + rng() % 80;
    ReaderOptions slow{.block_size = 16, .max_record_size = 128, .vectorized = false};
    ReaderOptions fast{.block_size = 16, .max_record_size = 128, .vectorized = true};
    const Result expected = ReadAll(text, slow, chunk);
    const Result actual = ReadAll(text, fast, chunk);
    ASSERT_EQ(actual.rows, expected.rows)
        << "input: " << ::testing::PrintToString(text) << " chunk " << chunk;
  }
}

}  // namespace
}  // namespace kpid::collectors::csv
