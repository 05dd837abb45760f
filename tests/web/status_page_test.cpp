// The status pages rendered through the real router from a real Engine (config from a
// string, values recorded by hand): statuses, escaping, filter, sort, pagination, 404,
// headers, HEAD, and the HTML's structure.
#include "daemon/web/status_page.hpp"

#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/load_config.hpp"
#include "daemon/web/chart.hpp"
#include "daemon/web/html.hpp"
#include "daemon/web/parts.hpp"
#include "tests/support/config_text.hpp"
#include "tests/web/html_check.hpp"

namespace kpid::web {
namespace {

namespace beast_http = boost::beast::http;
using std::chrono::hours;
using ::testing::HasSubstr;
using testing::HtmlDocument;
using testing::HtmlElement;
using ::testing::Not;

// 2026-11-15T12:00:00Z: half way between 2026-10-01 and 2026-12-31 is about here.
constexpr TimePoint kNow = std::chrono::sys_days(std::chrono::year{2026} / 11 / 15) + hours(12);

std::shared_ptr<const config::Config> MustLoad(const std::string& kpis) {
  return testing::MustLoadConfig(
      "[evaluation]\ninterval = \"1m\"\n" + std::string(testing::kHandFedSource) + kpis,
      "web.toml");
}

// A deadline KPI: 0 -> 100 from 2026-10-01 to 2026-12-31 (UTC) unless `goal` says otherwise.
std::string DeadlineKpi(const std::string& name, const std::string& extra = "",
                        const std::string& deadline = "2026-12-31T00:00:00Z") {
  return "\n[[kpi]]\nname = \"" + name + "\"\nsource = \"db\"\nquery = \"SELECT 1\"\n" +
         "stale_after = \"1h\"\n" + extra +
         "  [kpi.goal]\n  baseline = 0\n  target = 100\n  start = 2026-10-01T00:00:00Z\n"
         "  deadline = " +
         deadline + "\n  notify_on = [\"off_track\", \"missed\"]\n";
}

class FakeSource : public PageSource {
 public:
  explicit FakeSource(const std::string& kpis) { engine_.Apply(MustLoad(kpis)); }

  void Set(const std::string& kpi, double value, TimePoint at = kNow) {
    (void)engine_.Record(kpi, collectors::Sample{value, at});
  }
  void Fail(const std::string& kpi, const std::string& message) {
    (void)engine_.Record(kpi, collectors::CollectError{collectors::ErrorKind::kConnect, message});
  }
  void Evaluate() {
    (void)engine_.Evaluate(kNow);
    evaluated_ = kNow;
  }

  const std::vector<KpiView>& Kpis() const override { return engine_.kpis(); }
  const KpiView* Find(std::string_view kpi) const override { return engine_.Find(kpi); }
  std::vector<rules::Sample> History(const std::string& kpi, TimePoint since,
                                     std::size_t limit) const override {
    ++history_calls;
    std::vector<rules::Sample> out;
    auto it = history.find(kpi);
    if (it == history.end()) return out;
    for (const rules::Sample& s : it->second) {
      if (s.at >= since) out.push_back(s);
    }
    if (out.size() > limit) {
      const auto drop = static_cast<std::ptrdiff_t>(out.size() - limit);
      if (keep_newest) {
        out.erase(out.begin(), out.begin() + drop);
      } else {
        out.erase(out.end() - drop, out.end());
      }
    }
    return out;
  }
  std::vector<SilenceNote> Silences(const KpiView& kpi, TimePoint) const override {
    auto it = silences.find(kpi.config->name);
    return it == silences.end() ? std::vector<SilenceNote>{} : it->second;
  }
  std::vector<store::RestatementRow> Restatements(const std::string& kpi) const override {
    auto it = restatements.find(kpi);
    return it == restatements.end() ? std::vector<store::RestatementRow>{} : it->second;
  }
  std::optional<TimePoint> EvaluatedAt() const override { return evaluated_; }
  std::chrono::seconds RefreshInterval() const override { return refresh; }
  const date::time_zone* Zone() const override { return zone; }
  TimePoint Now() const override { return kNow; }

  const date::time_zone* zone = nullptr;
  std::map<std::string, std::vector<rules::Sample>> history;
  std::map<std::string, std::vector<SilenceNote>> silences;
  std::map<std::string, std::vector<store::RestatementRow>> restatements;  // newest first
  std::chrono::seconds refresh{60};
  mutable int history_calls = 0;
  bool keep_newest = false;  // which samples History() keeps of more than `limit`

 private:
  Engine engine_;
  std::optional<TimePoint> evaluated_;
};

class StatusPageTest : public ::testing::Test {
 protected:
  http::Response Get(const FakeSource& source, const std::string& target,
                     beast_http::verb method = beast_http::verb::get) {
    http::Router router;
    AddRoutes(router, source);
    http::Request req{method, target, 11};
    return router.Dispatch(req);
  }
};

// "nan" as a word (not inside "finance"), as printf would print a NaN.
bool HasNan(const std::string& body) {
  static const std::regex kNan("(^|[^a-z])-?nan([^a-z]|$)", std::regex::icase);
  return std::regex_search(body, kNan);
}

// One KPI per status, in an order that is not the display order.
std::string AllStatuses() {
  return DeadlineKpi("on_time",
                     "title = \"On time\"\nunit = \"EUR\"\nowner = \"cfo@example.com\"\n"
                     "labels = { team = \"finance\" }\n") +
         DeadlineKpi("done", "labels = { team = \"sales\" }\n") +
         DeadlineKpi("lagging", "labels = { team = \"finance\", region = \"eu\" }\n") +
         DeadlineKpi("late", "", "2026-11-01T00:00:00Z") +
         DeadlineKpi("broken", "labels = { team = \"finance\" }\n") +
         DeadlineKpi("slipping", "labels = { team = \"finance\", region = \"us\" }\n") +
         "\n[[kpi]]\nname = \"churn\"\nsource = \"db\"\nquery = \"SELECT 1\"\n"
         "  [kpi.goal]\n  max = 0.03\n  warn_max = 0.025\n" +
         "\n[[kpi]]\nname = \"plain\"\nsource = \"db\"\nquery = \"SELECT 1\"\n" +
         "\n[[kpi]]\nname = \"waiting\"\nsource = \"db\"\nquery = \"SELECT 1\"\n";
}

void FillAllStatuses(FakeSource& source) {
  source.Set("on_time", 55);                        // expected ~0.49
  source.Set("done", 120);                          // achieved
  source.Set("lagging", 20);                        // gap ~0.29 > 0.15: off_track
  source.Set("late", 50);                           // deadline passed: missed
  source.Fail("broken", "db: connection refused");  // no_data
  source.Set("slipping", 40);                       // gap ~0.09: at_risk
  source.Set("churn", 0.02);                        // on_track (band)
  source.Set("plain", 7);                           // no goal
  // "waiting" never collected.
  source.Evaluate();
}

std::vector<std::string> CardIds(const HtmlDocument& doc) {
  std::vector<std::string> ids;
  for (const HtmlElement* e : doc.ByClass("kpi")) ids.push_back(e->Attribute("id"));
  return ids;
}

std::string Badge(const HtmlDocument& doc, const std::string& id) {
  const HtmlElement* card = doc.ById(id);
  if (card == nullptr) return "<missing card>";
  for (const HtmlElement* e : doc.Within(*card, "span")) {
    if (e->HasClass("badge")) return e->text;
  }
  return "<no badge>";
}

TEST_F(StatusPageTest, OverviewShowsEveryStatusMostUrgentFirst) {
  FakeSource source(AllStatuses());
  FillAllStatuses(source);
  const http::Response res = Get(source, "/");
  ASSERT_EQ(res.result(), beast_http::status::ok);
  EXPECT_EQ(res[beast_http::field::content_type], "text/html; charset=utf-8");
  const HtmlDocument doc(res.body());
  EXPECT_THAT(doc.errors(), ::testing::IsEmpty());
  EXPECT_THAT(CardIds(doc), ::testing::ElementsAre("late", "lagging", "slipping", "broken",
                                                   "on_time", "churn", "done", "plain", "waiting"));
  EXPECT_EQ(Badge(doc, "late"), "Missed");
  EXPECT_EQ(Badge(doc, "lagging"), "Off track");
  EXPECT_EQ(Badge(doc, "slipping"), "At risk");
  EXPECT_EQ(Badge(doc, "broken"), "No data");
  EXPECT_EQ(Badge(doc, "on_time"), "On track");
  EXPECT_EQ(Badge(doc, "churn"), "On track");
  EXPECT_EQ(Badge(doc, "done"), "Achieved");
  EXPECT_EQ(Badge(doc, "plain"), "No goal");
  EXPECT_EQ(Badge(doc, "waiting"), "Not judged yet");
  // The badge's colour class goes with its text.
  EXPECT_TRUE(doc.ById("lagging")->HasClass("b-off_track"));

  const HtmlElement* on_time = doc.ById("on_time");
  EXPECT_THAT(on_time->text, HasSubstr("On time"));
  EXPECT_THAT(on_time->text, HasSubstr("55 EUR"));
  EXPECT_THAT(on_time->text, HasSubstr("100 EUR by 2026-12-30"));
  EXPECT_THAT(on_time->text, HasSubstr("cfo@example.com"));
  EXPECT_THAT(on_time->text, HasSubstr("Days left"));
  EXPECT_EQ(doc.Within(*on_time, "svg").size(), 2u) << "progress bar and sparkline";
  EXPECT_THAT(doc.ById("broken")->text, HasSubstr("db: connection refused"));
  EXPECT_THAT(doc.ById("churn")->text, HasSubstr("at most 0.03"));
}

TEST_F(StatusPageTest, SummaryCountsEveryStatus) {
  FakeSource source(AllStatuses());
  FillAllStatuses(source);
  const HtmlDocument doc(Get(source, "/").body());
  const HtmlElement* summary = doc.ById("summary-h");
  ASSERT_NE(summary, nullptr);
  std::map<std::string, std::string> counts;
  for (const HtmlElement* link : doc.ByTag("a")) {
    if (link->Attribute("href").find("status=") == std::string::npos) continue;
    for (const HtmlElement* n : doc.Within(*link, "span")) {
      if (n->HasClass("n")) counts[link->Attribute("href")] = n->text;
    }
  }
  EXPECT_EQ(counts["/?status=on_track"], "2");
  EXPECT_EQ(counts["/?status=missed"], "1");
  EXPECT_EQ(counts["/?status=achieved"], "1");
  EXPECT_EQ(counts["/?status=pending"], "1");
}

TEST_F(StatusPageTest, PageStructureIsAccessible) {
  FakeSource source(AllStatuses());
  FillAllStatuses(source);
  for (const std::string target : {"/", "/kpi/on_time", "/kpi/churn", "/kpi/nope"}) {
    SCOPED_TRACE(target);
    const std::string body = Get(source, target).body();
    const HtmlDocument doc(body);
    EXPECT_THAT(doc.errors(), ::testing::IsEmpty());
    ASSERT_EQ(doc.ByTag("html").size(), 1u);
    EXPECT_EQ(doc.ByTag("html")[0]->Attribute("lang"), "en");
    ASSERT_EQ(doc.ByTag("title").size(), 1u);
    EXPECT_FALSE(doc.ByTag("title")[0]->text.empty());
    EXPECT_EQ(doc.ByTag("h1").size(), 1u);
    EXPECT_EQ(doc.ByTag("main").size(), 1u);
    bool viewport = false;
    for (const HtmlElement* m : doc.ByTag("meta")) viewport |= m->Attribute("name") == "viewport";
    EXPECT_TRUE(viewport);
    for (const HtmlElement& e : doc.elements()) {
      EXPECT_EQ(e.attributes.count("style"), 0u) << "inline style on <" << e.tag << ">";
      for (const auto& [name, value] : e.attributes) {
        EXPECT_FALSE(name.starts_with("on")) << "inline handler " << name;
      }
      if (e.tag == "script") {
        EXPECT_TRUE(e.text.empty()) << "inline script";
        EXPECT_EQ(e.Attribute("src"), "/static/kpid.js");
      }
      if (e.tag == "svg") {
        EXPECT_EQ(e.Attribute("role"), "img");
        EXPECT_FALSE(e.Attribute("aria-label").empty());
      }
      if (e.tag == "th") {
        EXPECT_FALSE(e.Attribute("scope").empty()) << "th without scope";
      }
      if (e.tag == "table") {
        EXPECT_FALSE(doc.Within(e, "th").empty()) << "table without headers";
      }
    }
    EXPECT_FALSE(HasNan(body)) << "a NaN printed";
    EXPECT_THAT(body, Not(HasSubstr("n/a")));
    EXPECT_THAT(body, Not(HasSubstr("inf ")));
  }
}

TEST_F(StatusPageTest, EscapesEveryStringFromTheConfig) {
  const std::string evil = "<script>alert(1)</script>\\\" onmouseover=\\\"x";
  FakeSource source(DeadlineKpi("evil", "title = \"" + evil + "\"\nunit = \"<b>u</b>\"\n" +
                                            "owner = \"<img src=x onerror=alert(2)>\"\n" +
                                            "labels = { team = \"<i>&amp;</i>\" }\n"));
  source.Set("evil", 10);
  source.Fail("evil", "<svg onload=alert(3)>");
  source.silences["evil"] = {{"s1", "evil/goal", "<em>freeze</em>", "<u>ops</u>", kNow + hours(1)}};
  source.Evaluate();
  for (const std::string target : {"/", "/kpi/evil", "/?team=%3Ci%3E%26amp%3B%3C%2Fi%3E"}) {
    SCOPED_TRACE(target);
    const std::string body = Get(source, target).body();
    const HtmlDocument doc(body);
    EXPECT_THAT(doc.errors(), ::testing::IsEmpty());
    EXPECT_THAT(body, Not(HasSubstr("<script>alert")));
    EXPECT_THAT(body, Not(HasSubstr("<img")));
    EXPECT_THAT(body, Not(HasSubstr("<svg onload")));
    EXPECT_THAT(body, Not(HasSubstr("<em>")));
    EXPECT_THAT(body, Not(HasSubstr("<u>")));
    EXPECT_THAT(body, Not(HasSubstr("<i>")));
    EXPECT_THAT(body, Not(HasSubstr("<b>")));
    EXPECT_THAT(body, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for (const HtmlElement& e : doc.elements()) {
      for (const auto& [name, value] : e.attributes) {
        EXPECT_FALSE(name.starts_with("on")) << "injected attribute " << name;
      }
    }
    // The title reads as written, as text.
    EXPECT_THAT(doc.ByTag("title")[0]->text + doc.ById("main-content")->text,
                HasSubstr("<script>alert(1)</script>"));
  }
  EXPECT_THAT(Get(source, "/kpi/%3Cscript%3E").body(), HasSubstr("&lt;script&gt;"));
}

TEST_F(StatusPageTest, FiltersByLabelsAndStatus) {
  FakeSource source(AllStatuses());
  FillAllStatuses(source);
  EXPECT_THAT(CardIds(HtmlDocument(Get(source, "/?team=finance").body())),
              ::testing::ElementsAre("lagging", "slipping", "broken", "on_time"));
  EXPECT_THAT(CardIds(HtmlDocument(Get(source, "/?team=finance&region=eu").body())),
              ::testing::ElementsAre("lagging"));
  EXPECT_THAT(CardIds(HtmlDocument(Get(source, "/?team=finance&status=at_risk").body())),
              ::testing::ElementsAre("slipping"));
  EXPECT_THAT(CardIds(HtmlDocument(Get(source, "/?team=nobody").body())), ::testing::IsEmpty());
  EXPECT_THAT(Get(source, "/?team=nobody").body(), HasSubstr("No KPI matches"));
  // The summary counts the label filter's KPIs, and its links keep the filter.
  EXPECT_THAT(Get(source, "/?team=finance").body(),
              HasSubstr("href=\"/?team=finance&amp;status=off_track\""));
  EXPECT_EQ(Get(source, "/?status=bogus").result(), beast_http::status::bad_request);
  EXPECT_EQ(Get(source, "/?page=0").result(), beast_http::status::bad_request);
  EXPECT_EQ(Get(source, "/?page=x").result(), beast_http::status::bad_request);
  EXPECT_EQ(Get(source, "/?page=%zz").result(), beast_http::status::bad_request);
}

TEST_F(StatusPageTest, PaginatesAHundredAtATime) {
  std::string kpis;
  for (int i = 0; i < 250; ++i) kpis += DeadlineKpi("k" + std::to_string(i));
  FakeSource source(kpis);
  for (int i = 0; i < 250; ++i) source.Set("k" + std::to_string(i), i == 200 ? 0 : 50);
  source.Evaluate();
  const HtmlDocument first(Get(source, "/").body());
  std::vector<std::string> ids = CardIds(first);
  ASSERT_EQ(ids.size(), 100u);
  EXPECT_EQ(ids[0], "k200") << "the off-track KPI comes first";
  EXPECT_EQ(ids[1], "k0");
  EXPECT_THAT(Get(source, "/").body(), HasSubstr("href=\"/?page=2\""));
  EXPECT_THAT(Get(source, "/").body(), HasSubstr("Page 1 of 3"));
  ids = CardIds(HtmlDocument(Get(source, "/?page=3").body()));
  ASSERT_EQ(ids.size(), 50u);
  EXPECT_EQ(ids.back(), "k249");
  EXPECT_THAT(Get(source, "/?page=3").body(), HasSubstr("href=\"/?page=2\""));
  EXPECT_EQ(CardIds(HtmlDocument(Get(source, "/?page=99").body())).size(), 50u)
      << "past the end shows the last page";
}

TEST_F(StatusPageTest, DetailPageShowsChartFiguresAlertsAndSamples) {
  FakeSource source(DeadlineKpi("revenue", "title = \"Revenue\"\nunit = \"EUR\"\n") +
                    "  [[kpi.goal.milestone]]\n  at = 2026-11-01T00:00:00Z\n  value = 30\n");
  std::vector<rules::Sample> samples;
  samples.reserve(40);
  for (int d = 0; d < 40; ++d) {
    samples.push_back(
        {std::chrono::sys_days(std::chrono::year{2026} / 10 / 7) + hours(24 * d), 0.5 * d});
  }
  source.history["revenue"] = samples;
  for (const rules::Sample& s : samples) source.Set("revenue", s.value, s.at);
  source.Set("revenue", 20);
  source.silences["revenue"] = {{"s1", "revenue/goal", "holiday freeze", "ops", kNow + hours(48)}};
  source.Evaluate();
  const http::Response res = Get(source, "/kpi/revenue");
  ASSERT_EQ(res.result(), beast_http::status::ok);
  const HtmlDocument doc(res.body());
  EXPECT_THAT(doc.errors(), ::testing::IsEmpty());
  EXPECT_EQ(doc.ByTag("h1")[0]->text, "Revenue");
  const auto charts = doc.ByClass("chart");
  ASSERT_EQ(charts.size(), 1u);
  EXPECT_EQ(doc.Within(*charts[0], "polyline").size(), 2u) << "history and trajectory";
  EXPECT_EQ(doc.Within(*charts[0], "circle").size(), 2u) << "milestone and latest";
  std::set<std::string> lines;
  for (const HtmlElement* l : doc.Within(*charts[0], "line")) lines.insert(l->Attribute("class"));
  EXPECT_THAT(lines, ::testing::IsSupersetOf({"target", "forecast", "now", "grid"}));
  const std::string main = doc.ById("main-content")->text;
  EXPECT_THAT(main, HasSubstr("Off track"));
  EXPECT_THAT(main, HasSubstr("revenue/goal"));
  EXPECT_THAT(main, HasSubstr("holiday freeze"));
  EXPECT_THAT(main, HasSubstr("30 EUR by 2026-10-31"))
      << "milestone: the day that ends at its instant";
  EXPECT_THAT(main, HasSubstr("19.5 EUR")) << "a stored sample";
  EXPECT_EQ(doc.ById("samples-h") != nullptr, true);
}

TEST_F(StatusPageTest, UnknownKpiIsAnHtml404) {
  FakeSource source(AllStatuses());
  const http::Response res = Get(source, "/kpi/nope");
  EXPECT_EQ(res.result(), beast_http::status::not_found);
  EXPECT_EQ(res[beast_http::field::content_type], "text/html; charset=utf-8");
  EXPECT_THAT(res.body(), HasSubstr("nope"));
  EXPECT_FALSE(res["Content-Security-Policy"].empty());
}

TEST_F(StatusPageTest, EveryPageAndAssetCarriesAStrictCsp) {
  FakeSource source(AllStatuses());
  FillAllStatuses(source);
  for (const std::string target :
       {"/", "/kpi/on_time", "/kpi/nope", "/?page=0", "/static/kpid.css", "/static/kpid.js"}) {
    SCOPED_TRACE(target);
    const http::Response res = Get(source, target);
    const std::string csp(res["Content-Security-Policy"]);
    EXPECT_THAT(csp, HasSubstr("default-src 'none'"));
    EXPECT_THAT(csp, HasSubstr("script-src 'self'"));
    EXPECT_THAT(csp, HasSubstr("style-src 'self'"));
    EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
    EXPECT_THAT(csp, Not(HasSubstr("unsafe")));
    EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  }
  EXPECT_EQ(Get(source, "/static/kpid.css")[beast_http::field::content_type],
            "text/css; charset=utf-8");
  EXPECT_EQ(Get(source, "/static/kpid.js")[beast_http::field::content_type],
            "text/javascript; charset=utf-8");
  EXPECT_EQ(Get(source, "/")[beast_http::field::cache_control], "no-store");
}

TEST_F(StatusPageTest, HeadHasTheHeadersButNoBody) {
  FakeSource source(AllStatuses());
  FillAllStatuses(source);
  const http::Response get = Get(source, "/");
  const http::Response head = Get(source, "/", beast_http::verb::head);
  EXPECT_EQ(head.result(), beast_http::status::ok);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[beast_http::field::content_length], std::to_string(get.body().size()));
  EXPECT_FALSE(head["Content-Security-Policy"].empty());
  EXPECT_EQ(Get(source, "/kpi/nope", beast_http::verb::head).result(),
            beast_http::status::not_found);
  EXPECT_EQ(Get(source, "/", beast_http::verb::post).result(),
            beast_http::status::method_not_allowed);
}

TEST_F(StatusPageTest, TimesAndDatesAreInTheEvaluationTimeZone) {
  // Midnight in Berlin (UTC+1 in winter) ends 2026-12-31 there.
  FakeSource source(DeadlineKpi("berlin", "unit = \"EUR\"\n", "2026-12-31T23:00:00Z"));
  source.zone = date::locate_zone("Europe/Berlin");
  source.Set("berlin", 55);
  source.Evaluate();
  const std::string overview = HtmlDocument(Get(source, "/").body()).ById("berlin")->text;
  EXPECT_THAT(overview, HasSubstr("100 EUR by 2026-12-31"));
  EXPECT_THAT(overview, HasSubstr("2026-11-15 13:00 CET")) << "updated, 12:00 UTC";
  const HtmlDocument detail(Get(source, "/kpi/berlin").body());
  const std::string header = detail.ByTag("header").at(0)->text;
  EXPECT_THAT(header, HasSubstr("Evaluated 2026-11-15 13:00 CET"));
  const std::string main = detail.ById("main-content")->text;
  EXPECT_THAT(main, HasSubstr("2026-10-01 02:00 CEST")) << "the start, in summer time";
  EXPECT_THAT(main, ::testing::Not(HasSubstr("UTC")));
  // Without a zone (UTC), the same deadline is an instant, not a day's end.
  source.zone = nullptr;
  EXPECT_THAT(HtmlDocument(Get(source, "/").body()).ById("berlin")->text,
              HasSubstr("100 EUR by 2026-12-31 23:00 UTC"));
}

TEST_F(StatusPageTest, RefreshIntervalHasAFloor) {
  FakeSource source(AllStatuses());
  source.refresh = std::chrono::seconds(1);
  const HtmlDocument doc(Get(source, "/").body());
  EXPECT_EQ(doc.ByTag("body")[0]->Attribute("data-refresh"), "5");
  source.refresh = std::chrono::seconds(90);
  EXPECT_EQ(HtmlDocument(Get(source, "/").body()).ByTag("body")[0]->Attribute("data-refresh"),
            "90");
}

TEST_F(StatusPageTest, BeforeTheFirstEvaluationNothingIsNan) {
  FakeSource source(AllStatuses());
  for (const std::string target : {"/", "/kpi/on_time", "/kpi/churn", "/kpi/plain"}) {
    const std::string body = Get(source, target).body();
    EXPECT_FALSE(HasNan(body)) << target;
    EXPECT_THAT(body, HasSubstr("\u2014")) << target;
    EXPECT_THAT(body, HasSubstr("Not evaluated yet")) << target;
  }
}

TEST_F(StatusPageTest, DenseHistoryShowsItsNewestPartInTwoQueriesAtMost) {
  FakeSource source(DeadlineKpi("dense"));
  const TimePoint start = std::chrono::sys_days(std::chrono::year{2026} / 10 / 1);
  std::vector<rules::Sample> samples;
  for (int m = 0; start + std::chrono::minutes(m) <= kNow; m += 5) {
    samples.push_back({start + std::chrono::minutes(m), m / 100.0});
  }
  source.history["dense"] = samples;
  source.Set("dense", samples.back().value, samples.back().at);
  source.Evaluate();
  const std::vector<rules::Sample> got =
      ChartHistory(source, *source.Find("dense"), kNow, /*limit=*/600);
  EXPECT_EQ(source.history_calls, 2);
  ASSERT_FALSE(got.empty());
  EXPECT_LE(got.size(), 600u);
  EXPECT_EQ(got.back(), samples.back()) << "ends with the newest sample";
  EXPECT_GT(got.size(), 500u) << "a full window, not a sliver";

  // A store that keeps the newest of a long result needs one query.
  source.keep_newest = true;
  source.history_calls = 0;
  const std::vector<rules::Sample> newest =
      ChartHistory(source, *source.Find("dense"), kNow, /*limit=*/600);
  EXPECT_EQ(source.history_calls, 1);
  EXPECT_EQ(newest.size(), 600u);
  EXPECT_EQ(newest.back(), samples.back());
}

constexpr TimePoint Day(int month, int day) {
  return std::chrono::sys_days(std::chrono::year{2026} / month / day);
}

// A restatement of `values` values, one a day from `first`, each from 40 + i to 35 + i,
// all of them kept.
store::RestatementRow Restated(const std::string& kpi, TimePoint detected, std::size_t values,
                               TimePoint first) {
  store::RestatementRow row;
  row.kpi = kpi;
  row.detected = detected;
  row.values = values;
  row.first = first;
  for (std::size_t i = 0; i < values; ++i) {
    const auto x = static_cast<double>(i);
    row.changes.push_back({first + hours(24) * static_cast<int>(i), 40 + x, 35 + x});
  }
  row.last = row.changes.empty() ? first : row.changes.back().at;
  return row;
}

// The <section> whose heading has `heading_id`, or null.
const HtmlElement* SectionOf(const HtmlDocument& doc, const std::string& heading_id) {
  const HtmlElement* heading = doc.ById(heading_id);
  if (heading == nullptr || heading->parent < 0) return nullptr;
  return &doc.elements()[static_cast<std::size_t>(heading->parent)];
}

std::vector<const HtmlElement*> ElementsWithClass(const HtmlDocument& doc, const HtmlElement& root,
                                                  std::string_view tag, std::string_view cls) {
  std::vector<const HtmlElement*> out;
  for (const HtmlElement* e : doc.Within(root, tag)) {
    if (e->HasClass(cls)) out.push_back(e);
  }
  return out;
}

TEST_F(StatusPageTest, DetailPageListsRestatementsNewestFirst) {
  FakeSource source(DeadlineKpi("revenue", "title = \"Revenue\"\nunit = \"EUR\"\n") +
                    DeadlineKpi("margin", "title = \"Margin\"\n"));
  source.zone = date::locate_zone("Europe/Berlin");
  source.Set("revenue", 50);
  source.Evaluate();
  // Newest: one value, which turned a day off track.
  store::RestatementRow one = Restated("revenue", kNow - hours(1), 1, Day(11, 21));
  one.statuses.push_back({"revenue", Day(11, 21), Day(11, 22), "on_track", "off_track"});
  // and a period judged again (this goal has none of its own: the period shows its start).
  store::PeriodRow missed{"revenue", Day(10, 1), Day(11, 1), 0, 100, "missed", 90, 0.9};
  store::PeriodRow achieved = missed;
  achieved.result = "achieved";
  achieved.final_value = 105;
  one.periods.push_back({missed, achieved});
  // Older: twelve values; the first falls on 2026-10-01 in Berlin, still 09-30 in UTC. It
  // changed the status of a KPI that reads this one, from none.
  store::RestatementRow twelve =
      Restated("revenue", Day(10, 14) + hours(6), 12, Day(10, 1) - std::chrono::minutes(30));
  twelve.statuses.push_back({"margin", Day(10, 3), Day(10, 4), "", "at_risk"});
  source.restatements["revenue"] = {one, twelve};

  const http::Response res = Get(source, "/kpi/revenue");
  ASSERT_EQ(res.result(), beast_http::status::ok);
  const HtmlDocument doc(res.body());
  EXPECT_THAT(doc.errors(), ::testing::IsEmpty());
  const HtmlElement* section = SectionOf(doc, "restatements-h");
  ASSERT_NE(section, nullptr);
  EXPECT_EQ(section->tag, "section");
  const auto items = ElementsWithClass(doc, *section, "article", "restatement");
  ASSERT_EQ(items.size(), 2u);

  const std::string& newest = items[0]->text;
  EXPECT_THAT(newest, HasSubstr("Detected 2026-11-15 12:00 CET: 1 value on 2026-11-21"));
  EXPECT_THAT(newest, HasSubstr("was On track, now Off track from 2026-11-21 01:00 CET to "
                                "2026-11-22 01:00 CET"));
  EXPECT_THAT(newest, HasSubstr("40 EUR \u2192 35 EUR"));
  EXPECT_THAT(newest, HasSubstr("2026-10-01 02:00 CEST: was missed at 90 EUR, now achieved at "
                                "105 EUR"));
  EXPECT_THAT(newest, Not(HasSubstr("more")));
  std::set<std::string> badges;
  for (const HtmlElement* b : ElementsWithClass(doc, *items[0], "span", "badge")) {
    badges.insert(b->Attribute("class"));
  }
  EXPECT_THAT(badges, ::testing::ElementsAre("badge st-off_track", "badge st-on_track"));

  const std::string& older = items[1]->text;
  EXPECT_THAT(older, HasSubstr("Detected 2026-10-14 08:00 CEST: 12 values from 2026-10-01 to "
                               "2026-10-12"));
  EXPECT_THAT(older, HasSubstr("Margin: was not judged, now At risk from 2026-10-03 02:00 CEST"));
  EXPECT_THAT(older, HasSubstr("2026-10-01 01:30 CEST"));
  EXPECT_THAT(older, HasSubstr("49 EUR \u2192 44 EUR")) << "the tenth value";
  EXPECT_THAT(older, Not(HasSubstr("50 EUR \u2192"))) << "the eleventh is counted, not shown";
  EXPECT_THAT(older, HasSubstr("and 2 more"));
  bool linked = false;
  for (const HtmlElement* a : doc.Within(*items[1], "a")) {
    linked |= a->Attribute("href") == "/kpi/margin" && a->text == "Margin";
  }
  EXPECT_TRUE(linked) << "the KPI whose status changed links to its page";
  for (const HtmlElement* th : doc.Within(*section, "th")) {
    EXPECT_EQ(th->Attribute("scope"), "col");
  }
}

TEST_F(StatusPageTest, DetailPageHasNoRestatementsSectionWithoutRestatements) {
  FakeSource source(AllStatuses());
  FillAllStatuses(source);
  source.restatements["done"] = {Restated("done", kNow, 1, Day(11, 1))};
  for (const std::string kpi : {"on_time", "churn", "plain", "waiting"}) {
    SCOPED_TRACE(kpi);
    const std::string body = Get(source, "/kpi/" + kpi).body();
    EXPECT_EQ(HtmlDocument(body).ById("restatements-h"), nullptr);
    EXPECT_THAT(body, Not(HasSubstr("estatement")));
  }
  EXPECT_NE(HtmlDocument(Get(source, "/kpi/done").body()).ById("restatements-h"), nullptr);
}

TEST_F(StatusPageTest, RestatementsAreEscaped) {
  const std::string evil = "<script>alert(1)</script>\\\" onmouseover=\\\"x";
  FakeSource source(DeadlineKpi("evil", "unit = \"<b>u</b>\"\n") +
                    DeadlineKpi("reader", "title = \"" + evil + "\"\n"));
  source.Set("evil", 10);
  source.Evaluate();
  store::RestatementRow row = Restated("evil", kNow, 2, Day(11, 1));
  row.statuses.push_back({"reader", Day(11, 1), Day(11, 2), "on_track", "<i>odd</i>"});
  row.statuses.push_back({"<svg onload=alert(3)>", Day(11, 1), Day(11, 2), "", "missed"});
  source.restatements["evil"] = {row};

  const std::string body = Get(source, "/kpi/evil").body();
  const HtmlDocument doc(body);
  EXPECT_THAT(doc.errors(), ::testing::IsEmpty());
  EXPECT_THAT(body, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(body, Not(HasSubstr("<b>")));
  EXPECT_THAT(body, Not(HasSubstr("<i>")));
  EXPECT_THAT(body, Not(HasSubstr("<svg onload")));
  for (const HtmlElement& e : doc.elements()) {
    for (const auto& [name, value] : e.attributes) {
      EXPECT_FALSE(name.starts_with("on")) << "injected attribute " << name;
    }
  }
  const HtmlElement* section = SectionOf(doc, "restatements-h");
  ASSERT_NE(section, nullptr);
  // Read back as text, everything is as written.
  EXPECT_THAT(section->text, HasSubstr("40 <b>u</b> \u2192 35 <b>u</b>"));
  EXPECT_THAT(section->text, HasSubstr("<script>alert(1)</script>\" onmouseover=\"x: was On track, "
                                       "now <i>odd</i>"));
  EXPECT_THAT(section->text, HasSubstr("<svg onload=alert(3)>: was not judged, now Missed"));
  bool encoded = false;
  for (const HtmlElement* a : doc.Within(*section, "a")) {
    encoded |= a->Attribute("href") == "/kpi/%3Csvg%20onload%3Dalert%283%29%3E";
  }
  EXPECT_TRUE(encoded) << "an unknown KPI's name is percent-encoded in its link";
}

TEST_F(StatusPageTest, RestatementsShowFiveWithTenValuesEach) {
  FakeSource source(DeadlineKpi("revenue", "unit = \"EUR\"\n"));
  source.Set("revenue", 50);
  source.Evaluate();
  std::vector<store::RestatementRow> rows;
  for (int i = 0; i < 7; ++i) {
    // Newest first; each keeps 12 of its 25 values, as a store asked for fewer would.
    store::RestatementRow row = Restated("revenue", kNow - hours(i), 12, Day(10, 1 + i));
    row.values = 25;
    rows.push_back(row);
  }
  rows[4] = Restated("revenue", kNow - hours(4), 3, Day(10, 5));
  source.restatements["revenue"] = rows;

  const HtmlDocument doc(Get(source, "/kpi/revenue").body());
  EXPECT_THAT(doc.errors(), ::testing::IsEmpty());
  const HtmlElement* section = SectionOf(doc, "restatements-h");
  ASSERT_NE(section, nullptr);
  const auto items = ElementsWithClass(doc, *section, "article", "restatement");
  ASSERT_EQ(items.size(), 5u);
  EXPECT_THAT(items[0]->text, HasSubstr("Detected 2026-11-15 12:00 UTC"));
  EXPECT_THAT(items[3]->text, HasSubstr("Detected 2026-11-15 09:00 UTC"));
  EXPECT_THAT(section->text, Not(HasSubstr("Detected 2026-11-15 07:00 UTC")))
      << "the sixth is not shown";
  for (std::size_t i = 0; i < items.size(); ++i) {
    SCOPED_TRACE(i);
    const auto tbody = doc.Within(*items[i], "tbody");
    ASSERT_EQ(tbody.size(), 1u);
    EXPECT_EQ(doc.Within(*tbody[0], "tr").size(), i == 4 ? 3u : 10u);
    if (i == 4) {
      EXPECT_THAT(items[i]->text, HasSubstr("3 values from 2026-10-05 to 2026-10-07"));
      EXPECT_THAT(items[i]->text, Not(HasSubstr("more")));
    } else {
      EXPECT_THAT(items[i]->text, HasSubstr("25 values from"));
      EXPECT_THAT(items[i]->text, HasSubstr("and 15 more"));
    }
  }
}

TEST(HtmlTest, FormatsNumbersForPeople) {
  EXPECT_EQ(Escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
  EXPECT_EQ(Escape(std::string("a\0b\x01", 4)), "ab");
  EXPECT_EQ(UrlEncode("a b&c=ü"), "a%20b%26c%3D%C3%BC");
  EXPECT_EQ(FormatValue(1200000), "1\u202f200\u202f000");
  EXPECT_EQ(FormatValue(-12345.5), "-12\u202f345.5");
  EXPECT_EQ(FormatValue(1234), "1234");
  EXPECT_EQ(FormatValue(0.025), "0.025");
  EXPECT_EQ(FormatValue(84.00371, kRoundedDigits), "84");
  EXPECT_EQ(FormatValue(0.0213182, kRoundedDigits), "0.02132");
  EXPECT_EQ(FormatValue(1279701.3, kRoundedDigits), "1\u202f279\u202f701");
  EXPECT_EQ(FormatValue(-0.00001, 2), "-1e-05");
  EXPECT_EQ(FormatCompact(1250000), "1.25M");
  EXPECT_EQ(FormatCompact(64000), "64k");
  EXPECT_EQ(FormatCompact(-2500), "-2500");
  EXPECT_EQ(FormatValue(kNaN), "\u2014");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "\u2014");
  EXPECT_EQ(FormatQuantity(kNaN, "EUR"), "\u2014");
  EXPECT_EQ(FormatPercent(0.5432), "54.3\u00a0%");
  EXPECT_EQ(FormatPercent(-0.0001), "0\u00a0%");
  EXPECT_EQ(FormatDaysLeft(0), "deadline passed");
  EXPECT_EQ(FormatDaysLeft(0.5), "less than 1 day");
  EXPECT_EQ(FormatDaysLeft(1.5), "1 day");
  EXPECT_EQ(FormatDaysLeft(45.9), "45 days");
}

TEST(ChartTest, ThinKeepsTheExtremes) {
  std::vector<rules::Sample> samples;
  samples.reserve(1000);
  for (int i = 0; i < 1000; ++i) samples.push_back({kNow + hours(i), i == 500 ? 1e6 : i % 7});
  const std::vector<rules::Sample> thin = Thin(samples, 80);
  EXPECT_LE(thin.size(), 80u);
  EXPECT_TRUE(std::any_of(thin.begin(), thin.end(), [](auto& s) { return s.value == 1e6; }));
  EXPECT_TRUE(
      std::is_sorted(thin.begin(), thin.end(), [](auto& a, auto& b) { return a.at < b.at; }));
}

}  // namespace
}  // namespace kpid::web
