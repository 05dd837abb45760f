// The Grafana dashboard's structure: importable as "exported for sharing" (datasource
// input), the variables, panels and units the README promises.
#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/deploy/deploy_files.hpp"
#include "tests/deploy/promql_names.hpp"

namespace kpid::testing {
namespace {

using Json = nlohmann::json;
using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::StartsWith;

Json Dashboard() {
  return Json::parse(ReadFile(KPID_SOURCE_DIR "/deploy/grafana/kpid-overview.json"));
}

// Every panel, also those nested in collapsed rows.
std::vector<Json> Panels(const Json& dashboard) {
  std::vector<Json> out;
  for (const Json& p : dashboard["panels"]) {
    out.push_back(p);
    for (const Json& inner : p.value("panels", Json::array())) out.push_back(inner);
  }
  return out;
}

const Json* PanelTitled(const std::vector<Json>& panels, const std::string& title) {
  for (const Json& p : panels) {
    if (p.value("title", "") == title) return &p;
  }
  return nullptr;
}

TEST(DashboardTest, IsAnExportForSharingWithAPrometheusInput) {
  const Json d = Dashboard();
  EXPECT_GE(d["schemaVersion"].get<int>(), 36);
  EXPECT_TRUE(d["id"].is_null());
  EXPECT_EQ(d["uid"], "kpid-overview");
  ASSERT_EQ(d["__inputs"].size(), 1u);
  EXPECT_EQ(d["__inputs"][0]["name"], "DS_PROMETHEUS");
  EXPECT_EQ(d["__inputs"][0]["type"], "datasource");
  EXPECT_EQ(d["__inputs"][0]["pluginId"], "prometheus");
  std::set<std::string> required;
  for (const Json& r : d["__requires"])
    required.insert(r["type"].get<std::string>() + "/" + r["id"].get<std::string>());
  EXPECT_THAT(required, Contains("grafana/grafana"));
  EXPECT_THAT(required, Contains("datasource/prometheus"));
  for (const Json& p : Panels(d)) {
    if (p["type"] == "row") continue;
    EXPECT_TRUE(required.contains("panel/" + p["type"].get<std::string>())) << p["type"];
  }
}

TEST(DashboardTest, EveryPanelAndQueryUsesTheDatasourceInput) {
  const Json d = Dashboard();
  const Json ds = {{"type", "prometheus"}, {"uid", "${DS_PROMETHEUS}"}};
  std::set<int> ids;
  for (const Json& p : Panels(d)) {
    const std::string title = p.value("title", "");
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "duplicate id in " << title;
    EXPECT_TRUE(p.contains("gridPos")) << title;
    if (p["type"] == "row") continue;
    EXPECT_EQ(p["datasource"], ds) << title;
    EXPECT_FALSE(p.value("description", "").empty()) << title << " has no description";
    ASSERT_FALSE(p["targets"].empty()) << title;
    for (const Json& t : p["targets"]) {
      EXPECT_EQ(t["datasource"], ds) << title;
      EXPECT_FALSE(t.value("expr", "").empty()) << title;
    }
  }
  for (const Json& a : d["annotations"]["list"]) {
    if (a.value("builtIn", 0) == 1) continue;
    EXPECT_EQ(a["datasource"], ds) << a["name"];
  }
  // Nothing refers to a concrete datasource of the machine it was exported from.
  const std::string text = d.dump();
  for (std::size_t at = text.find("\"uid\":"); at != std::string::npos;
       at = text.find("\"uid\":", at + 1)) {
    const std::string value = text.substr(at + 6, text.find(',', at) - at - 6);
    EXPECT_TRUE(value.find("${DS_PROMETHEUS}") != std::string::npos ||
                value.find("-- Grafana --") != std::string::npos ||
                value.find("kpid-overview") != std::string::npos)
        << value;
  }
}

TEST(DashboardTest, HasTeamAndKpiVariables) {
  const Json d = Dashboard();
  std::map<std::string, Json> vars;
  for (const Json& v : d["templating"]["list"]) vars[v["name"]] = v;
  ASSERT_TRUE(vars.contains("team"));
  ASSERT_TRUE(vars.contains("kpi"));
  EXPECT_EQ(vars["team"]["type"], "query");
  EXPECT_EQ(vars["team"]["query"]["query"], "label_values(kpi_value, team)");
  EXPECT_EQ(vars["kpi"]["query"]["query"], "label_values(kpi_value{team=~\"$team\"}, kpi)");
  for (const char* name : {"team", "kpi"}) {
    EXPECT_EQ(vars[name]["datasource"]["uid"], "${DS_PROMETHEUS}") << name;
    EXPECT_TRUE(vars[name]["multi"].get<bool>()) << name;
    EXPECT_TRUE(vars[name]["includeAll"].get<bool>()) << name;
    // "All" must also match KPIs without a team label, which a (a|b) alternation would not.
    EXPECT_EQ(vars[name]["allValue"], ".*") << name;
  }
  // Provisioned from a file, nobody fills in ${DS_PROMETHEUS}: a datasource variable of that
  // name does.
  ASSERT_TRUE(vars.contains("DS_PROMETHEUS"));
  EXPECT_EQ(vars["DS_PROMETHEUS"]["type"], "datasource");
  EXPECT_EQ(vars["DS_PROMETHEUS"]["query"], "prometheus");
}

TEST(DashboardTest, HasTheDocumentedPanels) {
  const std::vector<Json> panels = Panels(Dashboard());
  const std::map<std::string, std::string> expected = {
      {"Goals by status", "stat"},
      {"KPI status", "table"},
      {"Progress vs expected", "timeseries"},
      {"Forecast vs target", "bargauge"},
      {"Value, trajectory and forecast: $kpi", "timeseries"},
      {"Firing alerts", "table"},
      {"Collector runs by result", "timeseries"},
      {"Collector error ratio", "timeseries"},
      {"Collector duration", "timeseries"},
      {"Notification attempts by result", "timeseries"},
      {"Notification outbox", "timeseries"},
      {"Unrouted alerts", "stat"},
      {"State store", "stat"},
      {"State store errors and pending writes", "timeseries"},
      {"Evaluation duration", "timeseries"},
  };
  for (const auto& [title, type] : expected) {
    const Json* p = PanelTitled(panels, title);
    ASSERT_NE(p, nullptr) << "no panel " << title;
    EXPECT_EQ((*p)["type"], type) << title;
  }
  const std::string units[][2] = {{"Progress vs expected", "percentunit"},
                                  {"Forecast vs target", "percentunit"},
                                  {"Collector error ratio", "percentunit"},
                                  {"Collector duration", "s"},
                                  {"Evaluation duration", "s"}};
  for (const auto& [title, unit] : units) {
    EXPECT_EQ((*PanelTitled(panels, title))["fieldConfig"]["defaults"]["unit"], unit) << title;
  }
  EXPECT_EQ((*PanelTitled(panels, "Value, trajectory and forecast: $kpi"))["repeat"], "kpi");
}

TEST(DashboardTest, StatusTableMapsEveryStatusToTextAndColour) {
  const std::vector<Json> panels = Panels(Dashboard());
  const Json& table = *PanelTitled(panels, "KPI status");
  std::string status_query;
  std::string days_query;
  for (const Json& t : table["targets"]) {
    EXPECT_EQ(t["format"], "table");
    EXPECT_TRUE(t["instant"].get<bool>());
    const std::string expr = t["expr"];
    if (expr.find("kpi_status") != std::string::npos) status_query = expr;
    if (expr.find("kpi_deadline_timestamp_seconds") != std::string::npos) days_query = expr;
  }
  EXPECT_THAT(status_query, ::testing::HasSubstr("== 1"));
  EXPECT_THAT(days_query, ::testing::HasSubstr("- time()"));
  Json mapping;
  std::set<std::string> percent_columns;
  for (const Json& o : table["fieldConfig"]["overrides"]) {
    for (const Json& prop : o["properties"]) {
      if (o["matcher"]["options"] == "Status" && prop["id"] == "mappings") mapping = prop["value"];
      if (prop["id"] == "unit" && prop["value"] == "percentunit") {
        percent_columns.insert(o["matcher"]["options"]);
      }
    }
  }
  EXPECT_EQ(percent_columns, (std::set<std::string>{"Progress", "Expected progress"}));
  ASSERT_EQ(mapping.size(), 1u);
  const Json& options = mapping[0]["options"];
  const std::map<std::string, std::string> colours = {
      {"achieved", "blue"}, {"on_track", "green"},  {"at_risk", "orange"},
      {"off_track", "red"}, {"missed", "dark-red"}, {"no_data", "#8e8e8e"}};
  for (const auto& [status, colour] : colours) {
    ASSERT_TRUE(options.contains(status)) << status;
    EXPECT_EQ(options[status]["color"], colour) << status;
    EXPECT_FALSE(options[status].value("text", "").empty()) << status;
  }
}

TEST(DashboardTest, QueriesParseIntoMetricNames) {
  // The integration test compares these with what kpid exposes; here: every query names at
  // least one metric, so a typo in the tokenizer cannot make that comparison vacuous.
  for (const Expression& e : DashboardExpressions(Dashboard())) {
    EXPECT_THAT(PromQlMetricNames(e.expr), ::testing::Not(IsEmpty())) << e.where << ": " << e.expr;
  }
  EXPECT_GE(DashboardExpressions(Dashboard()).size(), 30u);
}

TEST(RuleExpressionsTest, ReadsInlineAndBlockExpressionsAndTemplateQueries) {
  const std::vector<Expression> exprs = RuleExpressions(R"(groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        for: 5m
      - alert: B
        expr: |
          a
            unless b
        annotations:
          description: '{{ with printf "c{i='%s'}" $labels.i | query }}{{ end }}'
      - alert: C
        expr: "d > 1"
)");
  ASSERT_EQ(exprs.size(), 4u);
  EXPECT_EQ(exprs[0].expr, "up == 0");
  EXPECT_EQ(exprs[0].where, "rule A");
  EXPECT_EQ(exprs[1].expr, "a\n  unless b\n");
  EXPECT_EQ(exprs[1].where, "rule B");
  EXPECT_EQ(exprs[2].expr, "d > 1");
  EXPECT_EQ(exprs[3].expr, "c{i='x'}");
}

}  // namespace
}  // namespace kpid::testing
