// Alert summaries and descriptions: Templates rendered with an alert's values.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rules/alert.hpp"
#include "rules/evaluator.hpp"
#include "rules/expression.hpp"
#include "rules/status.hpp"
#include "rules/template.hpp"

namespace kpid::rules {

// Up to 6 significant digits without trailing zeros ("0.025", "66.6667", "1200000"), but
// never fewer digits than the integer part has (1234567.8 -> "1234568"); scientific below
// 1e-4 and from 1e15 on ("1.5e-05"). NaN ("no value") is "n/a"; -0 is "0".
[[nodiscard]] std::string FormatNumber(double value);

// What a template can name (the names kpid check accepts): the KPI variables, every KPI's
// name (from `others`), kpi, title, unit, owner, status, severity, alert, rule, each of
// the KPI's labels by name, and "labels" for all of them ("team=finance, region=EU").
// Pointers may be null; a name without a value stays as written.
struct AnnotationContext {
  std::string_view kpi;
  std::string_view title;
  std::string_view unit;
  std::string_view owner;
  std::string_view alert;  // the alert id, e.g. "revenue/goal"
  std::string_view rule;   // the rule name; "goal" for the goal alert
  std::optional<Status> status;
  std::optional<Severity> severity;
  const Labels* labels = nullptr;
  const Variables* variables = nullptr;
  const VariableSet* others = nullptr;  // e.g. the set rule expressions read
};

// First match wins: the fields above, the variables, `others`, the labels.
[[nodiscard]] std::string RenderAnnotation(const Template& text, const AnnotationContext& context);

}  // namespace kpid::rules
