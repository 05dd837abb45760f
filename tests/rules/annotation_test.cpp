#include "rules/annotation.hpp"

#include <limits>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

namespace kpid::rules {
namespace {

struct FormatCase {
  double value;
  const char* text;
};

TEST(FormatNumberTest, SixSignificantDigitsWithoutTrailingZeros) {
  const FormatCase cases[] = {
      {0, "0"},
      {-0.0, "0"},
      {1, "1"},
      {-1, "-1"},
      {0.5, "0.5"},
      {0.025, "0.025"},
      {0.03, "0.03"},
      {0.1 + 0.2, "0.3"},
      {1.0 / 3, "0.333333"},
      {200.0 / 3, "66.6667"},
      {-200.0 / 3, "-66.6667"},
      {12.5, "12.5"},
      {99999.96, "100000"},
      {123456.7, "123457"},
      {1200000, "1200000"},
      {1234567.891, "1234568"},
      {500000, "500000"},
      {0.0001, "0.0001"},
      {0.00012345678, "0.000123457"},
      {0.00001234, "1.234e-05"},
      {-0.000015, "-1.5e-05"},
      {1e15, "1e+15"},
      {1.23456789e20, "1.23457e+20"},
      {std::numeric_limits<double>::quiet_NaN(), "n/a"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {-std::numeric_limits<double>::infinity(), "-inf"},
  };
  for (const FormatCase& c : cases) {
    EXPECT_EQ(FormatNumber(c.value), c.text) << c.text;
  }
}

Template Parse(std::string_view text) { return std::get<Template>(Template::Parse(text)); }

TEST(RenderAnnotationTest, RendersEveryKindOfName) {
  Variables v = NoVariables();
  v.value = 1234567.891;
  v.delta = 0.00512;
  v.expected = 600000;
  v.progress = 1.0 / 3;
  VariableSet others(std::vector<std::string>{"eu_orders", "active_customers"});
  others.Set("eu_orders", 42);
  const Labels labels = {{"team", "finance"}, {"region", "EU"}};
  AnnotationContext c;
  c.kpi = "quarterly_revenue";
  c.title = "Quarterly revenue";
  c.unit = "EUR";
  c.owner = "cfo@example.com";
  c.alert = "quarterly_revenue/goal";
  c.rule = "goal";
  c.status = Status::kOffTrack;
  c.severity = Severity::kCritical;
  c.labels = &labels;
  c.variables = &v;
  c.others = &others;

  EXPECT_EQ(RenderAnnotation(Parse("{{title}} is {{status}} ({{severity}}): {{value}} {{unit}}, "
                                   "expected {{expected}}, progress {{progress}}"),
                             c),
            "Quarterly revenue is off_track (critical): 1234568 EUR, expected 600000, "
            "progress 0.333333");
  EXPECT_EQ(RenderAnnotation(Parse("{{kpi}} {{alert}} {{rule}} {{owner}}"), c),
            "quarterly_revenue quarterly_revenue/goal goal cfo@example.com");
  EXPECT_EQ(RenderAnnotation(Parse("team {{ team }} in {{region}}; {{labels}}"), c),
            "team finance in EU; team=finance, region=EU");
  EXPECT_EQ(RenderAnnotation(Parse("jumped by {{delta}}, forecast {{forecast}}"), c),
            "jumped by 0.00512, forecast n/a");
  EXPECT_EQ(RenderAnnotation(Parse("{{eu_orders}} / {{active_customers}}"), c), "42 / n/a");
  EXPECT_EQ(RenderAnnotation(Parse("{{unknown}}"), c), "{{unknown}}");
}

TEST(RenderAnnotationTest, MissingPartsStayAsWritten) {
  const AnnotationContext empty;
  EXPECT_EQ(RenderAnnotation(Parse("{{value}} {{status}} {{severity}} {{labels}} {{team}}"), empty),
            "{{value}} {{status}} {{severity}} {{labels}} {{team}}");
  EXPECT_EQ(RenderAnnotation(Parse("[{{unit}}]"), empty), "[]");
}

}  // namespace
}  // namespace kpid::rules
