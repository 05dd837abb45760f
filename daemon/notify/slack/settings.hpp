// Keys of a `type = "slack"` receiver.
#pragma once

#include "daemon/config/config.hpp"

namespace kpid::notify::slack {

struct Settings : config::KindSettings {
  config::Secret webhook_url;  // webhook_url / webhook_url_file: the URL is the credential
};

config::ReceiverKind Kind();

}  // namespace kpid::notify::slack
