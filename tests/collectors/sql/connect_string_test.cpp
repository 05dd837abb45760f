#include "collectors/sql/connect_string.hpp"

#include <gtest/gtest.h>

#include "collectors/sql/values.hpp"

namespace kpid::collectors::sql {
namespace {

using namespace std::chrono_literals;

TEST(SqlConnectString, PostgresqlKeyValueBecomesAUri) {
  // SOCI splits key=value strings at spaces, so values travel percent-encoded in a URI;
  // defaults go first, the password last (libpq keeps the last value of a key).
  EXPECT_EQ(BuildConnectString(Driver::kPostgresql, "host=db user=kpid", "s'e\\c d", 5s),
            "postgresql://?connect_timeout=5&fallback_application_name=kpid&host=db&user=kpid"
            "&password=s%27e%5Cc%20d");
  EXPECT_EQ(
      BuildConnectString(Driver::kPostgresql,
                         "host=/run/postgresql  application_name='my app' connect_timeout = 3",
                         std::nullopt, 5s),
      "postgresql://?fallback_application_name=kpid&host=%2Frun%2Fpostgresql"
      "&application_name=my%20app&connect_timeout=3");
  // Not key=value: passed on for libpq to report.
  EXPECT_EQ(BuildConnectString(Driver::kPostgresql, "host=db nonsense", "x", 5s),
            "host=db nonsense");
}

TEST(SqlConnectString, PostgresqlUriGetsQueryParameters) {
  EXPECT_EQ(BuildConnectString(Driver::kPostgresql, "postgresql://kpid@db/sales", "a b&c", 5s),
            "postgresql://kpid@db/sales?connect_timeout=5&fallback_application_name=kpid"
            "&password=a%20b%26c");
  EXPECT_EQ(
      BuildConnectString(Driver::kPostgresql, "postgres://db/s?sslmode=require", std::nullopt, 2s),
      "postgres://db/s?sslmode=require&connect_timeout=2&fallback_application_name=kpid");
}

TEST(SqlConnectString, MysqlReplacesAnInlinePassword) {
  EXPECT_EQ(BuildConnectString(Driver::kMysql, "db=sales user=kpid pass='old one'", "n'ew", 4s),
            "db=sales user=kpid password='n\\'ew' connect_timeout=4");
  EXPECT_EQ(BuildConnectString(Driver::kMysql, "db=sales connect_timeout=9", std::nullopt, 4s),
            "db=sales connect_timeout=9");
}

TEST(SqlConnectString, OdbcBracesThePassword) {
  EXPECT_EQ(BuildConnectString(Driver::kOdbc, "DSN=sales;UID=kpid;PWD={x;y}", "a}b", 4s),
            "DSN=sales;UID=kpid;PWD={a}}b}");
  EXPECT_EQ(BuildConnectString(Driver::kOdbc, "DSN=sales", std::nullopt, 4s), "DSN=sales");
}

TEST(SqlConnectString, Sqlite3IsOpenedReadOnly) {
  EXPECT_EQ(BuildConnectString(Driver::kSqlite3, "/srv/a b.db", std::nullopt, 4s),
            "db=\"/srv/a b.db\" readonly=true");
}

TEST(SqlRedactor, ScrubsPasswordsAndConnectionStrings) {
  Redactor r;
  r.Add("hunter2");
  r.AddConnection("host=db user=kpid password='in line'");
  r.AddConnection("DSN=x;PWD={odbc}");
  r.AddConnection("postgresql://kpid:uri%21pw@db/sales?password=qp");
  EXPECT_EQ(r.Scrub("bad hunter2 and in line, odbc, uri!pw, uri%21pw, qp"),
            "bad <secret> and <secret>, <secret>, <secret>, <secret>, <secret>");
  EXPECT_EQ(r.Scrub("host=db user=kpid password='in line' failed"), "<secret> failed");
}

TEST(SqlValues, ParseNumber) {
  EXPECT_EQ(ParseNumber("42"), 42.0);
  EXPECT_EQ(ParseNumber(" -1.5e3 "), -1500.0);
  EXPECT_EQ(ParseNumber("+7"), 7.0);
  EXPECT_EQ(ParseNumber("123456.789"), 123456.789);
  EXPECT_FALSE(ParseNumber(""));
  EXPECT_FALSE(ParseNumber("abc"));
  EXPECT_FALSE(ParseNumber("12abc"));
  EXPECT_FALSE(ParseNumber("NaN"));
  EXPECT_FALSE(ParseNumber("inf"));
  EXPECT_FALSE(ParseNumber("++1"));
}

TEST(SqlValues, ParseIsoTime) {
  using std::chrono::sys_days;
  using namespace std::chrono;
  auto day = sys_days(2026y / 10 / 1);
  EXPECT_EQ(ParseIsoTime("2026-10-01"), Clock::time_point(day));
  EXPECT_EQ(ParseIsoTime("2026-10-01 12:30:00"), Clock::time_point(day + 12h + 30min));
  EXPECT_EQ(ParseIsoTime("2026-10-01T12:30"), Clock::time_point(day + 12h + 30min));
  EXPECT_EQ(ParseIsoTime("2026-10-01T12:30:00Z"), Clock::time_point(day + 12h + 30min));
  EXPECT_EQ(ParseIsoTime("2026-10-01T12:30:00+02:00"), Clock::time_point(day + 10h + 30min));
  EXPECT_EQ(ParseIsoTime("2026-10-01 12:30:00-0130"), Clock::time_point(day + 14h));
  EXPECT_EQ(ParseIsoTime("2026-10-01 12:30:00.5+00"), Clock::time_point(day + 12h + 30min + 500ms));
  EXPECT_FALSE(ParseIsoTime("2026-02-30"));
  EXPECT_FALSE(ParseIsoTime("2026-10-01 25:00"));
  EXPECT_FALSE(ParseIsoTime("yesterday"));
  EXPECT_FALSE(ParseIsoTime("2026-10-01x"));
}

}  // namespace
}  // namespace kpid::collectors::sql
