#include "daemon/cli.hpp"

namespace kpid::cli {

std::string Usage() {
  return R"(Usage: kpid [COMMAND] [OPTIONS]

kpid watches KPIs against their goals and deadlines, alerts owners when a goal goes off
track, and exposes everything as Prometheus metrics.

Commands:
  run        Run the service (the default command).
  check      Validate the config; print every error as PATH:LINE:COL: message.
  eval       Collect every KPI once, judge the goals and print value, status,
             progress, expected value, gap, forecast and days left; notifies
             nobody. Exit 1 if any KPI has no value or its collection failed.
  notify-test
             Send one test notification to the receiver named by --receiver and
             report success or the exact error. Exit 1 if it was not delivered.
  version    Print the version.
  help       Print this help.

Options:
  -c, --config PATH        Config file (default /etc/kpid/kpid.toml).
      --log-level LEVEL    debug, info, warn or error (default info).
      --log-format FORMAT  text or json (default text).
      --kpi NAME           eval: only this KPI.
      --format FORMAT      eval: table or json (default table).
      --receiver NAME      notify-test: the receiver to send to.
  -h, --help               Print this help.

Exit status: 0 success, 1 invalid config or failed check, 2 usage error.
)";
}

std::variant<Command, UsageError> Parse(const std::vector<std::string>& args) {
  Command cmd;
  bool have_verb = false;
  bool config_given = false;
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
  if ((cmd.verb == Verb::kCheck || cmd.verb == Verb::kEval || cmd.verb == Verb::kNotifyTest) &&
      !config_given) {
    const char* verb = cmd.verb == Verb::kCheck  ? "check"
                       : cmd.verb == Verb::kEval ? "eval"
                                                 : "notify-test";
    return UsageError{std::string(verb) + " needs --config PATH"};
  }
  if (cmd.verb == Verb::kNotifyTest && cmd.receiver.empty()) {
    return UsageError{"notify-test needs --receiver NAME"};
  }
  if (cmd.verb != Verb::kNotifyTest && !cmd.receiver.empty()) {
    return UsageError{"--receiver applies to notify-test only"};
  }
  if (cmd.verb != Verb::kEval && (!cmd.kpi.empty() || cmd.json)) {
    return UsageError{"--kpi and --format apply to eval only"};
  }
  return cmd;
}

}  // namespace kpid::cli
