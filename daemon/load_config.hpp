// Config loading with every plugin kind the daemon was built with.
#pragma once

#include <string>

#include "daemon/config/config.hpp"

namespace kpid {

// The collector and receiver kinds of this build, for config::Load().
const config::Extensions& BuiltinExtensions();

config::LoadResult LoadConfig(const std::string& path,
                              const config::EnvLookup& env = config::ProcessEnvironment());

}  // namespace kpid
