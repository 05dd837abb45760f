#include "collectors/csv/scan.hpp"

#include <charconv>
#include <chrono>
#include <cstring>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kpid::collectors::csv {
namespace {

namespace chr = std::chrono;
using ::testing::HasSubstr;
using ::testing::Optional;

Clock::time_point Utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0,
                      chr::nanoseconds ns = {}) {
  return Clock::time_point(chr::duration_cast<Clock::duration>(
      chr::sys_days(chr::year{y} / chr::month{m} / chr::day{d}).time_since_epoch() +
      chr::hours(hh) + chr::minutes(mm) + chr::seconds(ss) + ns));
}

KpiSettings Kpi(std::string column, Aggregate aggregate, config::StringPairs where = {},
                std::string timestamp_column = "") {
  KpiSettings kpi;
  kpi.column = std::move(column);
  kpi.aggregate = aggregate;
  kpi.where = std::move(where);
  kpi.timestamp_column = std::move(timestamp_column);
  return kpi;
}

ScanOutput ScanText(std::string_view text, const KpiSettings& kpi, bool history = false,
                    std::size_t max_history_rows = 1'000'000) {
  std::size_t offset = 0;
  Reader reader([&](char* buffer, std::size_t capacity) -> std::ptrdiff_t {
    const std::size_t n = std::min(capacity, text.size() - offset);
    std::copy_n(text.data() + offset, n, buffer);
    offset += n;
    return static_cast<std::ptrdiff_t>(n);
  });
  return Scan(
      reader, kpi,
      ScanOptions{.history = history, .max_history_rows = max_history_rows, .path = "/data/f.csv"});
}

TEST(ParseNumber, Accepts) {
  EXPECT_THAT(ParseNumber("42"), Optional(42.0));
  EXPECT_THAT(ParseNumber(" -3.5 "), Optional(-3.5));
  EXPECT_THAT(ParseNumber("\t+7"), Optional(7.0));
  EXPECT_THAT(ParseNumber("1e3"), Optional(1000.0));
  EXPECT_THAT(ParseNumber("-2.5E-2"), Optional(-0.025));
  EXPECT_THAT(ParseNumber(".5"), Optional(0.5));
  EXPECT_THAT(ParseNumber("5."), Optional(5.0));
  EXPECT_THAT(ParseNumber("0.1"), Optional(0.1));
  EXPECT_THAT(ParseNumber("123456789012345678"), Optional(123456789012345678.0));
  EXPECT_THAT(ParseNumber("0.30000000000000004"), Optional(0.30000000000000004));
}

TEST(ParseNumber, Rejects) {
  for (const char* text :
       {"",    "  ",  "1,234", "1 234", "1'234", "abc", "12abc", "inf", "-inf", "nan", "+-1",
        "--1", "++1", "1e999", "0x10",  "1.2.3", "-",   "+",     ".",   "1e",   "e5"}) {
    EXPECT_EQ(ParseNumber(text), std::nullopt) << text;
  }
}

// The short-decimal fast path must give exactly what from_chars gives.
TEST(ParseNumber, FastPathMatchesFromChars) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const int digits = 1 + static_cast<int>(rng() % 15);
    std::string text = rng() % 2 ? "-" : "";
    for (int d = 0; d < digits; ++d) text += static_cast<char>('0' + rng() % 10);
    if (rng() % 4 != 0) text.insert(text.size() - rng() % static_cast<unsigned>(digits), ".");
    double expected = 0;
    std::from_chars(text.data(), text.data() + text.size(), expected);
    ASSERT_THAT(ParseNumber(text), Optional(expected)) << text;
  }
}

TEST(ParseTimestamp, Formats) {
  EXPECT_THAT(ParseTimestamp("2026-03-01"), Optional(Utc(2026, 3, 1)));
  EXPECT_THAT(ParseTimestamp(" 2024-02-29 "), Optional(Utc(2024, 2, 29)));
  EXPECT_THAT(ParseTimestamp("2026-03-01T12:34"), Optional(Utc(2026, 3, 1, 12, 34)));
  EXPECT_THAT(ParseTimestamp("2026-03-01 12:34:56"), Optional(Utc(2026, 3, 1, 12, 34, 56)));
  EXPECT_THAT(ParseTimestamp("2026-03-01t12:34:56z"), Optional(Utc(2026, 3, 1, 12, 34, 56)));
  EXPECT_THAT(ParseTimestamp("2026-03-01T12:34:56.789Z"),
              Optional(Utc(2026, 3, 1, 12, 34, 56, chr::milliseconds(789))));
  EXPECT_THAT(ParseTimestamp("2026-03-01T12:34:56,5Z"),
              Optional(Utc(2026, 3, 1, 12, 34, 56, chr::milliseconds(500))));
  EXPECT_THAT(ParseTimestamp("2026-03-01T12:34:56.123456789123Z"),
              Optional(Utc(2026, 3, 1, 12, 34, 56, chr::nanoseconds(123456789))));
  EXPECT_THAT(ParseTimestamp("2026-03-01T12:34:56+02:00"), Optional(Utc(2026, 3, 1, 10, 34, 56)));
  EXPECT_THAT(ParseTimestamp("2026-03-01T00:10-05:30"), Optional(Utc(2026, 3, 1, 5, 40)));
  EXPECT_THAT(ParseTimestamp("2026-03-01T01:00+0200"), Optional(Utc(2026, 2, 28, 23, 0)));
  EXPECT_THAT(ParseTimestamp("2026-03-01T01:00+02"), Optional(Utc(2026, 2, 28, 23, 0)));
  EXPECT_THAT(ParseTimestamp("1969-12-31T23:59:59Z"), Optional(Utc(1969, 12, 31, 23, 59, 59)));
}

TEST(ParseTimestamp, Rejects) {
  for (const char* text : {"",
                           "yesterday",
                           "2026-02-30",
                           "2023-02-29",
                           "2026-13-01",
                           "2026-00-10",
                           "2026-1-01",
                           "20260101",
                           "2026/03/01",
                           "01.03.2026",
                           "2026-03-01T25:00",
                           "2026-03-01T12",
                           "2026-03-01T12:60",
                           "2026-03-01T12:34:60",
                           "2026-03-01X12:34",
                           "2026-03-01T12:34+25:00",
                           "2026-03-01T12:34Zjunk",
                           "2026-03-01T12:34:56.",
                           "2026-03-01T12:34:5",
                           "2026-03-01T12:34+02:0",
                           "2026-03-01Z",
                           "2026-03-01T1:00"}) {
    EXPECT_EQ(ParseTimestamp(text), std::nullopt) << text;
  }
}

// Found by fuzzing: a year past 2262 overflowed the nanosecond clock (undefined behaviour).
// Years the clock cannot hold are not timestamps; its whole range still is.
TEST(ParseTimestamp, YearsOutsideTheClock) {
  for (const char* text :
       {"5026-11-02 10:00:00", "9999-12-31", "2262-01-01", "1677-12-31", "0001-01-01T00:00Z"}) {
    EXPECT_EQ(ParseTimestamp(text), std::nullopt) << text;
  }
  EXPECT_THAT(ParseTimestamp("2261-12-31T23:59:59-14:00"), Optional(Utc(2262, 1, 1, 13, 59, 59)));
  EXPECT_THAT(ParseTimestamp("1678-01-01T00:00+14:00"), Optional(Utc(1677, 12, 31, 10)));
}

constexpr std::string_view kOrders =
    "date,region,orders\n"
    "2026-01-03,EU,5\n"
    "2026-01-01,EU,3\n"
    "2026-01-02,US,10\n"
    "2026-01-02,EU,4\n";

TEST(Scan, EveryAggregate) {
  const config::StringPairs eu = {{"region", "EU"}};
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kLast, eu)).value, Optional(4.0));
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kSum, eu)).value, Optional(12.0));
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kAvg, eu)).value, Optional(4.0));
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kMin, eu)).value, Optional(3.0));
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kMax, eu)).value, Optional(5.0));
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kCount, eu)).value, Optional(3.0));
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kCount)).value, Optional(4.0));
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kSum)).value, Optional(22.0));
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kMin)).value, Optional(3.0));
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kMax)).value, Optional(10.0));
  const ScanOutput out = ScanText(kOrders, Kpi("orders", Aggregate::kSum, eu));
  EXPECT_EQ(out.rows, 4u);
  EXPECT_EQ(out.kept, 3u);
  EXPECT_EQ(out.bad_rows, 0u);
  EXPECT_EQ(out.timestamp, std::nullopt);  // no timestamp column: the collector uses the mtime
}

TEST(Scan, WithATimestampColumnLastIsTheNewestRow) {
  const auto kpi = Kpi("orders", Aggregate::kLast, {{"region", "EU"}}, "date");
  const ScanOutput out = ScanText(kOrders, kpi);
  EXPECT_THAT(out.value, Optional(5.0));
  EXPECT_THAT(out.timestamp, Optional(Utc(2026, 1, 3)));
  // Ties: the later row in the file wins.
  const ScanOutput tie = ScanText("date,v\n2026-01-02,1\n2026-01-02,2\n2026-01-01,3\n",
                                  Kpi("v", Aggregate::kLast, {}, "date"));
  EXPECT_THAT(tie.value, Optional(2.0));
  EXPECT_THAT(tie.timestamp, Optional(Utc(2026, 1, 2)));
}

TEST(Scan, OtherAggregatesStampTheNewestTimestamp) {
  const ScanOutput out = ScanText(kOrders, Kpi("orders", Aggregate::kSum, {}, "date"));
  EXPECT_THAT(out.value, Optional(22.0));
  EXPECT_THAT(out.timestamp, Optional(Utc(2026, 1, 3)));
}

TEST(Scan, WhereComparesUnquotedValuesOfEveryColumn) {
  const std::string text =
      "region,channel,v\n"
      "\"E,U\",web,1\n"
      "\"E,U\",shop,2\n"
      "EU,web,4\n"
      "\"E,U\",\"web\",8\n"
      " E,U ,web,16\n";
  EXPECT_THAT(
      ScanText(text, Kpi("v", Aggregate::kSum, {{"region", "E,U"}, {"channel", "web"}})).value,
      Optional(9.0));
  EXPECT_THAT(ScanText(text, Kpi("v", Aggregate::kSum, {{"channel", "shop"}})).value,
              Optional(2.0));
}

TEST(Scan, NoMatchingRows) {
  const ScanOutput out = ScanText(kOrders, Kpi("orders", Aggregate::kSum, {{"region", "APAC"}}));
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->kind, ErrorKind::kEmpty);
  EXPECT_EQ(out.error->message,
            "no rows with a value in column \"orders\" where region=\"APAC\" in /data/f.csv");
  // count of nothing is a value: 0
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kCount, {{"region", "APAC"}})).value,
              Optional(0.0));
}

TEST(Scan, EmptyCellsAreMissingValues) {
  const std::string text = "k,v\na,1\na,\na,  \na,2\n";
  const ScanOutput sum = ScanText(text, Kpi("v", Aggregate::kSum));
  EXPECT_THAT(sum.value, Optional(3.0));
  EXPECT_EQ(sum.bad_rows, 0u);
  EXPECT_THAT(ScanText(text, Kpi("v", Aggregate::kCount)).value, Optional(2.0));
  EXPECT_THAT(ScanText(text, Kpi("v", Aggregate::kLast)).value, Optional(2.0));
  // count counts non-empty cells and does not need numbers
  EXPECT_THAT(ScanText("id\nA-1\nA-2\n\"\"\n", Kpi("id", Aggregate::kCount)).value, Optional(2.0));
}

TEST(Scan, MissingColumnsNameTheHeader) {
  const ScanOutput out = ScanText(kOrders, Kpi("revenue", Aggregate::kSum));
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->kind, ErrorKind::kParse);
  EXPECT_EQ(out.error->message,
            "column \"revenue\" not in header of /data/f.csv (columns: \"date\", \"region\", "
            "\"orders\")");
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kSum, {{"country", "DE"}})).error->message,
              HasSubstr("column \"country\" not in header"));
  EXPECT_THAT(ScanText(kOrders, Kpi("orders", Aggregate::kSum, {}, "day")).error->message,
              HasSubstr("column \"day\" not in header"));
  // Header names are matched without surrounding spaces.
  EXPECT_THAT(ScanText("date, orders \n2026-01-01, 7\n", Kpi("orders", Aggregate::kSum)).value,
              Optional(7.0));
}

TEST(Scan, EmptyFileAndHeaderOnly) {
  const ScanOutput empty = ScanText("", Kpi("v", Aggregate::kSum));
  ASSERT_TRUE(empty.error);
  EXPECT_EQ(empty.error->kind, ErrorKind::kEmpty);
  EXPECT_EQ(empty.error->message, "/data/f.csv is empty (no header row)");
  EXPECT_EQ(ScanText("v\n", Kpi("v", Aggregate::kMax)).error->kind, ErrorKind::kEmpty);
  EXPECT_THAT(ScanText("v\n", Kpi("v", Aggregate::kCount)).value, Optional(0.0));
  const ScanOutput bad_header = ScanText("\"v\"x,w\n1,2\n", Kpi("w", Aggregate::kSum));
  ASSERT_TRUE(bad_header.error);
  EXPECT_EQ(bad_header.error->kind, ErrorKind::kParse);
  EXPECT_THAT(bad_header.error->message, HasSubstr("header row of /data/f.csv is malformed"));
}

TEST(Scan, MalformedRowsAreCountedWithTheFirstLineNumber) {
  const std::string text =
      "date,region,orders\n"
      "2026-01-01,EU,1\n"
      "2026-01-02,EU\n"                  // line 3: short
      "2026-01-03,EU,n/a\n"              // line 4: not a number
      "2026-01-04,US,n/a\n"              // not kept: its value does not matter
      "2026-01-05,EU,2,extra\n"          // line 6: long
      "\"2026-01-06\nx\",EU,4\n"         // line 7-8: fine (quoted newline)
      "2026-01-07,EU,\"1,234\"\n"        // line 9: thousands separator
      "2026-01-08,EU,\"unterminated\n";  // line 10
  const ScanOutput out = ScanText(text, Kpi("orders", Aggregate::kSum, {{"region", "EU"}}));
  EXPECT_THAT(out.value, Optional(5.0));
  EXPECT_EQ(out.bad_rows, 5u);
  EXPECT_EQ(out.first_bad_row, "line 3: 2 fields, header has 3");
  EXPECT_EQ(out.kept, 2u);

  const ScanOutput first_number =
      ScanText("k,v\na,1\nb,\"1,234\"\nc,x\n", Kpi("v", Aggregate::kSum));
  EXPECT_EQ(first_number.bad_rows, 2u);
  EXPECT_EQ(first_number.first_bad_row,
            "line 3: \"1,234\" in column \"v\" is not a number (thousands separators are not "
            "accepted)");

  const ScanOutput quote = ScanText("k,v\na,\"1\n", Kpi("v", Aggregate::kSum));
  ASSERT_TRUE(quote.error);
  EXPECT_EQ(quote.error->kind, ErrorKind::kParse);
  EXPECT_EQ(quote.error->message,
            "no usable rows in /data/f.csv: 1 malformed, first at line 2: unterminated quote");
}

TEST(Scan, BadTimestampsAreMalformedRows) {
  const std::string text = "date,v\n2026-01-01,1\n2026-02-30,2\nsoon,4\n2026-01-02T10:00Z,8\n";
  const ScanOutput out = ScanText(text, Kpi("v", Aggregate::kSum, {}, "date"));
  EXPECT_THAT(out.value, Optional(9.0));
  EXPECT_EQ(out.bad_rows, 2u);
  EXPECT_EQ(out.first_bad_row,
            "line 3: \"2026-02-30\" in column \"date\" is not an ISO 8601 date or date-time");
  EXPECT_THAT(out.timestamp, Optional(Utc(2026, 1, 2, 10)));
}

TEST(Scan, HistoryIsOldestFirstWithOneSamplePerTimestamp) {
  const auto kpi = [](Aggregate a) { return Kpi("orders", a, {{"region", "EU"}}, "date"); };
  const std::string text =
      "date,region,orders\n"
      "2026-01-03,EU,5\n"
      "2026-01-01,EU,3\n"
      "2026-01-02,US,10\n"
      "2026-01-02,EU,4\n"
      "2026-01-01,EU,1\n"
      "bad,EU,1\n";
  using S = Sample;
  const ScanOutput last = ScanText(text, kpi(Aggregate::kLast), true);
  EXPECT_THAT(last.history, ::testing::ElementsAre(S{1, Utc(2026, 1, 1)}, S{4, Utc(2026, 1, 2)},
                                                   S{5, Utc(2026, 1, 3)}));
  EXPECT_EQ(last.bad_rows, 1u);
  EXPECT_EQ(last.first_bad_row.substr(0, 7), "line 7:");
  EXPECT_THAT(
      ScanText(text, kpi(Aggregate::kSum), true).history,
      ::testing::ElementsAre(S{4, Utc(2026, 1, 1)}, S{8, Utc(2026, 1, 2)}, S{13, Utc(2026, 1, 3)}));
  EXPECT_THAT(
      ScanText(text, kpi(Aggregate::kCount), true).history,
      ::testing::ElementsAre(S{2, Utc(2026, 1, 1)}, S{3, Utc(2026, 1, 2)}, S{4, Utc(2026, 1, 3)}));
  EXPECT_THAT(ScanText(text, kpi(Aggregate::kAvg), true).history,
              ::testing::ElementsAre(S{2, Utc(2026, 1, 1)}, S{8.0 / 3, Utc(2026, 1, 2)},
                                     S{13.0 / 4, Utc(2026, 1, 3)}));
  EXPECT_THAT(
      ScanText(text, kpi(Aggregate::kMin), true).history,
      ::testing::ElementsAre(S{1, Utc(2026, 1, 1)}, S{1, Utc(2026, 1, 2)}, S{1, Utc(2026, 1, 3)}));
  EXPECT_THAT(
      ScanText(text, kpi(Aggregate::kMax), true).history,
      ::testing::ElementsAre(S{3, Utc(2026, 1, 1)}, S{4, Utc(2026, 1, 2)}, S{5, Utc(2026, 1, 3)}));
  // The history's last sample is the current value.
  EXPECT_THAT(ScanText(text, kpi(Aggregate::kSum), true).value, Optional(13.0));
}

TEST(Scan, HistoryHasALimit) {
  const ScanOutput out = ScanText("date,v\n2026-01-01,1\n2026-01-02,2\n2026-01-03,3\n",
                                  Kpi("v", Aggregate::kSum, {}, "date"), true, 2);
  ASSERT_TRUE(out.history_error);
  EXPECT_EQ(out.history_error->kind, ErrorKind::kTooLarge);
  EXPECT_EQ(out.history_error->message, "history of /data/f.csv has more than 2 rows");
  EXPECT_TRUE(out.history.empty());
  EXPECT_THAT(out.value, Optional(6.0));  // the value does not suffer
}

}  // namespace
}  // namespace kpid::collectors::csv
