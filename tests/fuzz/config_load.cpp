// Config load and validation on any text, with every collector and receiver kind of the
// daemon. The environment is fixed: KPID_TEST_SECRETS points at the test secrets (the
// seed configs read them) and a few names have values; nothing else is set.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/load_config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const kpid::config::EnvLookup env =
      [](const std::string& name) -> std::optional<std::string> {
    if (name == "KPID_TEST_SECRETS") return KPID_SOURCE_DIR "/tests/data/config/secrets";
    if (name == "CRM_TOKEN") return "crm-token";
    if (name == "HOME") return "/root";
    return std::nullopt;
  };
  const kpid::config::LoadResult result =
      kpid::config::LoadFromString(text, "fuzz.toml", kpid::BuiltinExtensions(), env);
  KPID_FUZZ_CHECK(result.config.has_value() == result.errors.empty(),
                  "a config, or the errors why not");
  for (const kpid::config::Diagnostic& d : result.errors) {
    KPID_FUZZ_CHECK(!d.ToString().empty(), "diagnostics say something");
  }
  return 0;
}
