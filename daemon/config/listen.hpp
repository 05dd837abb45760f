// [server] listen addresses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kpid::config {

// Parses "127.0.0.1:9464", "[::1]:9464", "localhost:9464" or ":9464" (all interfaces)
// into host and port. Returns an error message, or nullopt on success. No DNS lookup.
std::optional<std::string> ParseListenAddress(std::string_view text, std::string* host,
                                              std::uint16_t* port);

}  // namespace kpid::config
