// Base64 (RFC 4648, with padding), for what HTTP and SMTP clients encode: Basic
// credentials, SMTP AUTH, MIME encoded-words, and the encoded forms of secrets that error
// messages must not show.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kpid::collectors::http {

inline std::string Base64(std::string_view data) {
  static constexpr std::string_view kDigits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : data) {
    bits = (bits << 8) | static_cast<unsigned char>(c);
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kDigits[(bits >> count) & 0x3f];
    }
  }
  if (count > 0) out += kDigits[(bits << (6 - count)) & 0x3f];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

}  // namespace kpid::collectors::http
