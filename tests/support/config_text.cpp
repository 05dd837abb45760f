#include "tests/support/config_text.hpp"

#include <optional>

#include <gtest/gtest.h>

#include "daemon/load_config.hpp"

namespace kpid::testing {

std::shared_ptr<const config::Config> MustLoadConfig(const std::string& text,
                                                     const std::string& file) {
  config::LoadResult result =
      config::LoadFromString(text, file, BuiltinExtensions(),
                             [](const std::string&) -> std::optional<std::string> { return {}; });
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  return std::make_shared<const config::Config>(result.config ? std::move(*result.config)
                                                              : config::Config{});
}

}  // namespace kpid::testing
