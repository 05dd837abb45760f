// Metric names in PromQL expressions and in a /metrics exposition, so tests can check that
// dashboards and alert rules only use metrics kpid really exposes.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace kpid::testing {

// The metric names an expression selects: identifiers that are not function names (followed
// by "("), keywords, label names (inside {...} or the lists of by, without, on, ignoring,
// group_left, group_right), numbers or durations. Strings, comments, range and subquery
// brackets and Grafana variables ($name, ${name}) are skipped.
std::set<std::string> PromQlMetricNames(std::string_view expr);

// The names a Prometheus text exposition offers: every sample's name and every family from
// "# TYPE" lines; a histogram or summary family also offers name_bucket, name_sum and
// name_count.
std::set<std::string> ExposedMetricNames(std::string_view exposition);

}  // namespace kpid::testing
