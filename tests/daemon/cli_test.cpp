#include "daemon/cli.hpp"

#include <gtest/gtest.h>

namespace kpid::cli {
namespace {

Command Ok(const std::vector<std::string>& args) {
  auto r = Parse(args);
  if (auto* e = std::get_if<UsageError>(&r)) ADD_FAILURE() << e->message;
  return std::get_if<Command>(&r) ? std::get<Command>(r) : Command{};
}

std::string Usage(const std::vector<std::string>& args) {
  auto r = Parse(args);
  if (auto* e = std::get_if<UsageError>(&r)) return e->message;
  return "accepted";
}

TEST(CliTest, DefaultsToRunWithTheSystemConfig) {
  Command c = Ok({});
  EXPECT_EQ(c.verb, Verb::kRun);
  EXPECT_EQ(c.config_path, "/etc/kpid/kpid.toml");
  EXPECT_EQ(c.log_level, log::Level::kInfo);
  EXPECT_EQ(c.log_format, log::Format::kText);
}

TEST(CliTest, VerbsAndFlags) {
  EXPECT_EQ(Ok({"version"}).verb, Verb::kVersion);
  EXPECT_EQ(Ok({"--help"}).verb, Verb::kHelp);
  EXPECT_EQ(Ok({"help"}).verb, Verb::kHelp);
  Command c = Ok({"run", "--config", "/x.toml", "--log-level", "debug", "--log-format=json"});
  EXPECT_EQ(c.verb, Verb::kRun);
  EXPECT_EQ(c.config_path, "/x.toml");
  EXPECT_EQ(c.log_level, log::Level::kDebug);
  EXPECT_EQ(c.log_format, log::Format::kJson);
  EXPECT_EQ(Ok({"check", "-c", "a.toml"}).verb, Verb::kCheck);
  EXPECT_EQ(Ok({"--config=b.toml", "check"}).config_path, "b.toml");
}

TEST(CliTest, UsageErrors) {
  EXPECT_EQ(Usage({"frobnicate"}), "unknown command \"frobnicate\"");
  EXPECT_EQ(Usage({"run", "extra"}), "unexpected argument \"extra\"");
  EXPECT_EQ(Usage({"--verbose"}), "unknown option --verbose");
  EXPECT_EQ(Usage({"--config"}), "--config needs a path");
  EXPECT_EQ(Usage({"--log-level", "loud"}), "--log-level must be debug, info, warn or error");
  EXPECT_EQ(Usage({"--log-format", "xml"}), "--log-format must be text or json");
  EXPECT_EQ(Usage({"check"}), "check needs --config PATH");
  EXPECT_EQ(Usage({"notify-test", "--receiver", "x"}), "notify-test needs --config PATH");
  EXPECT_EQ(Usage({"notify-test", "-c", "a.toml"}), "notify-test needs --receiver NAME");
  EXPECT_EQ(Usage({"run", "--receiver", "x"}), "--receiver applies to notify-test only");
}

TEST(CliTest, NotifyTest) {
  Command c = Ok({"notify-test", "--config", "a.toml", "--receiver=ops-mail"});
  EXPECT_EQ(c.verb, Verb::kNotifyTest);
  EXPECT_EQ(c.receiver, "ops-mail");
  EXPECT_EQ(c.config_path, "a.toml");
}

TEST(CliTest, Backtest) {
  Command c = Ok({"backtest", "-c", "a.toml", "--kpi", "churn", "--since", "30d", "--step=15m",
                  "--until", "2026-11-01T00:00:00Z", "--format", "json"});
  EXPECT_EQ(c.verb, Verb::kBacktest);
  EXPECT_EQ(c.kpi, "churn");
  EXPECT_EQ(c.since, "30d");
  EXPECT_EQ(c.until, "2026-11-01T00:00:00Z");
  EXPECT_EQ(c.step, "15m");
  EXPECT_TRUE(c.json);
  EXPECT_EQ(Ok({"backtest", "-c", "a.toml", "--since", "2026-09-01"}).since, "2026-09-01");
  EXPECT_EQ(Ok({"backtest", "-c", "a.toml"}).since, "90d");

  EXPECT_EQ(Usage({"backtest"}), "backtest needs --config PATH");
  EXPECT_EQ(Usage({"backtest", "-c", "a", "--since", "lately"}),
            "--since must be a duration (90d) or a time (2026-09-01)");
  EXPECT_EQ(Usage({"backtest", "-c", "a", "--until", "90d"}),
            "--until must be a time (2026-11-01 or 2026-11-01T00:00:00Z)");
  EXPECT_EQ(Usage({"backtest", "-c", "a", "--step", "0s"}),
            "--step must be a positive duration, e.g. 15m");
  EXPECT_EQ(Usage({"eval", "-c", "a", "--since", "1d"}),
            "--since, --until and --step apply to backtest only");
  EXPECT_EQ(Usage({"run", "--kpi", "x"}), "--kpi and --format apply to eval and backtest only");
}

}  // namespace
}  // namespace kpid::cli
