// Keys of a `type = "http"` source and of the KPIs that use it (see sample.toml).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/config/config.hpp"

namespace kpid::collectors::http {

struct SourceSettings : config::KindSettings {
  config::Secret url;  // URLs may carry tokens
  std::vector<std::pair<std::string, config::Secret>> headers;
  std::string username;                        // basic auth, with password
  std::optional<config::Secret> password;      // password / password_file
  std::optional<config::Secret> bearer_token;  // bearer_token / bearer_token_file
  std::string ca_file;
  bool insecure_skip_verify = false;
  int max_redirects = 5;
  std::uint64_t max_response_bytes = 10u << 20;
};

enum class Format { kJson, kText };

struct KpiSettings : config::KindSettings {
  Format format = Format::kJson;
  std::string json_pointer;  // RFC 6901; required for json
};

config::SourceKind Kind();

// RFC 6901 syntax check: "" or "/a/b~1c"; returns an error message or nullopt.
std::optional<std::string> CheckJsonPointer(std::string_view pointer);

}  // namespace kpid::collectors::http
