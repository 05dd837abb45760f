// Character helpers shared by the rules/ parsers. Internal: not part of the rules API.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kpid::rules::internal {

// ASCII only: config text is UTF-8 and every keyword we accept is ASCII.
constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool IsBlank(char c) { return c == ' ' || c == '\t'; }
constexpr char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

constexpr bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

// The character at `pos` for an error message, in double quotes: a whole UTF-8 sequence,
// or "end of text" past the end.
inline std::string DescribeCharAt(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return "end of text";
  const auto lead = static_cast<unsigned char>(text[pos]);
  std::size_t length = 1;
  if (lead >= 0xF0) {
    length = 4;
  } else if (lead >= 0xE0) {
    length = 3;
  } else if (lead >= 0xC0) {
    length = 2;
  }
  if (lead < 0x20 || lead == 0x7F) {
    static constexpr char kHex[] = "0123456789abcdef";
    return std::string("byte 0x") + kHex[lead >> 4] + kHex[lead & 0xF];
  }
  return "\"" + std::string(text.substr(pos, length)) + "\"";
}

}  // namespace kpid::rules::internal
