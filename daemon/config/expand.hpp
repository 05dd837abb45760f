// ${NAME} and ${file:/path} expansion in config strings.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace kpid::config {

struct Expanded {
  std::string value;
  bool expanded = false;  // true when any ${...} was substituted: treat the value as secret
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment.
EnvLookup ProcessEnvironment();

// Expands ${NAME} from `env` and ${file:/path} from the file's contents (one trailing
// newline removed, as written by `echo` or systemd credentials). "$${" is a literal "${".
// Returns an error message on an unset variable, an unreadable file or a malformed
// reference; the message names the variable or path, never a value.
std::variant<Expanded, std::string> Expand(std::string_view text, const EnvLookup& env);

// Reads a secret file: contents with one trailing newline removed. Error text on failure.
std::variant<std::string, std::string> ReadSecretFile(const std::string& path);

}  // namespace kpid::config
