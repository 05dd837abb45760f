#include "rules/template.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace kpid::rules {
namespace {

std::optional<std::string> Lookup(std::string_view name) {
  static const std::map<std::string, std::string, std::less<>> kValues = {
      {"value", "0.04"}, {"delta", "0.01"}, {"labels.team", "finance"}, {"kpi", "churn"}};
  const auto it = kValues.find(name);
  if (it == kValues.end()) return std::nullopt;
  return it->second;
}

struct RenderCase {
  const char* text;
  const char* expected;
  std::vector<std::string> names;
};

class TemplateRenderTest : public testing::TestWithParam<RenderCase> {};

TEST_P(TemplateRenderTest, Renders) {
  const RenderCase& c = GetParam();
  auto result = Template::Parse(c.text);
  ASSERT_TRUE(std::holds_alternative<Template>(result))
      << c.text << ": " << std::get<ParseError>(result).message;
  const Template& tmpl = std::get<Template>(result);
  EXPECT_EQ(tmpl.Render(Lookup), c.expected);
  EXPECT_EQ(tmpl.Names(), c.names);
}

INSTANTIATE_TEST_SUITE_P(
    All, TemplateRenderTest,
    testing::Values(
        RenderCase{"", "", {}}, RenderCase{"no placeholders", "no placeholders", {}},
        RenderCase{"Churn jumped to {{value}} ({{delta}})",
                   "Churn jumped to 0.04 (0.01)",
                   {"value", "delta"}},
        RenderCase{"{{ value }}|{{\tvalue}}|{{value  }}", "0.04|0.04|0.04", {"value"}},
        RenderCase{"{{kpi}}{{value}}", "churn0.04", {"kpi", "value"}},
        RenderCase{"team {{ labels.team }}", "team finance", {"labels.team"}},
        RenderCase{"{{_x1}}", "{{_x1}}", {"_x1"}},
        // Unknown names stay as written.
        RenderCase{"a {{ missing }} b {{value}}", "a {{ missing }} b 0.04", {"missing", "value"}},
        // Single braces and a stray "}}" are text.
        RenderCase{"{a} }} { {value}", "{a} }} { {value}", {}},
        RenderCase{"{{value}}}", "0.04}", {"value"}},
        RenderCase{"€ {{value}} €", "€ 0.04 €", {"value"}}));

struct ErrorCase {
  const char* text;
  std::size_t offset;
  const char* message;
};

class TemplateParseErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(TemplateParseErrorTest, ReportsOffsetAndMessage) {
  const ErrorCase& c = GetParam();
  auto result = Template::Parse(c.text);
  ASSERT_TRUE(std::holds_alternative<ParseError>(result)) << c.text;
  EXPECT_EQ(std::get<ParseError>(result), (ParseError{c.offset, c.message})) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    All, TemplateParseErrorTest,
    testing::Values(
        ErrorCase{"x {{value", 2, "unclosed \"{{\"; expected a name and \"}}\""},
        ErrorCase{"x {{value}", 2, "unclosed \"{{\"; expected a name and \"}}\""},
        ErrorCase{"{{ {{value}}", 0, "unclosed \"{{\"; expected a name and \"}}\""},
        ErrorCase{"{{value}} {{", 10, "unclosed \"{{\"; expected a name and \"}}\""},
        ErrorCase{"{{}}", 2, "empty placeholder; expected a name, e.g. {{value}}"},
        ErrorCase{"a {{  }}", 6, "empty placeholder; expected a name, e.g. {{value}}"},
        ErrorCase{"{{1abc}}", 2, "name starts with a digit; expected a letter or \"_\" first"},
        ErrorCase{"{{-x}}", 2, "unexpected \"-\" in placeholder; expected a name"},
        ErrorCase{"{{{value}}}", 2, "unexpected \"{\" in placeholder; expected a name"},
        ErrorCase{"{{\xc3\xa9}}", 2, "unexpected \"\xc3\xa9\" in placeholder; expected a name"},
        ErrorCase{"{{va-lue}}", 4, "unexpected \"-\" after \"va\"; expected \"}}\""},
        ErrorCase{"{{ a b }}", 5, "unexpected \"b\" after \"a\"; expected \"}}\""},
        ErrorCase{"{{a\n}}", 3, "unexpected byte 0x0a after \"a\"; expected \"}}\""},
        ErrorCase{"{{a.}}", 4, "unexpected \"}}\" after \".\"; expected the rest of the name"},
        ErrorCase{"{{a. b}}", 4, "unexpected \" \" in placeholder; expected a name"}));

}  // namespace
}  // namespace kpid::rules
