// The explicit list of receiver kinds. Adding a kind: its folder under daemon/notify/ and
// one line in registry.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "daemon/config/config.hpp"

namespace kpid::notify {

std::vector<std::pair<std::string, config::ReceiverKind>> ConfigKinds();

}  // namespace kpid::notify
