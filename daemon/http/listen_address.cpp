#include "daemon/http/listen_address.hpp"

#include <algorithm>
#include <array>

#include <arpa/inet.h>

namespace kpid::http {
namespace {

constexpr std::string_view kExpected = " (expected HOST:PORT, e.g. 127.0.0.1:9464)";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

template <int kFamily>
bool IsAddress(std::string_view text) {
  std::array<unsigned char, 16> buf{};
  const std::string copy(text);  // inet_pton needs a terminator
  return inet_pton(kFamily, copy.c_str(), buf.data()) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
bool IsHostName(std::string_view text) {
  if (text.size() > 253) return false;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = text.find('.', start);
    const std::string_view label = text.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    if (!std::all_of(label.begin(), label.end(), [](char c) { return IsAlnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

std::optional<std::string> ParseListenAddress(std::string_view text, std::string* host,
                                              std::uint16_t* port) {
  if (text.empty()) return "empty listen address" + std::string(kExpected);
  std::string_view host_part;
  std::string_view port_part;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return "missing ']' after IPv6 address in " + Quoted(text);
    }
    host_part = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return "missing port after " + Quoted(text.substr(0, close + 1)) + std::string(kExpected);
    }
    port_part = rest.substr(1);
    if (!IsAddress<AF_INET6>(host_part)) return "invalid IPv6 address " + Quoted(host_part);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return "missing port in " + Quoted(text) + std::string(kExpected);
    }
    host_part = text.substr(0, colon);
    port_part = text.substr(colon + 1);
    if (host_part.find(':') != std::string_view::npos) {
      if (IsAddress<AF_INET6>(host_part)) {
        return "IPv6 address must be in brackets, e.g. [::1]:9464";
      }
      return "invalid host " + Quoted(host_part);
    }
    // All-numeric hosts must be IPv4 so that "300.1.1.1" is not taken for a name.
    const bool numeric = std::all_of(host_part.begin(), host_part.end(),
                                     [](char c) { return IsDigit(c) || c == '.'; });
    if (!host_part.empty() && (numeric ? !IsAddress<AF_INET>(host_part) : !IsHostName(host_part))) {
      return "invalid host " + Quoted(host_part);
    }
  }

  if (port_part.empty()) return "missing port in " + Quoted(text) + std::string(kExpected);
  std::uint32_t value = 0;
  for (char c : port_part) {
    if (!IsDigit(c) || value > 65535) {
      value = 65536;
      break;
    }
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value > 65535) return "invalid port " + Quoted(port_part) + " (expected 0-65535)";

  *host = std::string(host_part);
  *port = static_cast<std::uint16_t>(value);
  return std::nullopt;
}

}  // namespace kpid::http
