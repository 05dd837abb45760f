// Restated data end to end with the real binary: a CSV with timestamps is read again every
// second (history_interval); a corrected past row is recorded as a restatement (API,
// metrics, log), the owners get one "KPI restated" notice through the webhook and the file
// receiver, a derived KPI that reads it is told too, and neither the next reads nor a
// restart tell it again. A correction that changes no status is recorded and told nobody.
#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <thread>

#include <date/date.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"

namespace kpid {
namespace {

using ::testing::HasSubstr;
using testing::HttpGet;
using testing::HttpTestRequest;
using testing::HttpTestResponse;
using testing::HttpTestServer;
using testing::Subprocess;
using testing::TempDir;
using testing::WaitFor;
using Json = nlohmann::json;
using std::chrono::hours;

class RestatementE2eTest : public ::testing::Test {
 protected:
  RestatementE2eTest()
      : hook_([](const HttpTestRequest&) { return HttpTestResponse::Json("{}"); }) {}

  void SetUp() override {
    port_ = testing::FreePort();
    // Ten daily rows up to this morning, churn 2 % each day: on track under the max of 3.
    today_ = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
    for (int d = 9; d >= 0; --d) churn_.push_back(2);
    WriteCsv();
    const std::string d = dir_.path().string();
    config_ = dir_.Write("kpid.toml", R"([server]
listen = "127.0.0.1:)" + std::to_string(port_) +
                                          R"("

[storage]
path = ")" + d + R"(/kpid.db"

[evaluation]
interval = "1s"

[[source]]
name = "files"
type = "csv"
path = ")" + d + R"(/churn.csv"

[[kpi]]
name = "churn"
title = "Monthly churn"
unit = "%"
labels = { team = "crm" }
source = "files"
column = "churn"
timestamp_column = "day"
interval = "1s"
history_interval = "1s"
stale_after = "3d"
  [kpi.goal]
  max = 3

[[kpi]]
name = "churn_bp"
title = "Churn in basis points"
labels = { team = "crm" }
expr = "churn * 100"
stale_after = "3d"
  [kpi.goal]
  max = 300

[[route]]
match = { team = "crm" }
receivers = ["audit", "hook"]
group_wait = "0s"
group_interval = "1s"

[[receiver]]
name = "audit"
type = "file"
path = ")" + d + R"(/notifications.jsonl"

[[receiver]]
name = "hook"
type = "webhook"
url = ")" + hook_.Url("/alerts") + R"("
timeout = "2s"
)");
  }

  // Row i is the day today - (size - 1 - i).
  void WriteCsv() const {
    std::string text = "day,churn\n";
    for (std::size_t i = 0; i < churn_.size(); ++i) {
      const auto day = today_ - std::chrono::days(churn_.size() - 1 - i);
      text += date::format("%F", day) + "," + std::to_string(churn_[i]) + "\n";
    }
    const auto tmp = dir_.path() / "churn.csv.tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, dir_.path() / "churn.csv");  // never read half-written
  }

  std::unique_ptr<Subprocess> Start(int run) const {
    return std::make_unique<Subprocess>(
        std::vector<std::string>{KPID_BINARY, "run", "--config", config_.string(), "--log-level",
                                 "debug"},
        dir_.path() / ("run" + std::to_string(run) + ".log"));
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  Json Kpi(const std::string& name) const {
    const auto result = HttpGet(Url("/api/v1/kpis/" + name));
    if (result.status != 200) return Json::object();
    return Json::parse(result.body);
  }

  std::vector<Json> Restated(const std::vector<HttpTestRequest>& requests) const {
    std::vector<Json> out;
    for (const HttpTestRequest& r : requests) {
      Json body = Json::parse(r.body);
      if (body["alerts"][0]["labels"].value("event", "") == "restated") out.push_back(body);
    }
    return out;
  }

  std::vector<Json> FileRestated() const {
    std::vector<Json> out;
    std::ifstream in(dir_.path() / "notifications.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      Json body = Json::parse(line);
      if (body["alerts"][0]["labels"].value("event", "") == "restated") out.push_back(body);
    }
    return out;
  }

  // History reads so far (of one KPI, or all): those that brought something and those
  // that did not.
  std::size_t Reads(const Subprocess& kpid, const std::string& kpi = "") const {
    const std::string out = kpid.Output();
    const std::string of = kpi.empty() ? "" : " kpi=" + kpi;
    return Count(out, "history backfilled" + of) + Count(out, "history unchanged" + of);
  }

  std::size_t Count(const std::string& text, const std::string& what) const {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  TempDir dir_;
  HttpTestServer hook_;
  int port_ = 0;
  std::chrono::sys_days today_;
  std::vector<double> churn_;
  std::filesystem::path config_;
};

TEST_F(RestatementE2eTest, ACorrectedPastRowIsRecordedAndToldOnce) {
  auto kpid = Start(1);
  ASSERT_TRUE(WaitFor([&] { return Kpi("churn")["status"] == "on_track"; })) << kpid->Output();
  ASSERT_TRUE(WaitFor([&] { return Reads(*kpid) >= 2; }))
      << "read again every second: " << kpid->Output();
  EXPECT_EQ(Kpi("churn")["restatements"], Json::array());

  // Five days ago churn was 4 %, not 2 %: off track from that day to the next.
  churn_[4] = 4;
  WriteCsv();
  ASSERT_TRUE(WaitFor([&] { return Restated(hook_.Requests()).size() == 2; })) << kpid->Output();
  const auto five_days_ago = today_ - std::chrono::days(5);
  const std::string day = date::format("%F", five_days_ago);
  const std::vector<Json> told = Restated(hook_.Requests());
  std::map<std::string, std::string> summaries;
  for (const Json& body : told) {
    const Json& alert = body["alerts"][0];
    EXPECT_EQ(alert["labels"]["alert"].get<std::string>(),
              alert["labels"]["kpi"].get<std::string>() + "/goal");
    EXPECT_EQ(alert["startsAt"], alert["endsAt"]) << "a point in time";
    summaries[alert["labels"]["kpi"]] = alert["annotations"]["summary"];
  }
  EXPECT_EQ(summaries["churn"],
            "Monthly churn: history restated, past statuses changed: 1 value on " + day +
                "; was on track, now off track from " + day + " 00:00 to " +
                date::format("%F", five_days_ago + std::chrono::days(1)) + " 00:00");
  EXPECT_THAT(summaries["churn_bp"],
              HasSubstr("Churn in basis points: Monthly churn's history restated, past statuses "
                        "changed: 1 value on " +
                        day + "; was on track, now off track from " + day));
  ASSERT_TRUE(WaitFor([&] { return FileRestated().size() == 2; })) << kpid->Output();

  const Json churn = Kpi("churn");
  ASSERT_EQ(churn["restatements"].size(), 1U) << churn.dump(2);
  const Json& r = churn["restatements"][0];
  EXPECT_EQ(r["values"], 1);
  EXPECT_EQ(r["first"], date::format("%FT%TZ", std::chrono::sys_seconds(five_days_ago)));
  EXPECT_EQ(r["changes"][0]["before"], 2);
  EXPECT_EQ(r["changes"][0]["after"], 4);
  ASSERT_EQ(r["status_changes"].size(), 2U);
  EXPECT_EQ(r["status_changes"][0]["kpi"], "churn");
  EXPECT_EQ(r["status_changes"][0]["before"], "on_track");
  EXPECT_EQ(r["status_changes"][0]["after"], "off_track");
  EXPECT_EQ(r["status_changes"][1]["kpi"], "churn_bp");
  EXPECT_EQ(churn["status"], "on_track") << "today's value did not change";
  const std::string metrics = HttpGet(Url("/metrics")).body;
  EXPECT_THAT(metrics, HasSubstr("kpid_history_restatements_total{kpi=\"churn\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("kpid_history_restated_values_total{kpi=\"churn\"} 1"));
  EXPECT_THAT(kpid->Output(), HasSubstr("history restated"));

  // The next reads find the store holding the corrected values: nothing more to tell.
  const std::size_t reads = Reads(*kpid);
  ASSERT_TRUE(WaitFor([&] { return Reads(*kpid) >= reads + 3; }));
  kpid->Signal(SIGTERM);
  ASSERT_EQ(kpid->Wait(std::chrono::seconds(10)), 0);

  // Nor does a restart, whose first read compares with the store.
  auto again = Start(2);
  ASSERT_TRUE(WaitFor([&] { return Reads(*again) >= 2; })) << again->Output();
  EXPECT_EQ(Restated(hook_.Requests()).size(), 2U);
  EXPECT_EQ(Kpi("churn")["restatements"].size(), 1U);

  // A correction that moves no status is recorded, and told nobody.
  churn_[6] = 2.5;
  WriteCsv();
  ASSERT_TRUE(WaitFor([&] { return Kpi("churn")["restatements"].size() == 2; })) << again->Output();
  const Json second = Kpi("churn")["restatements"][0];
  EXPECT_EQ(second["changes"][0]["after"], 2.5);
  EXPECT_EQ(second["status_changes"], Json::array());
  const std::size_t later = Reads(*again);
  ASSERT_TRUE(WaitFor([&] { return Reads(*again) >= later + 2; }));
  EXPECT_EQ(Restated(hook_.Requests()).size(), 2U);
  again->Signal(SIGTERM);
  EXPECT_EQ(again->Wait(std::chrono::seconds(10)), 0);
}

// A recurring goal's closed month, recorded as missed, was achieved by the corrected rows:
// its result, the counts and the notice follow.
TEST_F(RestatementE2eTest, AClosedPeriodIsJudgedAgain) {
  using std::chrono::sys_days;
  const auto ymd = std::chrono::year_month_day(today_);
  const sys_days month_start = sys_days(ymd.year() / ymd.month() / 1);
  const auto last_month = std::chrono::year_month_day(month_start - std::chrono::days(1));
  const sys_days previous_start = sys_days(last_month.year() / last_month.month() / 1);
  // Sales per month, running: 90 on the last day of last month, short of 100. (A row at
  // midnight of the 1st would be the closing value: the last sample at or before the end.)
  const auto write_sales = [&](double closing) {
    std::string text = "day,sales\n";
    text += date::format("%F", previous_start) + ",10\n";
    text += date::format("%F", month_start - std::chrono::days(1)) + "," + std::to_string(closing) +
            "\n";
    std::ofstream(dir_.path() / "sales.csv.tmp") << text;
    std::filesystem::rename(dir_.path() / "sales.csv.tmp", dir_.path() / "sales.csv");
  };
  write_sales(90);
  {
    std::ifstream in(config_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text += R"(
[[source]]
name = "sales_file"
type = "csv"
path = ")" + (dir_.path() / "sales.csv").string() +
            R"("

[[kpi]]
name = "sales"
title = "Monthly sales"
labels = { team = "crm" }
source = "sales_file"
column = "sales"
timestamp_column = "day"
interval = "1s"
history_interval = "1s"
stale_after = "40d"
  [kpi.goal]
  period = "month"
  baseline = 0
  target = 100
)";
    std::ofstream(config_) << text;
  }
  {
    auto first = Start(1);
    // Stopped once the history is in the store.
    ASSERT_TRUE(WaitFor([&] { return Reads(*first, "sales") >= 1; })) << first->Output();
    first->Signal(SIGTERM);
    ASSERT_EQ(first->Wait(std::chrono::seconds(10)), 0);
  }
  // Last month as kpid would have closed it had it run then: missed at 90.
  const auto ms = [](sys_days d) {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(d.time_since_epoch()).count());
  };
  std::string out;
  ASSERT_EQ(
      testing::RunCommand("sqlite3 " + (dir_.path() / "kpid.db").string() +
                              " \"INSERT INTO goal_periods VALUES ('sales', " + ms(previous_start) +
                              ", " + ms(month_start) + ", 0, 100, 'missed', 90, 0.9);\"",
                          &out),
      0)
      << out;
  auto kpid = Start(2);
  ASSERT_TRUE(WaitFor([&] {
    Json sales = Kpi("sales");
    return sales.contains("past_periods") && sales["past_periods"].size() == 1 &&
           sales["past_periods"][0]["result"] == "missed";
  })) << kpid->Output();
  // The correction comes after a read that found the store as it was.
  ASSERT_TRUE(WaitFor([&] { return Reads(*kpid, "sales") >= 1; })) << kpid->Output();

  write_sales(105);
  ASSERT_TRUE(WaitFor([&] {
    Json sales = Kpi("sales");
    return sales.contains("past_periods") && !sales["past_periods"].empty() &&
           sales["past_periods"][0]["result"] == "achieved";
  })) << kpid->Output();
  Json sales = Kpi("sales");
  EXPECT_EQ(sales["past_periods"][0]["final_value"], 105);
  ASSERT_EQ(sales["restatements"].size(), 1U);
  EXPECT_EQ(sales["restatements"][0]["periods"][0]["before"]["result"], "missed");
  EXPECT_EQ(sales["restatements"][0]["periods"][0]["after"]["result"], "achieved");
  EXPECT_THAT(
      HttpGet(Url("/metrics")).body,
      HasSubstr("kpi_goal_periods_total{kpi=\"sales\",team=\"crm\",result=\"achieved\"} 1"));
  ASSERT_TRUE(WaitFor([&] { return !Restated(hook_.Requests()).empty(); })) << kpid->Output();
  const std::string summary = Restated(hook_.Requests())[0]["alerts"][0]["annotations"]["summary"];
  EXPECT_THAT(summary, HasSubstr("Monthly sales: history restated"));
  EXPECT_THAT(summary, HasSubstr("was missed at 90, now achieved at 105"));
  kpid->Signal(SIGTERM);
  EXPECT_EQ(kpid->Wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace kpid
