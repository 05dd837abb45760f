// Template::Parse on any text; a template renders back to its text when no name has a
// value, and renders with values without failing.
#include "rules/template.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = kpid::rules::Template::Parse(text);
  const auto* tmpl = std::get_if<kpid::rules::Template>(&parsed);
  if (tmpl == nullptr) {
    KPID_FUZZ_CHECK(std::get<kpid::rules::ParseError>(parsed).offset <= size,
                    "error offset inside the text");
    return 0;
  }
  const std::string unchanged =
      tmpl->Render([](std::string_view) -> std::optional<std::string> { return std::nullopt; });
  KPID_FUZZ_CHECK(unchanged == text, "placeholders without values stay as written");
  (void)tmpl->Render([](std::string_view name) -> std::optional<std::string> {
    if (name == "value") return "42";
    if (name.starts_with("labels.")) return "{{value}}";
    return std::nullopt;
  });
  return 0;
}
