// Engine::RenderText (what /metrics serves) against prometheus-cpp's serializer of
// Engine::Collect(): the same series, labels and values, whatever the KPIs hold.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "daemon/engine.hpp"
#include "daemon/metrics.hpp"
#include "tests/support/config_text.hpp"

namespace kpid {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr TimePoint kNow = std::chrono::sys_days(std::chrono::year{2026} / 11 / 15) + hours(12);

// Every line of an exposition: comment lines as they are, series as "name{labels}" -> value
// (read back as a number, so that 1e+06 and 1000000 agree).
struct Exposition {
  std::multiset<std::string> comments;
  std::map<std::string, double> series;
};

Exposition Parse(const std::string& text) {
  Exposition out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.front() == '#') {
      out.comments.insert(line);
      continue;
    }
    const std::size_t space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    const std::string value = line.substr(space + 1);
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    EXPECT_EQ(*end, '\0') << "not a number: " << line;
    EXPECT_TRUE(out.series.emplace(line.substr(0, space), v).second) << "twice: " << line;
  }
  return out;
}

TEST(EngineMetricsTest, TextMatchesTheSerializedCollection) {
  // A deadline goal with a rule and labels that need escaping, a recurring goal, a band goal
  // and a KPI without a goal or data.
  const std::string text =
      "[evaluation]\ninterval = \"1m\"\n" + std::string(testing::kHandFedSource) + R"(
[[kpi]]
name = "revenue"
labels = { team = "fin \"EU\"", path = 'C:\books', note = "a\nb" }
source = "db"
query = "SELECT 1"
  [kpi.goal]
  baseline = 0
  target = 1e6
  start = 2026-11-01T00:00:00Z
  deadline = 2026-12-01T00:00:00Z
  [[kpi.rule]]
  name = "jump"
  when = "delta > 5"

[[kpi]]
name = "signups"
source = "db"
query = "SELECT 1"
  [kpi.goal]
  period = "month"
  baseline = 0
  target = 300

[[kpi]]
name = "churn"
source = "db"
query = "SELECT 1"
  [kpi.goal]
  max = 0.03

[[kpi]]
name = "idle"
source = "db"
query = "SELECT 1"
)";
  auto engine = std::make_shared<Engine>();
  engine->Apply(testing::MustLoadConfig(text, "metrics.toml"));
  for (int i = 0; i < 5; ++i) {
    const TimePoint at = kNow - minutes(5 - i);
    (void)engine->Record("revenue", collectors::Sample{1.0e5 + 1.0e4 * i, at});
    (void)engine->Record("signups", collectors::Sample{40.0 + i, at});
    (void)engine->Record("churn", collectors::Sample{0.031, at});
  }
  (void)engine->Evaluate(kNow);

  std::vector<std::string> pieces = {"stale text of an earlier rendering"};
  engine->RenderText(pieces);
  std::string direct;
  for (const std::string& piece : pieces) direct += piece;
  const std::string serialized = prometheus::TextSerializer().Serialize(engine->Collect());
  const Exposition a = Parse(direct);
  const Exposition b = Parse(serialized);
  EXPECT_EQ(a.comments, b.comments);
  EXPECT_EQ(a.series.size(), b.series.size());
  for (const auto& [series, value] : a.series) {
    auto it = b.series.find(series);
    if (it == b.series.end()) {
      ADD_FAILURE() << "only in RenderText: " << series;
    } else if (std::abs(value - it->second) > 1e-14 * std::abs(value)) {
      // prometheus-cpp writes 16 significant digits, RenderText the shortest exact text.
      ADD_FAILURE() << series << ": " << value << " against " << it->second;
    }
  }
  // The walk covers what the KPIs hold: escaped labels, a counter, statuses, alerts.
  EXPECT_NE(
      direct.find(
          R"(kpi_value{kpi="revenue",note="a\nb",path="C:\\books",team="fin \"EU\""} 140000)"),
      std::string::npos)
      << direct;
  EXPECT_NE(direct.find("# TYPE kpi_goal_periods_total counter\n"), std::string::npos);
  EXPECT_NE(direct.find(R"(kpi_status{kpi="churn",status="off_track"} 1)"), std::string::npos);
  EXPECT_NE(
      direct.find(
          R"(kpi_alert_firing{kpi="revenue",note="a\nb",path="C:\\books",team="fin \"EU\"",alert="revenue/jump",severity="warning"} )"),
      std::string::npos);
  EXPECT_GT(a.series.size(), 40U);
}

TEST(EngineMetricsTest, ValuesReadBackExactly) {
  for (double v : {0.1, 1.0 / 3, 1e-300, 123456789.125, -0.0, 1e21}) {
    std::string out;
    exposition::AppendValue(out, v);
    EXPECT_EQ(std::strtod(out.c_str(), nullptr), v) << out;
  }
  std::string special;
  exposition::AppendValue(special, std::numeric_limits<double>::infinity());
  special += ' ';
  exposition::AppendValue(special, -std::numeric_limits<double>::infinity());
  special += ' ';
  exposition::AppendValue(special, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(special, "+Inf -Inf NaN");
}

}  // namespace
}  // namespace kpid
