// The error every rules/ parser returns: what is wrong, and where in the input.
#pragma once

#include <cstddef>
#include <string>
#include <variant>

namespace kpid::rules {

struct ParseError {
  // 0-based byte offset into the parsed text; the config loader turns it into line:column.
  std::size_t offset = 0;
  // Short and lower-case: what is wrong and what was expected.
  std::string message;

  friend bool operator==(const ParseError&, const ParseError&) = default;
};

// Holds the parsed value or the first error found.
template <typename T>
using ParseResult = std::variant<T, ParseError>;

}  // namespace kpid::rules
