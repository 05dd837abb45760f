// A string that must never reach a log, an error message, the API or metrics.
#pragma once

#include <span>
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

// `text` with every occurrence of each of `secrets` replaced by Secret::kRedacted, in the
// order given (list longer secrets first when one can contain another).
inline std::string RedactSecrets(std::string text, std::span<const std::string> secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (auto at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + Secret::kRedacted.size())) {
      text.replace(at, secret.size(), Secret::kRedacted);
    }
  }
  return text;
}

}  // namespace kpid::config
