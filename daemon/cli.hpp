// Command-line parsing (DESIGN.md "CLI"). Pure: argv in, a Command or a usage error out.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "daemon/log.hpp"

namespace kpid::cli {

inline constexpr char kDefaultConfigPath[] = "/etc/kpid/kpid.toml";

enum class Verb { kRun, kCheck, kEval, kBacktest, kNotifyTest, kVersion, kHelp };

struct Command {
  Verb verb = Verb::kRun;
  std::string config_path = kDefaultConfigPath;
  log::Level log_level = log::Level::kInfo;
  log::Format log_format = log::Format::kText;
  std::string kpi;       // eval, backtest --kpi
  bool json = false;     // eval, backtest --format json
  std::string receiver;  // notify-test --receiver
  // backtest: --since (a duration back from now, or an RFC 3339 time or date), --until
  // (a time, default now) and --step (a duration, default evaluation.interval); checked
  // for syntax here, resolved by the command.
  std::string since = "90d";
  std::string until;
  std::string step;
};

struct UsageError {
  std::string message;
};

std::variant<Command, UsageError> Parse(const std::vector<std::string>& args);

// The --help text (also the source of the man page).
std::string Usage();

}  // namespace kpid::cli
