#include "daemon/config/expand.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

namespace kpid::config {
namespace {

bool ValidEnvName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value =
        std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): load runs before threads
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::variant<std::string, std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::variant<std::string, std::string>(
        std::in_place_index<1>,
        "cannot read file \"" + path + "\": " + std::generic_category().message(errno));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string content = buf.str();
  if (!content.empty() && content.back() == '\n') content.pop_back();
  if (!content.empty() && content.back() == '\r') content.pop_back();
  return std::variant<std::string, std::string>(std::in_place_index<0>, std::move(content));
}

std::variant<Expanded, std::string> Expand(std::string_view text, const EnvLookup& env) {
  Expanded out;
  out.value.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out.value += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out.value += text[i++];
      continue;
    }
    std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return "unterminated \"${\" at offset " + std::to_string(i) +
             " (write \"$${\" for a literal)";
    }
    std::string_view ref = text.substr(i + 2, close - i - 2);
    if (ref.starts_with("file:")) {
      std::string path(ref.substr(5));
      if (path.empty() || path.front() != '/') {
        return "${file:...} needs an absolute path, got \"" + path + "\"";
      }
      auto content = ReadSecretFile(path);
      if (content.index() == 1) return std::get<1>(content);
      out.value += std::get<0>(content);
    } else {
      if (!ValidEnvName(ref)) {
        return "invalid environment variable name \"" + std::string(ref) + "\" in ${...}";
      }
      std::optional<std::string> value = env(std::string(ref));
      if (!value) return "environment variable " + std::string(ref) + " is not set";
      out.value += *value;
    }
    out.expanded = true;
    i = close + 1;
  }
  return out;
}

}  // namespace kpid::config
