// Arithmetic and boolean expressions for rule conditions (`when`, `recover_when`) and
// derived KPIs (`expr`), compiled once with muParser and evaluated every cycle.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rules/parse_error.hpp"

namespace mu {
class Parser;
}  // namespace mu

namespace kpid::rules {

// The per-KPI variables of DESIGN.md "Expression variables", then the goal outlook's (see
// rules/evaluator.hpp). Every KPI's name is a variable too, for its latest value.
inline constexpr std::array<std::string_view, 22> kExpressionVariableNames = {
    "value",
    "prev",
    "delta",
    "baseline",
    "target",
    "expected",
    "progress",
    "expected_progress",
    "gap",
    "forecast",
    "forecast_progress",
    "days_left",
    "age_seconds",
    "avg_7d",
    "min_7d",
    "max_7d",
    "required_rate",
    "current_rate",
    "forecast_lower",
    "forecast_upper",
    "likelihood",
    "days_to_target",
};

// A fixed set of named doubles that expressions read. Each value has a stable address for
// the set's lifetime, moves included, because compiled expressions point at it. Values start
// as NaN, which stands for "no value". Not thread-safe.
class VariableSet {
 public:
  // Duplicate names are kept once. Names must be identifiers ([A-Za-z_][A-Za-z0-9_]*) for
  // an expression to use them.
  explicit VariableSet(const std::vector<std::string>& names);
  VariableSet(VariableSet&&) noexcept = default;
  VariableSet& operator=(VariableSet&&) noexcept = default;
  VariableSet(const VariableSet&) = delete;
  VariableSet& operator=(const VariableSet&) = delete;
  ~VariableSet() = default;

  // nullptr if `name` is not in the set.
  [[nodiscard]] double* Slot(std::string_view name);
  // false if `name` is not in the set.
  bool Set(std::string_view name, double value);
  [[nodiscard]] std::optional<double> Get(std::string_view name) const;
  // Sets every value back to NaN.
  void Clear();
  // In order of first appearance in the constructor's argument.
  [[nodiscard]] const std::vector<std::string>& Names() const { return names_; }

 private:
  std::vector<std::string> names_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::unique_ptr<double[]> values_;
};

// A compiled expression. Supported (muParser 2.3.3): numbers (1, 0.5, 2e-3), variables,
// parentheses, + - * / ^ (power), unary - + and ! (1 if its operand is 0, else 0),
// == != < > <= >= (1 or 0), && ||, c ? a : b, the constants _pi and _e, and the functions
// abs sign rint sqrt exp ln log (both natural) log2 log10 sin cos tan asin acos atan atan2
// sinh cosh tanh asinh acosh atanh, and min max sum avg with any number of arguments.
// Not supported: strings, assignment (= += ...), several results separated by ",".
// Precedence, tightest first: ^; unary - + ! with * /; + -; all comparisons, left to right;
// &&; ||; ?:. So -2^2 is -4 and !a > b is (!a) > b. A comparison with a NaN ("no value")
// operand is 0 (false).
//
// Reads the VariableSet it was compiled against, which must outlive it. Move-only.
// Evaluate() is not thread-safe: use one Expression from one thread at a time.
class Expression {
 public:
  // Errors point at the offending byte: `unknown variable "foo"`, `unknown function "f"`,
  // `unexpected end of expression`, ...
  [[nodiscard]] static ParseResult<Expression> Compile(std::string_view text, VariableSet& vars);

  Expression(Expression&&) noexcept;
  Expression& operator=(Expression&&) noexcept;
  Expression(const Expression&) = delete;
  Expression& operator=(const Expression&) = delete;
  ~Expression();

  // The value for the variables' current values, or why there is none: a NaN or infinite
  // result (e.g. division by zero, a variable without a value) is an error.
  [[nodiscard]] std::variant<double, std::string> Evaluate() const;

  // The variables the expression reads, sorted and distinct; for ordering derived KPIs.
  [[nodiscard]] const std::vector<std::string>& UsedVariables() const { return used_; }

  [[nodiscard]] const std::string& Text() const { return text_; }

 private:
  Expression(std::unique_ptr<mu::Parser> parser, std::vector<std::string> used,
             std::vector<const double*> used_slots, std::string text);

  // On the heap: mu::Parser holds pointers into itself and must not move.
  std::unique_ptr<mu::Parser> parser_;
  std::vector<std::string> used_;
  std::vector<const double*> used_slots_;  // parallel to used_
  std::string text_;
};

}  // namespace kpid::rules
