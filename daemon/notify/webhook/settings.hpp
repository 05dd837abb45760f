// Keys of a `type = "webhook"` receiver (Alertmanager webhook payload, version 4).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/config/config.hpp"

namespace kpid::notify::webhook {

struct Settings : config::KindSettings {
  config::Secret url;
  std::vector<std::pair<std::string, config::Secret>> headers;
  std::optional<config::Secret> bearer_token;  // bearer_token / bearer_token_file
  std::string ca_file;
  bool insecure_skip_verify = false;
};

config::ReceiverKind Kind();

}  // namespace kpid::notify::webhook
