#include "daemon/cli.hpp"

#include "daemon/config/duration.hpp"
#include "rules/time_spec.hpp"

namespace kpid::cli {

std::string Usage() {
  return R"(Usage: kpid [COMMAND] [OPTIONS]

kpid watches KPIs against their goals and deadlines, alerts owners when a goal goes off
track, and exposes everything as Prometheus metrics.

Commands:
  run          Run the service (the default command).
  check        Validate the config; print every error as
               PATH:LINE:COL: message.
  eval         Collect every KPI once, judge the goals and print value, status,
               progress, expected value, gap, forecast and days left; notifies
               nobody. Exit 1 if any KPI has no value or its collection failed.
  backtest     Replay the goals and rules over the stored history and print, per
               KPI, the status timeline, every notification that would have been
               sent and flaps; sends nothing. Exit 1 if the store cannot be read.
  notify-test  Send one test notification to the receiver named by --receiver
               and report success or the exact error. Exit 1 if it was not
               delivered.
  version      Print the version.
  help         Print this help.

Options:
  -c, --config PATH        Config file (default /etc/kpid/kpid.toml).
      --log-level LEVEL    debug, info, warn or error (default info).
      --log-format FORMAT  text or json (default text).
      --kpi NAME           eval, backtest: only this KPI.
      --format FORMAT      eval, backtest: table (text) or json (default table).
      --since WHEN         backtest: from this long ago (90d) or this time
                           (2026-09-01, 2026-09-01T00:00:00Z); default 90d.
      --until TIME         backtest: up to this time (default now).
      --step DURATION      backtest: judge every DURATION (default the config's
                           evaluation.interval).
      --receiver NAME      notify-test: the receiver to send to.
  -h, --help               Print this help.

Exit status:
  0  Success.
  1  Invalid config or failed check.
  2  Usage error.
)";
}

std::variant<Command, UsageError> Parse(const std::vector<std::string>& args) {
  Command cmd;
  bool have_verb = false;
  bool config_given = false;
  bool backtest_option = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    // Accept both "--flag value" and "--flag=value".
    std::string flag = arg;
    std::optional<std::string> value;
    if (arg.starts_with("--")) {
      if (auto eq = arg.find('='); eq != std::string::npos) {
        flag = arg.substr(0, eq);
        value = arg.substr(eq + 1);
      }
    }
    auto take_value = [&]() -> std::optional<std::string> {
      if (value) return value;
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (flag == "-h" || flag == "--help") {
      cmd.verb = Verb::kHelp;
      return cmd;
    }
    if (flag == "-c" || flag == "--config") {
      auto v = take_value();
      if (!v || v->empty()) return UsageError{flag + " needs a path"};
      cmd.config_path = *v;
      config_given = true;
    } else if (flag == "--log-level") {
      auto v = take_value();
      auto level = v ? log::ParseLevel(*v) : std::nullopt;
      if (!level) return UsageError{"--log-level must be debug, info, warn or error"};
      cmd.log_level = *level;
    } else if (flag == "--log-format") {
      auto v = take_value();
      auto format = v ? log::ParseFormat(*v) : std::nullopt;
      if (!format) return UsageError{"--log-format must be text or json"};
      cmd.log_format = *format;
    } else if (flag == "--kpi") {
      auto v = take_value();
      if (!v || v->empty()) return UsageError{"--kpi needs a KPI name"};
      cmd.kpi = *v;
    } else if (flag == "--receiver") {
      auto v = take_value();
      if (!v || v->empty()) return UsageError{"--receiver needs a receiver name"};
      cmd.receiver = *v;
    } else if (flag == "--since" || flag == "--until") {
      auto v = take_value();
      const bool is_duration = v && flag == "--since" && config::ParseDuration(*v).has_value();
      const bool is_time = v && std::holds_alternative<rules::TimeSpec>(rules::ParseTimeSpec(*v));
      if (!is_duration && !is_time) {
        return UsageError{flag == "--since"
                              ? "--since must be a duration (90d) or a time (2026-09-01)"
                              : "--until must be a time (2026-11-01 or 2026-11-01T00:00:00Z)"};
      }
      (flag == "--since" ? cmd.since : cmd.until) = *v;
      backtest_option = true;
    } else if (flag == "--step") {
      auto v = take_value();
      const auto step = v ? config::ParseDuration(*v) : std::nullopt;
      if (!step || *step <= config::Duration::zero()) {
        return UsageError{"--step must be a positive duration, e.g. 15m"};
      }
      cmd.step = *v;
      backtest_option = true;
    } else if (flag == "--format") {
      auto v = take_value();
      if (!v || (*v != "table" && *v != "json"))
        return UsageError{"--format must be table or json"};
      cmd.json = *v == "json";
    } else if (arg.starts_with("-")) {
      return UsageError{"unknown option " + arg};
    } else if (!have_verb) {
      have_verb = true;
      if (arg == "run") {
        cmd.verb = Verb::kRun;
      } else if (arg == "check") {
        cmd.verb = Verb::kCheck;
      } else if (arg == "eval") {
        cmd.verb = Verb::kEval;
      } else if (arg == "backtest") {
        cmd.verb = Verb::kBacktest;
      } else if (arg == "notify-test") {
        cmd.verb = Verb::kNotifyTest;
      } else if (arg == "version") {
        cmd.verb = Verb::kVersion;
      } else if (arg == "help") {
        cmd.verb = Verb::kHelp;
      } else {
        return UsageError{"unknown command \"" + arg + "\""};
      }
    } else {
      return UsageError{"unexpected argument \"" + arg + "\""};
    }
  }
  if ((cmd.verb == Verb::kCheck || cmd.verb == Verb::kEval || cmd.verb == Verb::kBacktest ||
       cmd.verb == Verb::kNotifyTest) &&
      !config_given) {
    const char* verb = cmd.verb == Verb::kCheck      ? "check"
                       : cmd.verb == Verb::kEval     ? "eval"
                       : cmd.verb == Verb::kBacktest ? "backtest"
                                                     : "notify-test";
    return UsageError{std::string(verb) + " needs --config PATH"};
  }
  if (cmd.verb == Verb::kNotifyTest && cmd.receiver.empty()) {
    return UsageError{"notify-test needs --receiver NAME"};
  }
  if (cmd.verb != Verb::kNotifyTest && !cmd.receiver.empty()) {
    return UsageError{"--receiver applies to notify-test only"};
  }
  if (cmd.verb != Verb::kEval && cmd.verb != Verb::kBacktest && (!cmd.kpi.empty() || cmd.json)) {
    return UsageError{"--kpi and --format apply to eval and backtest only"};
  }
  if (cmd.verb != Verb::kBacktest && backtest_option) {
    return UsageError{"--since, --until and --step apply to backtest only"};
  }
  return cmd;
}

}  // namespace kpid::cli
