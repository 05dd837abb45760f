// Expression::Compile on any text against the daemon's variable names plus two KPIs; an
// expression that compiles is evaluated with and without values.
#include "rules/expression.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> names(kpid::rules::kExpressionVariableNames.begin(),
                                 kpid::rules::kExpressionVariableNames.end());
  names.emplace_back("eu_orders");
  names.emplace_back("active_customers");
  kpid::rules::VariableSet vars(names);
  auto compiled = kpid::rules::Expression::Compile(text, vars);
  auto* expr = std::get_if<kpid::rules::Expression>(&compiled);
  if (expr == nullptr) {
    KPID_FUZZ_CHECK(std::get<kpid::rules::ParseError>(compiled).offset <= size,
                    "error offset inside the text");
    return 0;
  }
  for (const std::string& used : expr->UsedVariables()) {
    KPID_FUZZ_CHECK(vars.Slot(used) != nullptr, "used variables are in the set");
  }
  (void)expr->Evaluate();  // all NaN: "no value"
  double v = -2.5;
  for (const std::string& name : vars.Names()) vars.Set(name, v += 1.25);
  auto result = expr->Evaluate();
  if (const double* d = std::get_if<double>(&result)) {
    KPID_FUZZ_CHECK(std::isfinite(*d), "a value is finite");
  }
  // Moved, it still reads the same variables.
  kpid::rules::Expression moved = std::move(*expr);
  (void)moved.Evaluate();
  return 0;
}
