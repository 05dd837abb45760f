// kpid: parse the command line, load the config, run the service.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "daemon/backtest.hpp"
#include "daemon/cli.hpp"
#include "daemon/eval.hpp"
#include "daemon/load_config.hpp"
#include "daemon/log.hpp"
#include "daemon/notify/notify_test.hpp"
#include "daemon/service.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

void PrintErrors(const std::vector<kpid::config::Diagnostic>& errors) {
  for (const auto& e : errors) std::cerr << e.ToString() << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = kpid::cli::Parse(args);
  if (auto* usage = std::get_if<kpid::cli::UsageError>(&parsed)) {
    std::cerr << "kpid: " << usage->message << "\nTry 'kpid --help'.\n";
    return kExitUsage;
  }
  const auto& cmd = std::get<kpid::cli::Command>(parsed);
  switch (cmd.verb) {
    case kpid::cli::Verb::kHelp:
      std::cout << kpid::cli::Usage();
      return kExitOk;
    case kpid::cli::Verb::kVersion:
      std::cout << "kpid " << KPID_VERSION << '\n';
      return kExitOk;
    case kpid::cli::Verb::kCheck: {
      auto result = kpid::LoadConfig(cmd.config_path);
      if (!result.config) {
        PrintErrors(result.errors);
        std::cerr << cmd.config_path << ": " << result.errors.size()
                  << (result.errors.size() == 1 ? " error" : " errors") << '\n';
        return kExitInvalid;
      }
      const auto& c = *result.config;
      std::cout << cmd.config_path << ": OK (" << c.sources.size() << " sources, " << c.kpis.size()
                << " KPIs, " << c.routes.size() << " routes, " << c.receivers.size()
                << " receivers, " << c.digests.size() << " digests, " << c.silences.size()
                << " silences)\n";
      return kExitOk;
    }
    case kpid::cli::Verb::kEval: {
      kpid::log::Configure(kpid::log::Level::kError, cmd.log_format);
      auto result = kpid::LoadConfig(cmd.config_path);
      if (!result.config) {
        PrintErrors(result.errors);
        return kExitInvalid;
      }
      return kpid::RunEval(*result.config, cmd.kpi,
                           cmd.json ? kpid::EvalFormat::kJson : kpid::EvalFormat::kTable, std::cout,
                           std::cerr);
    }
    case kpid::cli::Verb::kBacktest: {
      kpid::log::Configure(kpid::log::Level::kError, cmd.log_format);
      auto result = kpid::LoadConfig(cmd.config_path);
      if (!result.config) {
        PrintErrors(result.errors);
        return kExitInvalid;
      }
      const kpid::BacktestOptions options =
          kpid::ResolveBacktestOptions(cmd.since, cmd.until, cmd.step, cmd.kpi, *result.config,
                                       std::chrono::system_clock::now());
      return kpid::RunBacktest(*result.config, options, cmd.json, std::cout, std::cerr);
    }
    case kpid::cli::Verb::kNotifyTest: {
      kpid::log::Configure(kpid::log::Level::kError, cmd.log_format);
      auto result = kpid::LoadConfig(cmd.config_path);
      if (!result.config) {
        PrintErrors(result.errors);
        return kExitInvalid;
      }
      return kpid::notify::RunNotifyTest(*result.config, cmd.receiver, std::cout, std::cerr);
    }
    case kpid::cli::Verb::kRun: {
      kpid::log::Configure(cmd.log_level, cmd.log_format);
      auto result = kpid::LoadConfig(cmd.config_path);
      if (!result.config) {
        for (const auto& e : result.errors) {
          kpid::log::Error("invalid config", {{"error", e.ToString()}});
        }
        return kExitInvalid;
      }
      // Under a file-size limit (ulimit -f, systemd LimitFSIZE=) a store write must fail
      // with EFBIG, which the store reports and kpid survives; SIGXFSZ would kill it.
      std::signal(SIGXFSZ, SIG_IGN);
      kpid::Service service(cmd.config_path, std::move(*result.config));
      return service.Run();
    }
  }
  return kExitUsage;
}
