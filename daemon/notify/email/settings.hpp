// Keys of a `type = "email"` receiver.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "daemon/config/config.hpp"

namespace kpid::notify::email {

enum class StartTls { kAuto, kAlways, kNever };

struct Settings : config::KindSettings {
  config::Secret smtp_url;  // smtp://host:port or smtps://host:port
  StartTls starttls = StartTls::kAuto;
  std::string from;
  std::vector<std::string> to;
  std::string username;
  std::optional<config::Secret> password;  // password / password_file
  std::string ca_file;
  bool insecure_skip_verify = false;
};

config::ReceiverKind Kind();

}  // namespace kpid::notify::email
