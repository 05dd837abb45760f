// Keys of a `type = "alertmanager"` receiver: alerts are posted to URL/api/v2/alerts.
#pragma once

#include <optional>
#include <string>

#include "daemon/config/config.hpp"

namespace kpid::notify::alertmanager {

struct Settings : config::KindSettings {
  config::Secret url;  // base URL, e.g. http://127.0.0.1:9093
  std::optional<config::Secret> bearer_token;
  std::string ca_file;
  bool insecure_skip_verify = false;
};

config::ReceiverKind Kind();

}  // namespace kpid::notify::alertmanager
