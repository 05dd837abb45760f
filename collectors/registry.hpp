// The explicit list of collector kinds. Adding a kind: its folder, and one line in
// registry.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "daemon/config/config.hpp"

namespace kpid::collectors {

// Config parsers of every collector kind, by `type` name, for config::Load().
std::vector<std::pair<std::string, config::SourceKind>> ConfigKinds();

}  // namespace kpid::collectors
