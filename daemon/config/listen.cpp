#include "daemon/config/listen.hpp"

#include <charconv>

namespace kpid::config {

std::optional<std::string> ParseListenAddress(std::string_view text, std::string* host,
                                              std::uint16_t* port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return "expected HOST:PORT, like \"127.0.0.1:9464\" or \"[::1]:9464\"";
  }
  std::string_view h = text.substr(0, colon);
  std::string_view p = text.substr(colon + 1);
  if (h.starts_with('[')) {
    if (!h.ends_with(']') || h.size() < 3) return "malformed IPv6 address; expected [ADDR]:PORT";
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string_view::npos) {
    return "an IPv6 address must be in brackets, like \"[::1]:9464\"";
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value > 65535) {
    return "invalid port \"" + std::string(p) + "\"; expected 0-65535";
  }
  *host = h.empty() ? "0.0.0.0" : std::string(h);
  *port = static_cast<std::uint16_t>(value);
  return std::nullopt;
}

}  // namespace kpid::config
