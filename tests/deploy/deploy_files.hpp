// Reading the deploy/ files under test: the Grafana dashboard's PromQL and the alert rules'
// expressions, without a YAML library (the rule files are plain enough to scan by line).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kpid::testing {

std::string ReadFile(const std::filesystem::path& path);

// Where a PromQL expression was found (a panel title, "templating team", ...) and the text.
struct Expression {
  std::string where;
  std::string expr;
};

// Every PromQL expression of a dashboard: panel targets (also of panels nested in rows),
// annotation queries and the metric selectors of query variables (label_values(m, l)).
std::vector<Expression> DashboardExpressions(const nlohmann::json& dashboard);

// Every `expr:` of a Prometheus rule file (inline or a block scalar), and the queries that
// annotation templates run (`printf "..." | query`), with %s placeholders filled in.
std::vector<Expression> RuleExpressions(const std::string& yaml);

}  // namespace kpid::testing
