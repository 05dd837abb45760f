// The explicit list of receiver kinds. Adding a kind: its folder under daemon/notify/ (its
// settings and its receiver) and one line in registry.cpp.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon/config/config.hpp"
#include "daemon/notify/receiver.hpp"

namespace kpid::notify {

// Each kind's config parser, for config::Extensions.
std::vector<std::pair<std::string, config::ReceiverKind>> ConfigKinds();

// The receiver for a config::Receiver that config::Load() accepted; nullptr for an unknown
// type (which Load() does not accept).
std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context);

}  // namespace kpid::notify
