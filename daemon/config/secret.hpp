// A string that must never reach a log, an error message, the API or metrics.
#pragma once

#include <string>
#include <string_view>

namespace kpid::config {

// Holds credentials (passwords, tokens, webhook URLs, connection strings). It has no
// stream operator and no implicit conversion: code that needs the value calls Reveal()
// at the point of use, which makes every use easy to audit.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  friend bool operator==(const Secret&, const Secret&) = default;

  static constexpr std::string_view kRedacted = "<secret>";

 private:
  std::string value_;
};

}  // namespace kpid::config
