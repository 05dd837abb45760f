// The collection core against a scripted collector kind: the core's own logic
// (concurrency limits, the timeout backstop, skipping busy KPIs, metrics and failure
// state). The real collectors are tested against real servers in tests/collectors/.
#include "daemon/collection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "daemon/config/reader.hpp"

namespace kpid {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// Per-KPI settings of the scripted kind: how the collection answers.
struct ScriptSettings : config::KindSettings {
  double value = 0;
  std::chrono::milliseconds delay{0};
  bool fail = false;
  bool never = false;         // never answers: the backstop must report
  bool history = false;       // HasHistory(); the history is one sample of `value`
  bool hold_history = false;  // history reads wait in Probe::held_history
};

// Shared by every collector the kind makes, so the test can observe them.
struct Probe {
  int in_flight = 0;
  int max_in_flight = 0;
  int calls = 0;
  int stopped = 0;
  int history_calls = 0;
  // Held history callbacks, kept past their collector's Stop() so a test can deliver a
  // result late, as a racing plugin would.
  std::vector<collectors::Collector::HistoryDone> held_history;
};

class ScriptCollector : public collectors::Collector {
 public:
  ScriptCollector(boost::asio::io_context& io, std::shared_ptr<Probe> probe)
      : io_(io), probe_(std::move(probe)) {}
  void Collect(const collectors::Target& target, std::chrono::milliseconds, Done done) override {
    const auto& s = dynamic_cast<const ScriptSettings&>(*target.settings);
    ++probe_->calls;
    probe_->max_in_flight = std::max(probe_->max_in_flight, ++probe_->in_flight);
    if (s.never) {
      held_.push_back(std::move(done));
      return;
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, s.delay);
    timer->async_wait([this, timer, s, done = std::move(done), alive = alive_](auto) {
      if (!*alive) return;
      --probe_->in_flight;
      if (s.fail) {
        done(collectors::CollectError{collectors::ErrorKind::kQuery, "scripted failure"});
      } else {
        done(collectors::Sample{s.value, collectors::Clock::now()});
      }
    });
  }
  bool HasHistory(const collectors::Target& target) const override {
    return dynamic_cast<const ScriptSettings&>(*target.settings).history;
  }
  void CollectHistory(const collectors::Target& target, std::chrono::milliseconds,
                      HistoryDone done) override {
    const auto& s = dynamic_cast<const ScriptSettings&>(*target.settings);
    ++probe_->history_calls;
    if (s.hold_history) {
      probe_->held_history.push_back(std::move(done));
      return;
    }
    boost::asio::post(
        io_, [value = s.value, fail = s.fail, done = std::move(done), alive = alive_] {
          if (!*alive) return;
          if (fail) {
            done(collectors::CollectError{collectors::ErrorKind::kQuery, "scripted failure"});
            return;
          }
          done(collectors::History{{collectors::Sample{value, collectors::Clock::now()}}, 0, ""});
        });
  }
  void Stop() override {
    *alive_ = false;
    ++probe_->stopped;
  }

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<Probe> probe_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<Done> held_;
};

class CollectionTest : public ::testing::Test {
 protected:
  CollectionTest() {
    kind_.name = "script";
    kind_.config.parse_source = [](config::TableReader&) {
      return std::make_shared<config::KindSettings>();
    };
    kind_.config.parse_kpi = [](config::TableReader& r, const config::Source&) {
      auto s = std::make_shared<ScriptSettings>();
      s->value = r.Number("value").value_or(0);
      s->delay = std::chrono::milliseconds(r.Integer("delay_ms").value_or(0));
      s->fail = r.Bool("fail").value_or(false);
      s->never = r.Bool("never").value_or(false);
      s->history = r.Bool("history").value_or(false);
      s->hold_history = r.Bool("hold_history").value_or(false);
      return s;
    };
    kind_.make = [probe = probe_](const config::Source&, boost::asio::io_context& io) {
      return std::make_unique<ScriptCollector>(io, probe);
    };
  }

  config::Config Load(const std::string& text) {
    config::Extensions ext{{{"script", kind_.config}}, {}};
    auto result = config::LoadFromString(
        text, "t.toml", ext, [](const std::string&) { return std::optional<std::string>(); });
    if (!result.config) {
      for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
    }
    return std::move(*result.config);
  }

  std::unique_ptr<Collection> Make() {
    return std::make_unique<Collection>(io_, registry_, [this](std::string_view type) {
      return type == "script" ? &kind_ : nullptr;
    });
  }

  std::string Metrics() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

  boost::asio::io_context io_;
  prometheus::Registry registry_;
  std::shared_ptr<Probe> probe_ = std::make_shared<Probe>();
  collectors::Kind kind_;
};

TEST_F(CollectionTest, HoldsEachSourceToItsMaxConcurrency) {
  std::string text = "[[source]]\nname = \"s\"\ntype = \"script\"\nmax_concurrency = 2\n";
  for (int i = 0; i < 6; ++i) {
    text += "[[kpi]]\nname = \"k" + std::to_string(i) +
            "\"\nsource = \"s\"\nvalue = " + std::to_string(i) + "\ndelay_ms = 30\n";
  }
  config::Config config = Load(text);
  auto collection = Make();
  std::map<std::string, double> values;
  collection->SetObserver([&](const Collection::Outcome& o) {
    values[o.kpi] = std::get<collectors::Sample>(o.result).value;
    if (values.size() == 6) io_.stop();
  });
  collection->Apply(config, nullptr);
  for (int i = 0; i < 6; ++i) collection->CollectNow("k" + std::to_string(i));
  io_.run_for(10s);
  ASSERT_EQ(values.size(), 6u);
  EXPECT_EQ(values["k5"], 5);
  EXPECT_EQ(probe_->max_in_flight, 2);
  EXPECT_THAT(Metrics(), HasSubstr("kpid_collector_runs_total{result=\"success\",source=\"s\"} 6"));
  EXPECT_THAT(Metrics(), HasSubstr("kpid_collector_duration_seconds_count{source=\"s\"} 6"));
}

TEST_F(CollectionTest, BackstopReportsATimeoutAndKeepsTheSlotUntilThePluginAnswers) {
  config::Config config = Load(
      "[[source]]\nname = \"hang\"\ntype = \"script\"\ntimeout = \"10ms\"\nmax_concurrency = 1\n"
      "[[kpi]]\nname = \"stuck\"\nsource = \"hang\"\nnever = true\n"
      "[[kpi]]\nname = \"next\"\nsource = \"hang\"\n");
  auto collection = Make();
  std::vector<Collection::Outcome> outcomes;
  collection->SetObserver([&](const Collection::Outcome& o) {
    outcomes.push_back(o);
    io_.stop();
  });
  collection->Apply(config, nullptr);
  collection->CollectNow("stuck");
  collection->CollectNow("next");
  collection->CollectNow("stuck");  // still in flight: skipped
  io_.run_for(30s);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].kpi, "stuck");
  const auto& error = std::get<collectors::CollectError>(outcomes[0].result);
  EXPECT_EQ(error.kind, collectors::ErrorKind::kTimeout);
  EXPECT_EQ(error.message, "source \"hang\" (script): no answer within 10ms");
  // The plugin never freed its only slot, so "next" is still queued, not run.
  EXPECT_EQ(probe_->calls, 1);
  EXPECT_EQ(collection->pending(), 2u);
  collection->Stop();
  EXPECT_EQ(probe_->stopped, 1);
}

TEST_F(CollectionTest, ASlowSourceDoesNotDelayAnother) {
  config::Config config = Load(
      "[[source]]\nname = \"slow\"\ntype = \"script\"\ntimeout = \"60s\"\nmax_concurrency = 1\n"
      "[[source]]\nname = \"fast\"\ntype = \"script\"\n"
      "[[kpi]]\nname = \"stuck\"\nsource = \"slow\"\nnever = true\ninterval = \"1s\"\n"
      "[[kpi]]\nname = \"quick\"\nsource = \"fast\"\nvalue = 7\ninterval = \"1s\"\n");
  auto collection = Make();
  int quick = 0;
  collection->SetObserver([&](const Collection::Outcome& o) {
    if (o.kpi == "quick" && ++quick == 3) io_.stop();
  });
  Scheduler scheduler(io_);
  collection->Apply(config, &scheduler);
  io_.run_for(30s);
  EXPECT_EQ(quick, 3) << "the fast source kept its schedule";
  collection->Stop();
}

TEST_F(CollectionTest, ReloadReplacesCollectorsAndDropsLateResults) {
  config::Config config = Load(
      "[[source]]\nname = \"s\"\ntype = \"script\"\n"
      "[[kpi]]\nname = \"k\"\nsource = \"s\"\nvalue = 1\ndelay_ms = 50\n");
  auto collection = Make();
  std::vector<double> seen;
  collection->SetObserver([&](const Collection::Outcome& o) {
    seen.push_back(std::get<collectors::Sample>(o.result).value);
    io_.stop();
  });
  collection->Apply(config, nullptr);
  collection->CollectNow("k");  // answers after 50 ms, from the old collector
  collection->Apply(Load("[[source]]\nname = \"s\"\ntype = \"script\"\n"
                         "[[kpi]]\nname = \"k\"\nsource = \"s\"\nvalue = 2\n"),
                    nullptr);
  EXPECT_EQ(probe_->stopped, 1);
  collection->CollectNow("k");
  io_.run_for(10s);
  EXPECT_EQ(seen, std::vector<double>{2});
}

TEST_F(CollectionTest, FailuresAreCountedByKind) {
  config::Config config = Load(
      "[[source]]\nname = \"s\"\ntype = \"script\"\n"
      "[[kpi]]\nname = \"bad\"\nsource = \"s\"\nfail = true\n");
  auto collection = Make();
  int n = 0;
  collection->SetObserver([&](const Collection::Outcome&) {
    if (++n == 2) io_.stop();
  });
  collection->Apply(config, nullptr);
  collection->CollectNow("bad");
  boost::asio::steady_timer again(io_, 20ms);
  again.async_wait([&](auto) { collection->CollectNow("bad"); });
  io_.run_for(10s);
  EXPECT_THAT(Metrics(), HasSubstr("kpid_collector_runs_total{result=\"query\",source=\"s\"} 2"));
}

TEST_F(CollectionTest, HistoryReadsAreCountedBySourceAndResult) {
  config::Config config = Load(
      "[[source]]\nname = \"s\"\ntype = \"script\"\n"
      "[[kpi]]\nname = \"good\"\nsource = \"s\"\nhistory = true\n"
      "[[kpi]]\nname = \"bad\"\nsource = \"s\"\nhistory = true\nfail = true\n"
      "[[source]]\nname = \"plain\"\ntype = \"script\"\n"
      "[[kpi]]\nname = \"none\"\nsource = \"plain\"\n");
  auto collection = Make();
  int n = 0;
  collection->SetHistoryObserver([&](const std::string&, const collectors::HistoryResult&) {
    if (++n == 3) io_.stop();
  });
  collection->Apply(config, nullptr);
  collection->CollectHistoryNow("bad");  // the first read of Apply is in flight: skipped
  boost::asio::post(io_, [&] { collection->CollectHistoryNow("bad"); });
  io_.run_for(10s);
  const std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("kpid_history_reads_total{result=\"success\",source=\"s\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("kpid_history_reads_total{result=\"query\",source=\"s\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("kpid_history_reads_total{result=\"timeout\",source=\"s\"} 0"))
      << "every result from the start";
  EXPECT_THAT(metrics,
              Not(HasSubstr("kpid_history_reads_total{result=\"success\",source=\"plain\"")))
      << "only sources with a history";
}

// The first sample's value of a history result; -1 for an error or an empty history.
double FirstValue(const collectors::HistoryResult& result) {
  const auto* history = std::get_if<collectors::History>(&result);
  return history == nullptr || history->samples.empty() ? -1 : history->samples[0].value;
}

TEST_F(CollectionTest, ReadsEachHistoryOnceAtApply) {
  config::Config config = Load(
      "[[source]]\nname = \"s\"\ntype = \"script\"\n"
      "[[kpi]]\nname = \"with\"\nsource = \"s\"\nvalue = 4\nhistory = true\n"
      "[[kpi]]\nname = \"without\"\nsource = \"s\"\n");
  auto collection = Make();
  std::vector<std::pair<std::string, double>> seen;
  collection->SetHistoryObserver([&](const std::string& kpi, const collectors::HistoryResult& r) {
    seen.emplace_back(kpi, FirstValue(r));
  });
  collection->Apply(config, nullptr);
  io_.run_for(10s);  // ends early: without a scheduler nothing else is pending
  EXPECT_EQ(probe_->history_calls, 1);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, double>>{{"with", 4}}));
}

TEST_F(CollectionTest, RereadsTheHistoryEveryHistoryInterval) {
  config::Config config = Load(
      "[[source]]\nname = \"s\"\ntype = \"script\"\n"
      "[[kpi]]\nname = \"k\"\nsource = \"s\"\ninterval = \"1h\"\nhistory = true\n"
      "history_interval = \"1s\"\n");
  auto collection = Make();
  int reads = 0;
  collection->SetHistoryObserver([&](const std::string& kpi, const collectors::HistoryResult&) {
    EXPECT_EQ(kpi, "k");
    if (++reads == 3) io_.stop();
  });
  Scheduler scheduler(io_);
  collection->Apply(config, &scheduler);
  io_.run_for(60s);
  EXPECT_EQ(reads, 3) << "one read at Apply, then one per history_interval";
  EXPECT_EQ(probe_->history_calls, 3);
  collection->Stop();
}

TEST_F(CollectionTest, StartsNoSecondHistoryReadWhileOneIsInFlight) {
  config::Config config = Load(
      "[[source]]\nname = \"s\"\ntype = \"script\"\n"
      "[[kpi]]\nname = \"k\"\nsource = \"s\"\nvalue = 1\nhistory = true\n"
      "hold_history = true\n");
  auto collection = Make();
  int reads = 0;
  collection->SetHistoryObserver(
      [&](const std::string&, const collectors::HistoryResult&) { ++reads; });
  collection->Apply(config, nullptr);
  ASSERT_EQ(probe_->history_calls, 1);
  collection->CollectHistoryNow("k");  // the read of Apply is still held open: skipped
  collection->CollectHistoryNow("k");
  EXPECT_EQ(probe_->history_calls, 1);
  ASSERT_EQ(probe_->held_history.size(), 1u);
  probe_->held_history[0](collectors::History{});
  EXPECT_EQ(reads, 1);
  collection->CollectHistoryNow("k");  // the result cleared the in-flight mark
  EXPECT_EQ(probe_->history_calls, 2);
  collection->CollectHistoryNow("unknown");  // no such KPI: nothing happens
  EXPECT_EQ(probe_->history_calls, 2);
}

TEST_F(CollectionTest, ScheduledHistoryReadsSkipWhileOneIsInFlight) {
  // Collections and history reads both every second: by the fourth collection the history
  // timer has fired at least twice while the read of Apply was held open.
  config::Config config = Load(
      "[[source]]\nname = \"s\"\ntype = \"script\"\n"
      "[[kpi]]\nname = \"k\"\nsource = \"s\"\ninterval = \"1s\"\nhistory = true\n"
      "hold_history = true\nhistory_interval = \"1s\"\n");
  auto collection = Make();
  int collections = 0;
  int reads = 0;
  collection->SetObserver([&](const Collection::Outcome&) {
    if (++collections == 4) io_.stop();
  });
  collection->SetHistoryObserver(
      [&](const std::string&, const collectors::HistoryResult&) { ++reads; });
  Scheduler scheduler(io_);
  collection->Apply(config, &scheduler);
  io_.run_for(60s);
  ASSERT_EQ(collections, 4);
  EXPECT_EQ(probe_->history_calls, 1);
  ASSERT_EQ(probe_->held_history.size(), 1u);
  probe_->held_history[0](collectors::History{});
  EXPECT_EQ(reads, 1);
  // The next tick starts a read again.
  io_.restart();
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (probe_->history_calls < 2 && std::chrono::steady_clock::now() < give_up) {
    io_.run_one_for(1s);
  }
  EXPECT_EQ(probe_->history_calls, 2);
  collection->Stop();
}

TEST_F(CollectionTest, HistoryIntervalNeverReadsOnlyAtApply) {
  config::Config config = Load(
      "[[source]]\nname = \"s\"\ntype = \"script\"\n"
      "[[kpi]]\nname = \"once\"\nsource = \"s\"\nhistory = true\n"
      "history_interval = \"never\"\n"
      "[[kpi]]\nname = \"often\"\nsource = \"s\"\nhistory = true\n"
      "history_interval = \"1s\"\n"
      "[[kpi]]\nname = \"plain\"\nsource = \"s\"\n");
  auto collection = Make();
  std::map<std::string, int> reads;
  collection->SetHistoryObserver([&](const std::string& kpi, const collectors::HistoryResult&) {
    if (++reads[kpi] == 3 && kpi == "often") io_.stop();
  });
  Scheduler scheduler(io_);
  collection->Apply(config, &scheduler);
  // Three collection timers and one history timer: none for "never" nor for "plain",
  // which has no history.
  EXPECT_EQ(scheduler.size(), 4u);
  io_.run_for(60s);
  EXPECT_EQ(reads["often"], 3);
  EXPECT_EQ(reads["once"], 1);
  EXPECT_EQ(reads.count("plain"), 0u);

  // A reload drops the history timers of the previous config.
  collection->Apply(Load("[[source]]\nname = \"s\"\ntype = \"script\"\n"
                         "[[kpi]]\nname = \"plain\"\nsource = \"s\"\n"),
                    &scheduler);
  EXPECT_EQ(scheduler.size(), 1u);
  collection->Stop();
  EXPECT_EQ(scheduler.size(), 0u);
}

TEST_F(CollectionTest, ReloadDropsALateHistoryResultOfTheOldCollectors) {
  const std::string text =
      "[[source]]\nname = \"s\"\ntype = \"script\"\n"
      "[[kpi]]\nname = \"k\"\nsource = \"s\"\nhistory = true\nhold_history = true\n";
  auto collection = Make();
  std::vector<double> seen;
  collection->SetHistoryObserver([&](const std::string&, const collectors::HistoryResult& r) {
    seen.push_back(FirstValue(r));
  });
  collection->Apply(Load(text + "value = 1\n"), nullptr);
  ASSERT_EQ(probe_->history_calls, 1);
  collection->Apply(Load(text + "value = 2\n"), nullptr);
  // The old read was still in flight; the new collector reads all the same.
  EXPECT_EQ(probe_->stopped, 1);
  ASSERT_EQ(probe_->history_calls, 2);
  ASSERT_EQ(probe_->held_history.size(), 2u);
  const collectors::Sample late{1, collectors::Clock::now()};
  probe_->held_history[0](collectors::History{{late}, 0, ""});  // from the replaced collector
  EXPECT_TRUE(seen.empty());
  const collectors::Sample fresh{2, collectors::Clock::now()};
  probe_->held_history[1](collectors::History{{fresh}, 0, ""});
  EXPECT_EQ(seen, std::vector<double>{2});
}

}  // namespace
}  // namespace kpid
