// The `[server] listen` address syntax, kept apart from the server so that the config
// validator can check it without sockets. Pure: no DNS, no system state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kpid::http {

// Parses "127.0.0.1:9464", "[::1]:9464", "localhost:9464" or ":9464" (empty host = all
// interfaces). IPv6 addresses must be bracketed; port 0 means "any free port". On success
// sets *host (without brackets) and *port and returns nullopt; otherwise returns what is
// wrong, e.g. `invalid port "99999" (expected 0-65535)`, and leaves both untouched.
[[nodiscard]] std::optional<std::string> ParseListenAddress(std::string_view text,
                                                            std::string* host, std::uint16_t* port);

}  // namespace kpid::http
