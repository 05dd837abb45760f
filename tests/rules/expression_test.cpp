#include "rules/expression.hpp"

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace kpid::rules {
namespace {

std::vector<std::string> AllNames() {
  std::vector<std::string> names(kExpressionVariableNames.begin(), kExpressionVariableNames.end());
  names.emplace_back("eu_orders");
  names.emplace_back("active_customers");
  return names;
}

Expression MustCompile(std::string_view text, VariableSet& vars) {
  auto result = Expression::Compile(text, vars);
  if (auto* error = std::get_if<ParseError>(&result)) {
    ADD_FAILURE() << text << ": " << error->offset << ": " << error->message;
    return std::get<Expression>(Expression::Compile("0", vars));
  }
  return std::move(std::get<Expression>(result));
}

struct EvalCase {
  const char* text;
  double expected;
};

class ExpressionEvalTest : public testing::TestWithParam<EvalCase> {};

TEST_P(ExpressionEvalTest, Evaluates) {
  const EvalCase& c = GetParam();
  VariableSet vars(AllNames());
  vars.Set("value", 2);
  vars.Set("prev", 1.5);
  vars.Set("delta", 0.5);
  vars.Set("target", 10);
  vars.Set("eu_orders", 300);
  vars.Set("active_customers", 120);
  const Expression expr = MustCompile(c.text, vars);
  const auto result = expr.Evaluate();
  ASSERT_TRUE(std::holds_alternative<double>(result))
      << c.text << ": " << std::get<std::string>(result);
  EXPECT_DOUBLE_EQ(std::get<double>(result), c.expected) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    All, ExpressionEvalTest,
    testing::Values(EvalCase{"value", 2}, EvalCase{"value + prev * 2", 5},
                    EvalCase{"(value + prev) * 2", 7}, EvalCase{"value / 4", 0.5},
                    EvalCase{"2^3", 8}, EvalCase{"-2^2", -4}, EvalCase{"1e-3 * 1000", 1},
                    EvalCase{"delta > 0.005", 1}, EvalCase{"delta < 0.001", 0},
                    EvalCase{"value >= 2 && prev <= 1.5", 1}, EvalCase{"value > 2 || prev < 2", 1},
                    EvalCase{"value == 2", 1}, EvalCase{"value != 2", 0},
                    EvalCase{"!(value > 3)", 1}, EvalCase{"value > 1 && !delta", 0},
                    EvalCase{"value > 1 ? 10 : 20", 10}, EvalCase{"min(value, prev, 3)", 1.5},
                    EvalCase{"max(value, prev)", 2}, EvalCase{"abs(prev - value)", 0.5},
                    EvalCase{"avg(1, 2, 3)", 2}, EvalCase{"sum(1, 2, 3)", 6},
                    EvalCase{"sqrt(16)", 4}, EvalCase{"log10(1000)", 3}, EvalCase{"ln(_e)", 1},
                    EvalCase{"log(_e)", 1}, EvalCase{"value / target", 0.2},
                    EvalCase{"eu_orders / active_customers", 2.5},
                    // A comparison with a value-less variable ("no value") is false.
                    EvalCase{"forecast < 100", 0}, EvalCase{"!0 + 1", 2},
                    EvalCase{"!value > -1", 1}, EvalCase{"1 + 2 * 3 == 7 && 1 < 2 || 0", 1},
                    EvalCase{"0 ? 1 : 0 ? 2 : 3", 3}, EvalCase{"  value\t> 1  ", 1}));

TEST(ExpressionTest, UnknownVariableNamesItAndPointsAtIt) {
  VariableSet vars(AllNames());
  auto result = Expression::Compile("value > 3 && foo < 2", vars);
  ASSERT_TRUE(std::holds_alternative<ParseError>(result));
  EXPECT_EQ(std::get<ParseError>(result), (ParseError{13, "unknown variable \"foo\""}));
}

struct ErrorCase {
  const char* text;
  std::size_t offset;
  const char* message;
};

class ExpressionCompileErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ExpressionCompileErrorTest, ReportsOffsetAndMessage) {
  const ErrorCase& c = GetParam();
  VariableSet vars(AllNames());
  auto result = Expression::Compile(c.text, vars);
  ASSERT_TRUE(std::holds_alternative<ParseError>(result)) << c.text;
  EXPECT_EQ(std::get<ParseError>(result), (ParseError{c.offset, c.message})) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    All, ExpressionCompileErrorTest,
    testing::Values(
        ErrorCase{"", 0, "empty expression"}, ErrorCase{"   ", 0, "empty expression"},
        ErrorCase{"valu > 1", 0, "unknown variable \"valu\""},
        ErrorCase{"eu_orders / customers", 12, "unknown variable \"customers\""},
        ErrorCase{"foo(1)", 0, "unknown function \"foo\""},
        ErrorCase{"1 + foo (1)", 4, "unknown function \"foo\""},
        ErrorCase{"min + 1", 0, "function \"min\" needs arguments, e.g. min(x, y)"},
        ErrorCase{"value +", 7, "unexpected end of expression"},
        ErrorCase{"(value", 0, "unclosed \"(\"; expected \")\""},
        ErrorCase{"max(value, (prev)", 3, "unclosed \"(\"; expected \")\""},
        ErrorCase{"value)", 5, "unexpected \")\""}, ErrorCase{"min(1,)", 6, "unexpected \")\""},
        ErrorCase{"value 3", 6, "unexpected value \"3\"; expected an operator"},
        ErrorCase{"value prev", 6, "unexpected variable \"prev\"; expected an operator"},
        ErrorCase{"1 +* 2", 3, "unexpected operator \"*\""},
        ErrorCase{"value = 3", 6, "assignment is not supported; use \"==\" to compare"},
        ErrorCase{"value += 3", 7, "assignment is not supported; use \"==\" to compare"},
        ErrorCase{"1, 2", 1, "unexpected \",\" outside a function call; expected one expression"},
        ErrorCase{"\"abc\"", 0, "strings are not supported"},
        ErrorCase{"value ? 1", 6, "\"?\" without \":\"; expected cond ? a : b"},
        ErrorCase{"1 : 2", 2, "unexpected \":\""}, ErrorCase{"3 $ 4", 2, "unexpected \"$\""},
        ErrorCase{"1e400", 0, "invalid number \"1e400\""},
        ErrorCase{"value > \xc3\xa9", 8, "unexpected \"\xc3\xa9\""},
        ErrorCase{"sum()", 0, "too few arguments for \"sum\""},
        ErrorCase{"sin(1, 2)", 0, "too many arguments for \"sin\""}));

struct EvalErrorCase {
  const char* text;
  const char* message;
};

class ExpressionEvalErrorTest : public testing::TestWithParam<EvalErrorCase> {};

TEST_P(ExpressionEvalErrorTest, ReportsError) {
  const EvalErrorCase& c = GetParam();
  VariableSet vars(AllNames());
  vars.Set("value", 2);
  vars.Set("target", 0);
  const Expression expr = MustCompile(c.text, vars);
  const auto result = expr.Evaluate();
  ASSERT_TRUE(std::holds_alternative<std::string>(result)) << c.text;
  EXPECT_EQ(std::get<std::string>(result), c.message) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    All, ExpressionEvalErrorTest,
    testing::Values(EvalErrorCase{"1 / 0", "result is infinite (division by zero?)"},
                    EvalErrorCase{"value / target", "result is infinite (division by zero?)"},
                    EvalErrorCase{"target / target", "result is not a number"},
                    EvalErrorCase{"sqrt(-1)", "result is not a number"},
                    EvalErrorCase{"value - prev", "result is not a number; no value for \"prev\""},
                    EvalErrorCase{"delta + prev + value",
                                  "result is not a number; no value for \"delta\", \"prev\""}));

TEST(ExpressionTest, UsedVariablesAreSortedAndDistinct) {
  VariableSet vars(AllNames());
  const Expression expr = MustCompile("eu_orders / active_customers + eu_orders * value", vars);
  EXPECT_EQ(expr.UsedVariables(),
            (std::vector<std::string>{"active_customers", "eu_orders", "value"}));
  EXPECT_TRUE(MustCompile("1 + 2", vars).UsedVariables().empty());
  EXPECT_EQ(expr.Text(), "eu_orders / active_customers + eu_orders * value");
}

TEST(ExpressionTest, ReadsCurrentValuesEachEvaluation) {
  VariableSet vars(AllNames());
  const Expression expr = MustCompile("value * 2", vars);
  for (double v : {1.0, -3.5, 1e6}) {
    ASSERT_TRUE(vars.Set("value", v));
    EXPECT_EQ(std::get<double>(expr.Evaluate()), v * 2);
  }
}

TEST(ExpressionTest, SurvivesMovesOfExpressionAndVariables) {
  VariableSet vars(AllNames());
  std::vector<Expression> exprs;
  for (int i = 0; i < 20; ++i) {  // reallocation moves the elements
    // NOLINTNEXTLINE(performance-inefficient-vector-operation): the growth is the point
    exprs.push_back(MustCompile("value + " + std::to_string(i), vars));
  }
  Expression moved = std::move(exprs[7]);
  Expression assigned = MustCompile("0", vars);
  assigned = std::move(exprs[3]);
  VariableSet moved_vars = std::move(vars);
  moved_vars.Set("value", 100);
  EXPECT_EQ(std::get<double>(moved.Evaluate()), 107);
  EXPECT_EQ(std::get<double>(assigned.Evaluate()), 103);
  EXPECT_EQ(std::get<double>(exprs[19].Evaluate()), 119);
}

TEST(ExpressionTest, EveryDesignVariableCompiles) {
  EXPECT_EQ(
      std::set<std::string_view>(kExpressionVariableNames.begin(), kExpressionVariableNames.end())
          .size(),
      kExpressionVariableNames.size());
  VariableSet vars(AllNames());
  for (std::string_view name : kExpressionVariableNames) {
    vars.Set(name, 1);
    const Expression expr = MustCompile(name, vars);
    EXPECT_EQ(expr.UsedVariables(), std::vector<std::string>{std::string(name)});
    EXPECT_EQ(std::get<double>(expr.Evaluate()), 1);
  }
}

TEST(ExpressionVariableSetTest, NamesSlotsAndValues) {
  VariableSet vars({"a", "b", "a"});
  EXPECT_EQ(vars.Names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(std::isnan(*vars.Get("a")));
  EXPECT_TRUE(vars.Set("a", 3));
  EXPECT_FALSE(vars.Set("c", 3));
  EXPECT_EQ(vars.Slot("c"), nullptr);
  EXPECT_FALSE(vars.Get("c").has_value());
  double* slot = vars.Slot("b");
  ASSERT_NE(slot, nullptr);
  *slot = 4;
  EXPECT_EQ(vars.Get("b"), 4);
  VariableSet moved = std::move(vars);
  EXPECT_EQ(moved.Slot("b"), slot);
  moved.Clear();
  EXPECT_TRUE(std::isnan(*moved.Get("a")));
  EXPECT_TRUE(std::isnan(*slot));
}

TEST(ExpressionVariableSetTest, NamesMuParserCannotUseAreUnknown) {
  VariableSet vars({"value", "bad-name", "_pi"});
  auto result = Expression::Compile("value", vars);
  ASSERT_TRUE(std::holds_alternative<Expression>(result));
  auto bad = Expression::Compile("bad + 1", vars);
  ASSERT_TRUE(std::holds_alternative<ParseError>(bad));
  EXPECT_EQ(std::get<ParseError>(bad).message, "unknown variable \"bad\"");
}

}  // namespace
}  // namespace kpid::rules
