// Restated data (README "Restated data"): which values count as restated, the spans where
// two status timelines differ, the replay that finds them for a goal and for a derived KPI
// that reads the restated one, and the store's record of it.
#include "daemon/restatement.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <date/date.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "daemon/store/store.hpp"
#include "tests/support/config_text.hpp"
#include "tests/support/process.hpp"

namespace kpid::store {
// Readable failures.
void PrintTo(const StatusChange& c, std::ostream* os) {
  *os << c.kpi << " " << date::format("%F %T", c.from) << " .. " << date::format("%F %T", c.until)
      << " " << c.before << " -> " << c.after;
}
void PrintTo(const RestatedValue& v, std::ostream* os) {
  *os << date::format("%F %T", v.at) << " " << v.before << " -> " << v.after;
}
}  // namespace kpid::store

namespace kpid {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr TimePoint kT0 = std::chrono::sys_days(std::chrono::year{2026} / 10 / 1);
constexpr auto kDay = hours(24);

MATCHER_P3(Restated, at, before, after, "") {
  return arg.at == at && arg.before == before && arg.after == after;
}

MATCHER_P5(Span, kpi, from, until, before, after, "") {
  return arg.kpi == kpi && arg.from == from && arg.until == until && arg.before == before &&
         arg.after == after;
}

TEST(DiffHistoryTest, ChangedValuesAtTimesBothHold) {
  const std::vector<rules::Sample> stored = {
      {kT0, 1}, {kT0 + kDay, 2}, {kT0 + 2 * kDay, 3}, {kT0 + 3 * kDay, 4}};
  const std::vector<rules::Sample> fresh = {{kT0, 1},
                                            {kT0 + kDay, 2.5},           // restated
                                            {kT0 + kDay + hours(1), 9},  // new: not restated
                                            {kT0 + 3 * kDay, 0}};        // restated; day 2 is gone
  const HistoryDiff diff = DiffHistory(stored, fresh);
  EXPECT_THAT(diff.restated,
              ElementsAre(Restated(kT0 + kDay, 2.0, 2.5), Restated(kT0 + 3 * kDay, 4.0, 0.0)));
  EXPECT_EQ(diff.added, 1U);
}

TEST(DiffHistoryTest, SumsInAnotherOrderAreTheSameValue) {
  const double a = 0.1 + 0.2 + 0.3;
  const double b = 0.3 + 0.2 + 0.1;
  ASSERT_NE(a, b);
  const std::vector<rules::Sample> stored = {{kT0, a}};
  EXPECT_THAT(DiffHistory(stored, std::vector<rules::Sample>{{kT0, b}}).restated, IsEmpty());
  EXPECT_EQ(DiffHistory(stored, std::vector<rules::Sample>{{kT0, a * (1 + 1e-6)}}).restated.size(),
            1U);
}

TEST(DiffHistoryTest, TimesMatchToTheMillisecondAsStored) {
  // The store keeps milliseconds: a fresh sub-millisecond time is the stored sample's.
  const std::vector<rules::Sample> stored = {{kT0 + milliseconds(5), 1}};
  const std::vector<rules::Sample> fresh = {{kT0 + std::chrono::microseconds(5'400), 7}};
  EXPECT_THAT(DiffHistory(stored, fresh).restated,
              ElementsAre(Restated(kT0 + milliseconds(5), 1.0, 7.0)));
  EXPECT_THAT(DiffHistory({}, fresh).restated, IsEmpty());
  EXPECT_EQ(DiffHistory({}, fresh).added, 1U);
  EXPECT_THAT(DiffHistory(stored, {}).restated, IsEmpty());
}

TEST(DiffTimelinesTest, SpansWhereTheStatusesDiffer) {
  const TimePoint end = kT0 + 10 * kDay;
  const std::vector<BacktestStatus> before = {{kT0, "on_track"}, {kT0 + 6 * kDay, "at_risk"}};
  const std::vector<BacktestStatus> after = {{kT0, "on_track"},
                                             {kT0 + 2 * kDay, "off_track"},
                                             {kT0 + 4 * kDay, "on_track"},
                                             {kT0 + 8 * kDay, "at_risk"}};
  EXPECT_THAT(DiffTimelines("churn", before, after, end),
              ElementsAre(Span("churn", kT0 + 2 * kDay, kT0 + 4 * kDay, "on_track", "off_track"),
                          Span("churn", kT0 + 6 * kDay, kT0 + 8 * kDay, "at_risk", "on_track")));
  EXPECT_THAT(DiffTimelines("churn", before, before, end), IsEmpty());
  // A difference that lasts to the end ends with the replay; one status changing under
  // another that stays starts a new span.
  const std::vector<BacktestStatus> worse = {
      {kT0, "on_track"}, {kT0 + 5 * kDay, "off_track"}, {kT0 + 7 * kDay, "missed"}};
  EXPECT_THAT(DiffTimelines("churn", before, worse, end),
              ElementsAre(Span("churn", kT0 + 5 * kDay, kT0 + 6 * kDay, "on_track", "off_track"),
                          Span("churn", kT0 + 6 * kDay, kT0 + 7 * kDay, "at_risk", "off_track"),
                          Span("churn", kT0 + 7 * kDay, end, "at_risk", "missed")));
}

std::shared_ptr<const config::Config> MustLoad() {
  return testing::MustLoadConfig(std::string(R"(
[evaluation]
interval = "1h")") + std::string(testing::kHandFedSource) +
                                 R"(
[[kpi]]
name = "churn"
source = "db"
query = "SELECT 1"
stale_after = "3d"
  [kpi.goal]
  max = 3
[[kpi]]
name = "churn_pct"
expr = "churn * 100"
stale_after = "3d"
  [kpi.goal]
  max = 300
[[kpi]]
name = "revenue"
source = "db"
query = "SELECT 1"
stale_after = "3d"
  [kpi.goal]
  min = 10
)");
}

// Daily samples of each KPI from kT0, 10 days.
std::map<std::string, std::vector<rules::Sample>> Daily(double churn, double revenue) {
  std::map<std::string, std::vector<rules::Sample>> out;
  for (int d = 0; d < 10; ++d) {
    out["churn"].push_back({kT0 + d * kDay, churn});
    out["revenue"].push_back({kT0 + d * kDay, revenue});
  }
  return out;
}

HistoryReader Reader(const std::map<std::string, std::vector<rules::Sample>>& data) {
  return [&data](const std::string& kpi, TimePoint from, TimePoint until) {
    std::vector<rules::Sample> out;
    auto it = data.find(kpi);
    if (it == data.end()) return out;
    for (const rules::Sample& s : it->second) {
      if (s.at >= from && s.at <= until) out.push_back(s);
    }
    return out;
  };
}

TEST(CompareStatusesTest, ARestatedDayTurnsTheGoalAndTheDerivedKpiOffTrackThen) {
  const auto config = MustLoad();
  const auto before = Daily(2, 20);
  auto after = before;
  after["churn"][4].value = 4;  // day 4: above the max of 3 until day 5's sample
  const TimePoint until = kT0 + 9 * kDay + hours(12);
  const std::vector<store::StatusChange> changes =
      CompareStatuses(config, "churn", Reader(before), Reader(after), kT0 + 4 * kDay, until);
  // Judged every hour (the evaluation interval: 5.5 days is far fewer than the cap).
  EXPECT_THAT(
      changes,
      ElementsAre(Span("churn", kT0 + 4 * kDay, kT0 + 5 * kDay, "on_track", "off_track"),
                  Span("churn_pct", kT0 + 4 * kDay, kT0 + 5 * kDay, "on_track", "off_track")));
}

TEST(CompareStatusesTest, AChangeThatMovesNoStatusFindsNone) {
  const auto config = MustLoad();
  const auto before = Daily(2, 20);
  auto after = before;
  after["churn"][4].value = 2.5;  // still under the max
  EXPECT_THAT(CompareStatuses(config, "churn", Reader(before), Reader(after), kT0 + 4 * kDay,
                              kT0 + 9 * kDay),
              IsEmpty());
}

TEST(CompareStatusesTest, ALongSpanIsJudgedAtMostTheCapTimes) {
  const auto config = MustLoad();
  std::map<std::string, std::vector<rules::Sample>> before;
  for (int d = 0; d < 2 * 365; ++d) before["churn"].push_back({kT0 + d * kDay, 2});
  auto after = before;
  after["churn"][100].value = 5;
  // Two years hourly would be 17,520 judgements: the step becomes 2 hours, the shortest
  // divisor of a day that keeps to the cap, so that the day's sample is judged at midnight.
  const TimePoint since = kT0 + 100 * kDay;
  const TimePoint until = kT0 + 100 * kDay + 17'520 * hours(1);
  const std::vector<store::StatusChange> changes =
      CompareStatuses(config, "churn", Reader(before), Reader(after), since, until);
  ASSERT_EQ(changes.size(), 2U);  // churn, and churn_pct that reads it
  EXPECT_EQ(changes[1].kpi, "churn_pct");
  EXPECT_EQ(changes[0].from, since);
  EXPECT_EQ(changes[0].until, since + kDay);
  // Off the grid: the first judgement after the change is at the next 2 hours.
  const std::vector<store::StatusChange> late = CompareStatuses(
      config, "churn", Reader(before), Reader(after), since - hours(1), until - hours(1));
  ASSERT_FALSE(late.empty());
  EXPECT_EQ(late[0].from, since);
  EXPECT_EQ(changes[0].after, "off_track");
}

TEST(RestatementStoreTest, RecordsWithTheSamplesAndLoadsNewestFirst) {
  testing::TempDir dir;
  auto opened = store::Store::Open((dir.path() / "kpid.db").string());
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<store::Store>>(opened));
  store::Store& store = *std::get<std::unique_ptr<store::Store>>(opened);
  ASSERT_FALSE(store.AppendSamples(
      std::vector<store::SampleRow>{{"churn", {kT0, 2}}, {"churn", {kT0 + kDay, 2}}}));
  store::RestatementRow row;
  row.kpi = "churn";
  row.detected = kT0 + 20 * kDay;
  row.values = 1;
  row.first = row.last = kT0 + kDay;
  row.changes = {{kT0 + kDay, 2, 4}};
  row.statuses = {{"churn", kT0 + kDay, kT0 + 2 * kDay, "on_track", "off_track"},
                  {"churn_pct", kT0 + kDay, kT0 + 2 * kDay, "", "off_track"}};
  store::OutboxRow notice;
  notice.receiver = "hook";
  notice.payload = "{}";
  auto ids = store.RecordRestatement(row, std::vector<store::SampleRow>{{"churn", {kT0 + kDay, 4}}},
                                     std::vector<store::OutboxRow>{notice}, {});
  ASSERT_TRUE(std::holds_alternative<std::vector<std::int64_t>>(ids));
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(ids).size(), 1U);
  row.detected += kDay;
  row.statuses.clear();
  ASSERT_TRUE(
      std::holds_alternative<std::vector<std::int64_t>>(store.RecordRestatement(row, {}, {}, {})));

  // The samples are the history's now, and the notice is queued.
  auto samples = store.Samples("churn", kT0, 10);
  ASSERT_TRUE(std::holds_alternative<std::vector<rules::Sample>>(samples));
  EXPECT_EQ(std::get<std::vector<rules::Sample>>(samples).back().value, 4);
  auto outbox = store.LoadOutbox();
  ASSERT_TRUE(std::holds_alternative<std::vector<store::OutboxRow>>(outbox));
  EXPECT_EQ(std::get<std::vector<store::OutboxRow>>(outbox).size(), 1U);

  auto loaded = store.LoadRestatements("churn", 10, 10);
  ASSERT_TRUE(std::holds_alternative<std::vector<store::RestatementRow>>(loaded));
  const auto& rows = std::get<std::vector<store::RestatementRow>>(loaded);
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0].detected, kT0 + 21 * kDay);
  EXPECT_THAT(rows[0].statuses, IsEmpty());
  EXPECT_EQ(rows[1].detected, kT0 + 20 * kDay);
  EXPECT_EQ(rows[1].values, 1U);
  EXPECT_EQ(rows[1].first, kT0 + kDay);
  EXPECT_THAT(rows[1].changes, ElementsAre(Restated(kT0 + kDay, 2.0, 4.0)));
  EXPECT_THAT(rows[1].statuses,
              ElementsAre(Span("churn", kT0 + kDay, kT0 + 2 * kDay, "on_track", "off_track"),
                          Span("churn_pct", kT0 + kDay, kT0 + 2 * kDay, "", "off_track")));
  auto other = store.LoadRestatements("revenue", 10, 10);
  EXPECT_THAT(std::get<std::vector<store::RestatementRow>>(other), IsEmpty());
  auto newest = store.LoadRestatements("churn", 1, 0);
  ASSERT_EQ(std::get<std::vector<store::RestatementRow>>(newest).size(), 1U);
  EXPECT_THAT(std::get<std::vector<store::RestatementRow>>(newest)[0].changes, IsEmpty());

  // Retention takes restatements detected before the cutoff, with what belongs to them.
  auto pruned = store.Prune(kT0 + 21 * kDay);
  ASSERT_TRUE(std::holds_alternative<std::size_t>(pruned));
  auto left = store.LoadRestatements("churn", 10, 10);
  ASSERT_EQ(std::get<std::vector<store::RestatementRow>>(left).size(), 1U);
  EXPECT_EQ(std::get<std::vector<store::RestatementRow>>(left)[0].detected, kT0 + 21 * kDay);
}

TEST(RestatementStoreTest, AFailedRecordWritesNothing) {
  testing::TempDir dir;
  auto opened = store::Store::Open((dir.path() / "kpid.db").string());
  store::Store& store = *std::get<std::unique_ptr<store::Store>>(opened);
  ASSERT_FALSE(store.AppendSamples(std::vector<store::SampleRow>{{"churn", {kT0, 2}}}));
  store::RestatementRow row;
  row.kpi = "churn";
  row.detected = kT0 + kDay;
  row.values = 1;
  row.first = row.last = kT0;
  row.changes = {{kT0, 2, 4}};
  // A NaN sample fails the write after the restatement's own rows went in.
  auto result = store.RecordRestatement(
      row,
      std::vector<store::SampleRow>{{"churn", {kT0, 4}}, {"churn", {kT0 + hours(1), std::nan("")}}},
      {}, {});
  ASSERT_TRUE(std::holds_alternative<store::Error>(result));
  EXPECT_THAT(std::get<store::Error>(result).message, ::testing::HasSubstr("NaN"));
  EXPECT_THAT(std::get<std::vector<store::RestatementRow>>(store.LoadRestatements("churn", 10, 10)),
              IsEmpty());
  auto samples = store.Samples("churn", kT0, 10);
  EXPECT_EQ(std::get<std::vector<rules::Sample>>(samples).back().value, 2);
}

TEST(RestatementStoreTest, MigratesFromSchema6KeepingWhatItHeld) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "kpid.db").string();
  {
    auto opened = store::Store::Open(path);
    store::Store& store = *std::get<std::unique_ptr<store::Store>>(opened);
    ASSERT_FALSE(store.AppendSamples(std::vector<store::SampleRow>{{"churn", {kT0, 2}}}));
  }
  {
    // Back to what schema 6 had.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db,
                           "DROP TABLE restated_periods; DROP TABLE restated_statuses; DROP TABLE "
                           "restated_values; "
                           "DROP TABLE restatements; PRAGMA user_version=6;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  {
    // Read-only (kpid backtest, kpid eval) reads a version 6 store as it is: no restatements.
    auto opened = store::Store::Open(path, store::Mode::kReadOnly);
    store::Store& store = *std::get<std::unique_ptr<store::Store>>(opened);
    EXPECT_EQ(store.SchemaVersion(), 6);
    EXPECT_THAT(
        std::get<std::vector<store::RestatementRow>>(store.LoadRestatements("churn", 10, 10)),
        IsEmpty());
    EXPECT_TRUE(std::holds_alternative<store::Error>(
        store.RecordRestatement(store::RestatementRow{}, {}, {}, {})));
  }
  auto opened = store::Store::Open(path);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<store::Store>>(opened));
  store::Store& store = *std::get<std::unique_ptr<store::Store>>(opened);
  EXPECT_EQ(store.SchemaVersion(), 7);
  EXPECT_EQ(std::get<std::vector<rules::Sample>>(store.Samples("churn", kT0, 10)).size(), 1U);
  store::RestatementRow row;
  row.kpi = "churn";
  row.detected = row.first = row.last = kT0;
  row.values = 1;
  EXPECT_TRUE(
      std::holds_alternative<std::vector<std::int64_t>>(store.RecordRestatement(row, {}, {}, {})));
}

TEST(RestatementStoreTest, SamplesAtLooksUpEachTimeToTheMillisecond) {
  testing::TempDir dir;
  auto opened = store::Store::Open((dir.path() / "kpid.db").string());
  store::Store& store = *std::get<std::unique_ptr<store::Store>>(opened);
  ASSERT_FALSE(store.AppendSamples(std::vector<store::SampleRow>{{"churn", {kT0, 1}},
                                                                 {"churn", {kT0 + hours(1), 2}},
                                                                 {"churn", {kT0 + kDay, 3}},
                                                                 {"revenue", {kT0, 9}}}));
  const std::vector<TimePoint> times = {kT0 + kDay + std::chrono::microseconds(300), kT0,
                                        kT0 + hours(2), kT0};
  auto found = store.SamplesAt("churn", times);
  ASSERT_TRUE(std::holds_alternative<std::vector<rules::Sample>>(found));
  const auto& samples = std::get<std::vector<rules::Sample>>(found);
  ASSERT_EQ(samples.size(), 2U);  // oldest first, each once; nothing at kT0 + 2h
  EXPECT_EQ(samples[0].at, kT0);
  EXPECT_EQ(samples[0].value, 1);
  EXPECT_EQ(samples[1].at, kT0 + kDay);
  EXPECT_EQ(samples[1].value, 3);
  EXPECT_TRUE(std::get<std::vector<rules::Sample>>(store.SamplesAt("churn", {})).empty());
}

// A lookup over samples held in memory, oldest first.
SampleLookup Lookup(const std::vector<rules::Sample>& samples) {
  SampleLookup out;
  out.at_or_before = [&samples](TimePoint t) -> std::optional<rules::Sample> {
    std::optional<rules::Sample> found;
    for (const rules::Sample& s : samples) {
      if (s.at <= t) found = s;
    }
    return found;
  };
  out.first_from = [&samples](TimePoint t) -> std::optional<rules::Sample> {
    for (const rules::Sample& s : samples) {
      if (s.at >= t) return s;
    }
    return std::nullopt;
  };
  return out;
}

config::Kpi MonthlyGoal(bool carry) {
  config::Kpi kpi;
  kpi.name = "revenue";
  config::DeadlineGoal goal;
  goal.period = rules::PeriodKind::kMonth;
  goal.carry_baseline = carry;
  goal.baseline = 0;
  goal.target = 100;
  kpi.goal = config::Goal{};
  kpi.goal->kind = goal;
  return kpi;
}

store::PeriodRow Closed(TimePoint start, TimePoint end, std::optional<double> baseline,
                        double final_value, const std::string& result) {
  store::PeriodRow row;
  row.kpi = "revenue";
  row.start = start;
  row.end = end;
  row.baseline = baseline;
  row.target = 100;
  row.final_value = final_value;
  row.progress =
      baseline ? std::optional((final_value - *baseline) / (100 - *baseline)) : std::nullopt;
  row.result = result;
  return row;
}

TEST(RejudgePeriodsTest, AClosedMonthIsJudgedAgainFromTheRestatedClosingValue) {
  const TimePoint sep = std::chrono::sys_days(std::chrono::year{2026} / 9 / 1);
  const TimePoint oct = std::chrono::sys_days(std::chrono::year{2026} / 10 / 1);
  const TimePoint nov = std::chrono::sys_days(std::chrono::year{2026} / 11 / 1);
  store::StoredPeriods stored;
  stored.closed = {Closed(oct, nov, 0, 90, "missed"), Closed(sep, oct, 0, 100, "achieved")};
  // September's rows are as they were; October's last row was 90 and is 105 now.
  const std::vector<rules::Sample> after = {
      {sep + kDay, 50}, {oct - kDay, 100}, {oct + kDay, 40}, {nov - kDay, 105}};
  const auto changed = RejudgePeriods(MonthlyGoal(false), stored, Lookup(after), nov - kDay);
  ASSERT_EQ(changed.size(), 1U);
  EXPECT_EQ(changed[0].before.result, "missed");
  EXPECT_EQ(changed[0].after.result, "achieved");
  EXPECT_EQ(changed[0].after.final_value, 105);
  EXPECT_EQ(changed[0].after.progress, 1.05);
  EXPECT_EQ(changed[0].after.start, oct);
  // A restatement after October's end (the closing value is the last at or before it)
  // leaves it as it was; a KPI without periods has none.
  EXPECT_THAT(RejudgePeriods(MonthlyGoal(false), stored, Lookup(after), nov + hours(1)), IsEmpty());
  config::Kpi plain = MonthlyGoal(false);
  plain.goal.reset();
  EXPECT_THAT(RejudgePeriods(plain, stored, Lookup(after), sep), IsEmpty());
}

TEST(RejudgePeriodsTest, ACarriedBaselineFollowsTheRestatedClosingValueIntoTheOpenPeriod) {
  const TimePoint sep = std::chrono::sys_days(std::chrono::year{2026} / 9 / 1);
  const TimePoint oct = std::chrono::sys_days(std::chrono::year{2026} / 10 / 1);
  const TimePoint nov = std::chrono::sys_days(std::chrono::year{2026} / 11 / 1);
  const TimePoint dec = std::chrono::sys_days(std::chrono::year{2026} / 12 / 1);
  store::StoredPeriods stored;
  // September closed at 20 (carried into October), October at 100 (carried into November).
  stored.closed = {Closed(oct, nov, 20, 100, "achieved"), Closed(sep, oct, 0, 20, "missed")};
  stored.open = store::PeriodRow{"revenue", nov, dec, 100, 100, "", std::nullopt, std::nullopt};
  // September's last value was 30, not 20: October started higher and fell short.
  const std::vector<rules::Sample> after = {{sep + kDay, 0}, {oct - kDay, 30}, {nov - kDay, 95}};
  const auto changed = RejudgePeriods(MonthlyGoal(true), stored, Lookup(after), oct - kDay);
  ASSERT_EQ(changed.size(), 3U);
  EXPECT_EQ(changed[0].after.start, sep);  // its closing value
  EXPECT_EQ(changed[0].after.final_value, 30);
  EXPECT_EQ(changed[1].after.start, oct);  // its baseline, and so its progress
  EXPECT_EQ(changed[1].after.baseline, 30);
  EXPECT_EQ(changed[1].after.final_value, 95);
  EXPECT_EQ(changed[1].after.result, "missed");
  EXPECT_EQ(changed[2].after.start, nov);  // the open one: its carried baseline
  EXPECT_EQ(changed[2].before.baseline, 100);
  EXPECT_EQ(changed[2].after.baseline, 95);
  EXPECT_EQ(changed[2].after.result, "");
}

TEST(RestatementStoreTest, RecordingRejudgedPeriodsReplacesTheirRows) {
  testing::TempDir dir;
  auto opened = store::Store::Open((dir.path() / "kpid.db").string());
  store::Store& store = *std::get<std::unique_ptr<store::Store>>(opened);
  const TimePoint oct = std::chrono::sys_days(std::chrono::year{2026} / 10 / 1);
  const TimePoint nov = std::chrono::sys_days(std::chrono::year{2026} / 11 / 1);
  const TimePoint dec = std::chrono::sys_days(std::chrono::year{2026} / 12 / 1);
  const store::PeriodRow closed = Closed(oct, nov, 0, 90, "missed");
  const store::PeriodRow open{"revenue", nov, dec, 90, 100, "", std::nullopt, std::nullopt};
  ASSERT_FALSE(store.SavePeriods(std::vector<store::PeriodRow>{closed, open}));
  store::RestatementRow row;
  row.kpi = "revenue";
  row.detected = dec;
  row.values = 1;
  row.first = row.last = nov - kDay;
  store::PeriodRow achieved = Closed(oct, nov, 0, 105, "achieved");
  store::PeriodRow rebased = open;
  rebased.baseline = 105;
  row.periods = {{closed, achieved}, {open, rebased}};
  ASSERT_TRUE(
      std::holds_alternative<std::vector<std::int64_t>>(store.RecordRestatement(row, {}, {}, {})));
  auto periods = store.LoadPeriods("revenue", 10);
  const auto& held = std::get<store::StoredPeriods>(periods);
  ASSERT_EQ(held.closed.size(), 1U);
  EXPECT_EQ(held.closed[0].result, "achieved");
  EXPECT_EQ(held.closed[0].final_value, 105);
  EXPECT_EQ(held.achieved, 1U);
  EXPECT_EQ(held.missed, 0U);
  ASSERT_TRUE(held.open);
  EXPECT_EQ(held.open->baseline, 105);
  EXPECT_EQ(held.open->result, "");
  const auto loaded =
      std::get<std::vector<store::RestatementRow>>(store.LoadRestatements("revenue", 10, 10));
  ASSERT_EQ(loaded.size(), 1U);
  ASSERT_EQ(loaded[0].periods.size(), 2U);
  EXPECT_EQ(loaded[0].periods[0].before.result, "missed");
  EXPECT_EQ(loaded[0].periods[0].after.result, "achieved");
  EXPECT_EQ(loaded[0].periods[0].before.final_value, 90);
  EXPECT_EQ(loaded[0].periods[0].after.final_value, 105);
  EXPECT_EQ(loaded[0].periods[1].after.baseline, 105);
}

}  // namespace
}  // namespace kpid
