// Keys of a `type = "file"` receiver: one JSON line per notification.
#pragma once

#include <string>

#include "daemon/config/config.hpp"

namespace kpid::notify::file {

struct Settings : config::KindSettings {
  std::string path;
};

config::ReceiverKind Kind();

}  // namespace kpid::notify::file
