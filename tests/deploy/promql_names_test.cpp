#include "tests/deploy/promql_names.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kpid::testing {
namespace {

using Names = std::set<std::string>;

TEST(PromQlMetricNamesTest, SkipsFunctionsLabelListsAndRanges) {
  EXPECT_EQ(PromQlMetricNames("histogram_quantile(0.9, sum by (source, le) "
                              "(rate(kpid_collector_duration_seconds_bucket[$window])))"),
            Names{"kpid_collector_duration_seconds_bucket"});
  EXPECT_EQ(PromQlMetricNames("sum(rate(a_total[5m])) by (le) / on(job) group_left(version) b"),
            (Names{"a_total", "b"}));
  EXPECT_EQ(PromQlMetricNames("time() - process_start_time_seconds{job=\"kpid\"}"),
            Names{"process_start_time_seconds"});
  EXPECT_EQ(PromQlMetricNames("max_over_time(x[1h:5m]) @ end()"), Names{"x"});
}

TEST(PromQlMetricNamesTest, SkipsLabelMatchersAndStrings) {
  EXPECT_EQ(PromQlMetricNames(R"(kpi_status{team=~"$team", kpi=~"a}b", status!="x"} == 1)"),
            Names{"kpi_status"});
  EXPECT_EQ(PromQlMetricNames(R"(x{l='q\'}"'} * ignoring(z) y)"), (Names{"x", "y"}));
  EXPECT_EQ(PromQlMetricNames("label_replace(up, \"dst\", \"$1\", \"src\", \"(.*)\")"),
            Names{"up"});
}

TEST(PromQlMetricNamesTest, SkipsKeywordsNumbersDurationsAndVariables) {
  EXPECT_EQ(PromQlMetricNames("a and on (job) b offset 15m unless c or d > bool 1e3"),
            (Names{"a", "b", "c", "d"}));
  EXPECT_EQ(PromQlMetricNames("Inf + NaN + 0x1f + .5 - 2"), Names{});
  EXPECT_EQ(PromQlMetricNames("rate(m[$__rate_interval]) * ${factor} / $divisor"), Names{"m"});
  EXPECT_EQ(PromQlMetricNames("a # b is a comment\n + c"), (Names{"a", "c"}));
  EXPECT_EQ(PromQlMetricNames("count without (instance) (up == 0)"), Names{"up"});
  EXPECT_EQ(PromQlMetricNames("x * group_right y"), (Names{"x", "y"}));
}

TEST(ExposedMetricNamesTest, ReadsSamplesAndFamilies) {
  const Names names = ExposedMetricNames(
      "# HELP a_seconds Time.\n"
      "# TYPE a_seconds histogram\n"
      "a_seconds_count{s=\"x\"} 1\n"
      "# TYPE errors_total counter\n"
      "# TYPE g gauge\n"
      "g 1\n"
      "h{l=\"v\"} 2 1700000000000\n");
  EXPECT_EQ(names, (Names{"a_seconds", "a_seconds_bucket", "a_seconds_count", "a_seconds_sum",
                          "errors_total", "g", "h"}));
}

}  // namespace
}  // namespace kpid::testing
