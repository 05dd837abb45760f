// The status pages in a real browser: the kpid binary with a SQLite source whose KPIs cover
// the goal statuses, and headless Chromium taking screenshots (overview at desktop and
// phone size, a detail page) and dumping the DOM after the scripts ran (and after one
// in-place refresh). Checks every KPI and its status text, no console errors or CSP
// violations, and that no request left 127.0.0.1. The screenshots stay in
// KPID_WEB_ARTIFACTS for people to look at.
#include <algorithm>
#include <array>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <date/date.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/web/html_check.hpp"

namespace kpid {
namespace {

using ::testing::HasSubstr;
using testing::HtmlDocument;
using testing::HtmlElement;
using testing::RunCommand;
using testing::Subprocess;
using testing::TempDir;
using Json = nlohmann::json;

constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kEvilTitle = "<script>alert(\\\"x\\\")</script> & <b>bold</b>";

std::string Iso(std::chrono::system_clock::time_point t) {
  return date::format("%FT%TZ", std::chrono::floor<std::chrono::seconds>(t));
}

std::string Days(int days) {
  return Iso(std::chrono::system_clock::now() + std::chrono::hours(24) * days);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct KpiCase {
  const char* name;
  const char* status_text;  // what the page must say
};

class BrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kChromium)) {
      GTEST_SKIP() << kChromium << " is absent; deploy/install-deps.sh installs it";
    }
    port_ = testing::FreePort();
    artifacts_ = KPID_WEB_ARTIFACTS;
    std::filesystem::create_directories(artifacts_);
    WriteData();
    const auto config = dir_.Write("kpid.toml", Config());
    kpid_ = std::make_unique<Subprocess>(
        std::vector<std::string>{KPID_BINARY, "run", "--config", config.string()},
        dir_.path() / "kpid.log");
    ASSERT_TRUE(testing::WaitFor([&] { return testing::HttpGet(Url("/-/ready")).status == 200; }))
        << kpid_->Output();
    // Every KPI judged (its first collection done), so the pages show real statuses.
    ASSERT_TRUE(testing::WaitFor([&] {
      const auto r = testing::HttpGet(Url("/api/v1/kpis"));
      if (r.status != 200) return false;
      const Json kpis = Json::parse(r.body, nullptr, false).value("kpis", Json::array());
      return !kpis.empty() && std::all_of(kpis.begin(), kpis.end(),
                                          [](const Json& k) { return k.value("judged", false); });
    })) << kpid_->Output();
  }

  void TearDown() override {
    if (kpid_) {
      kpid_->Signal(SIGTERM);
      (void)kpid_->Wait(std::chrono::seconds(10));
    }
  }

  void Sql(const std::string& statements) const {
    std::string out;
    ASSERT_EQ(RunCommand("sqlite3 " + (dir_.path() / "data.db").string(), &out, statements), 0)
        << out;
  }

  // Current values and a month of daily history that leads to them.
  void WriteData() const {
    std::string sql =
        "CREATE TABLE kpi (name TEXT PRIMARY KEY, value REAL);\n"
        "CREATE TABLE hist (name TEXT, ts INTEGER, value REAL);\n";
    const auto now = std::chrono::system_clock::now();
    auto add = [&](const std::string& name, double from, double to) {
      sql += "INSERT INTO kpi VALUES ('" + name + "', " + std::to_string(to) + ");\n";
      for (int d = 30; d >= 1; --d) {
        const auto at = now - std::chrono::hours(24) * d;
        const double wobble = (d % 3 == 0 ? 0.02 : -0.01) * (to - from);
        const double v = from + (to - from) * (30 - d) / 30.0 + wobble;
        sql +=
            "INSERT INTO hist VALUES ('" + name + "', " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count()) +
            ", " + std::to_string(v) + ");\n";
      }
    };
    add("revenue", 0, 640000);
    add("signups", 0, 41);
    add("costs", 100, 92);
    add("legacy", 0, 50);
    add("nps", 60, 120);
    add("churn", 0.026, 0.021);
    Sql(sql);
  }

  static std::string Kpi(const std::string& name, const std::string& extra,
                         const std::string& goal) {
    return "\n[[kpi]]\nname = \"" + name + "\"\nsource = \"db\"\n" +
           "query = \"SELECT value FROM kpi WHERE name = '" + name + "'\"\n" +
           "history_query = \"SELECT ts, value FROM hist WHERE name = '" + name + "'\"\n" +
           "interval = \"1s\"\nstale_after = \"1h\"\n" + extra + "  [kpi.goal]\n" + goal;
  }

  static std::string Deadline(const std::string& baseline, const std::string& target,
                              int start_days, int deadline_days) {
    return "  baseline = " + baseline + "\n  target = " + target +
           "\n  start = " + Days(start_days) + "\n  deadline = " + Days(deadline_days) + "\n";
  }

  std::string Config() const {
    const std::string d = dir_.path().string();
    return "[server]\nlisten = \"127.0.0.1:" + std::to_string(port_) +
           "\"\n\n[storage]\npath = \"" + d + "/kpid.db\"\n\n[evaluation]\ninterval = \"1s\"\n\n" +
           "[[source]]\nname = \"db\"\ntype = \"sql\"\ndriver = \"sqlite3\"\nconnection = \"" + d +
           "/data.db\"\n" +
           Kpi("revenue",
               "title = \"Quarterly revenue\"\nunit = \"EUR\"\nowner = \"cfo@example.com\"\n"
               "labels = { team = \"finance\", objective = \"growth\" }\n",
               Deadline("0", "1200000", -30, 30) + "  [[kpi.goal.milestone]]\n  at = " + Days(10) +
                   "\n  value = 800000\n") +
           Kpi("signups",
               "title = \"Weekly signups\"\nowner = \"growth@example.com\"\n" +
                   std::string("labels = { team = \"growth\" }\n"),
               Deadline("0", "100", -30, 30)) +
           Kpi("costs", "title = \"Cloud costs\"\nunit = \"kEUR\"\nlabels = { team = \"ops\" }\n",
               Deadline("100", "50", -30, 30)) +
           Kpi("legacy", "title = \"Legacy migration\"\nunit = \"%\"\n",
               Deadline("0", "100", -60, -1)) +
           Kpi("nps", "title = \"Net promoter score\"\n", Deadline("60", "100", -30, 30)) +
           Kpi("churn", "title = \"Monthly churn\"\nlabels = { team = \"finance\" }\n",
               "  max = 0.03\n  warn_max = 0.025\n") +
           "\n[[kpi]]\nname = \"broken\"\ntitle = \"" + kEvilTitle +
           "\"\nsource = \"db\"\nquery = \"SELECT value FROM missing_table\"\ninterval = \"1s\"\n"
           "  [kpi.goal]\n  max = 1\n";
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Runs Chromium on `path` with `args`; stdout to `out`, the log (stderr) to `log`.
  void Chromium(const std::string& path, const std::string& args, const std::string& tag,
                std::string* out, std::string* log) {
    const std::filesystem::path profile = dir_.path() / ("profile-" + tag);
    const std::filesystem::path stdout_file = dir_.path() / (tag + ".out");
    const std::filesystem::path stderr_file = dir_.path() / (tag + ".log");
    const std::filesystem::path net_log = dir_.path() / (tag + ".netlog.json");
    const std::string command =
        std::string("timeout 120 ") + kChromium +
        " --headless --no-sandbox --disable-gpu --disable-background-networking"
        " --disable-component-update --disable-sync --disable-default-apps --no-first-run"
        " --disable-extensions --no-default-browser-check --hide-scrollbars"
        " --host-resolver-rules='MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'"
        " --enable-logging=stderr --v=0 --user-data-dir=" +
        profile.string() + " --log-net-log=" + net_log.string() + " " + args + " '" + Url(path) +
        "' > " + stdout_file.string() + " 2> " + stderr_file.string();
    std::string ignored;
    const int status = RunCommand(command, &ignored);
    *out = ReadFile(stdout_file);
    *log = ReadFile(stderr_file);
    ASSERT_EQ(status, 0) << command << "\n" << *log;
    ExpectNoConsoleErrors(*log);
    ExpectOnlyLocalRequests(ReadFile(net_log));
  }

  void Screenshot(const std::string& path, const std::string& size, const std::string& name) {
    const std::filesystem::path png = artifacts_ / name;
    std::filesystem::remove(png);
    std::string out, log;
    Chromium(path, "--window-size=" + size + " --screenshot=" + png.string(), name, &out, &log);
    ASSERT_TRUE(std::filesystem::exists(png)) << log;
    EXPECT_GT(std::filesystem::file_size(png), 10'000u) << "an empty screenshot?";
  }

  static void ExpectNoConsoleErrors(const std::string& log) {
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_THAT(line, ::testing::Not(HasSubstr("CONSOLE"))) << "console output";
      EXPECT_THAT(line, ::testing::Not(HasSubstr("Refused to"))) << "CSP violation";
      EXPECT_THAT(line, ::testing::Not(HasSubstr("Content Security Policy")));
    }
  }

  // No request left the host: every TCP connection went to 127.0.0.1, no UDP datagram was
  // sent, and every URL is the daemon's (or data:), except Chromium's own background
  // services, which the resolver rules stop before they connect. (A UDP "connect" without
  // data is Chromium probing its route, not a request.)
  void ExpectOnlyLocalRequests(const std::string& text) {
    ASSERT_FALSE(text.empty()) << "no net log written";
    const Json log = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(log.is_object()) << "net log is not JSON";
    std::map<int, std::string> event_types, source_types;
    for (const auto& [name, id] : log["constants"]["logEventTypes"].items()) {
      event_types[id.get<int>()] = name;
    }
    for (const auto& [name, id] : log["constants"]["logSourceType"].items()) {
      source_types[id.get<int>()] = name;
    }
    const std::string local = "http://127.0.0.1:" + std::to_string(port_) + "/";
    const std::set<std::string> background = {"accounts.google.com", "clients2.google.com",
                                              "update.googleapis.com"};
    static const std::regex kHost("^[a-z]+://([^/:]+)");
    std::size_t local_urls = 0;
    for (const Json& event : log["events"]) {
      const std::string type = event_types[event.value("type", -1)];
      const std::string source = source_types[event["source"].value("type", -1)];
      const Json params = event.value("params", Json::object());
      EXPECT_NE(type, "UDP_BYTES_SENT") << "a UDP datagram left: " << event.dump();
      if (params.contains("address") && !source.starts_with("UDP")) {
        EXPECT_THAT(params["address"].get<std::string>(), ::testing::StartsWith("127.0.0.1:"))
            << type;
      }
      if (!params.contains("url")) continue;
      const std::string url = params["url"].get<std::string>();
      std::smatch host;
      if (url.starts_with(local)) {
        ++local_urls;
      } else if (!url.starts_with("data:")) {
        EXPECT_TRUE(std::regex_search(url, host, kHost) && background.contains(host[1].str()))
            << "request to " << url;
      }
    }
    EXPECT_GT(local_urls, 0u) << "the page's own requests are not in the net log";
  }

  TempDir dir_;
  int port_ = 0;
  std::filesystem::path artifacts_;
  std::unique_ptr<Subprocess> kpid_;
};

// In display order.
constexpr std::array<KpiCase, 7> kExpected = {{
    {"legacy", "Missed"},
    {"costs", "Off track"},
    {"signups", "At risk"},
    {"broken", "No data"},
    {"revenue", "On track"},
    {"churn", "On track"},
    {"nps", "Achieved"},
}};

std::string BadgeOf(const HtmlDocument& doc, const HtmlElement& card) {
  for (const HtmlElement* e : doc.Within(card, "span")) {
    if (e->HasClass("badge")) return e->text;
  }
  return "";
}

TEST_F(BrowserTest, OverviewRendersEveryKpiWithoutErrorsOrForeignRequests) {
  std::string dom, log;
  // Virtual time lets the 5 s refresh run (at least) once before the DOM is dumped.
  Chromium("/", "--virtual-time-budget=12000 --dump-dom", "dom", &dom, &log);
  const HtmlDocument doc(dom);
  EXPECT_THAT(doc.errors(), ::testing::IsEmpty());
  ASSERT_EQ(doc.ByTag("body").size(), 1u);
  EXPECT_NE(doc.ByTag("body")[0]->Attribute("data-refreshed"), "")
      << "the page did not refresh itself in place";
  std::vector<std::string> order;
  for (const HtmlElement* card : doc.ByClass("kpi")) order.push_back(card->Attribute("id"));
  std::vector<std::string> expected_order;
  expected_order.reserve(kExpected.size());
  for (const KpiCase& c : kExpected) expected_order.emplace_back(c.name);
  EXPECT_EQ(order, expected_order);
  for (const KpiCase& c : kExpected) {
    const HtmlElement* card = doc.ById(c.name);
    ASSERT_NE(card, nullptr) << c.name;
    EXPECT_EQ(BadgeOf(doc, *card), c.status_text) << c.name;
  }
  // The hostile title is text, not markup: no <b> and no script ran from it.
  EXPECT_THAT(doc.ById("broken")->text, HasSubstr("<script>alert(\"x\")</script> & <b>bold</b>"));
  EXPECT_TRUE(doc.ByTag("b").empty());
  EXPECT_EQ(doc.ByTag("script").size(), 1u);
  EXPECT_THAT(doc.ById("revenue")->text, HasSubstr("640\u202f000 EUR"));
  EXPECT_THAT(doc.ById("costs")->text, HasSubstr("Firing"));
}

TEST_F(BrowserTest, FragmentOfAKpiOnAnotherPageOpensItsDetailPage) {
  std::string dom, log;
  // Not on the page filtered to finance: the script sends the browser to /kpi/nps.
  Chromium("/?team=finance#nps", "--virtual-time-budget=3000 --dump-dom", "fragment", &dom, &log);
  const HtmlDocument doc(dom);
  ASSERT_EQ(doc.ByTag("h1").size(), 1u);
  EXPECT_EQ(doc.ByTag("h1")[0]->text, "Net promoter score");
}

TEST_F(BrowserTest, Screenshots) {
  Screenshot("/", "1280,2000", "overview.png");
  Screenshot("/", "390,1600", "overview-phone.png");
  Screenshot("/kpi/revenue", "1280,1800", "detail.png");
  Screenshot("/kpi/churn", "390,1600", "detail-phone.png");
  Screenshot("/kpi/nope", "800,400", "not-found.png");
}

}  // namespace
}  // namespace kpid
