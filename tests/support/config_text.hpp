// Config text for tests that build a daemon config by hand, and loading it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "daemon/config/config.hpp"

namespace kpid::testing {

// An SQL source no test collects from: its KPIs get their values from Engine::Record.
inline constexpr std::string_view kHandFedSource =
    "\n[[source]]\nname = \"db\"\ntype = \"sql\"\ndriver = \"sqlite3\"\n"
    "connection = \"/nonexistent.db\"\n";

// Loads `text` as the config file `file`, with the built-in collectors and receivers and no
// environment variables. Each error fails the running test, which then gets an empty config.
std::shared_ptr<const config::Config> MustLoadConfig(const std::string& text,
                                                     const std::string& file = "test.toml");

}  // namespace kpid::testing
