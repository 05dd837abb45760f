// HTML escaping, shared by the status pages and the HTML part of notification emails.
#pragma once

#include <string>
#include <string_view>

namespace kpid::web {

// Escapes & < > " ' for element content and quoted attribute values. NUL and other C0
// control characters except tab, newline and carriage return are dropped.
[[nodiscard]] std::string Escape(std::string_view text);
void AppendEscaped(std::string& out, std::string_view text);

}  // namespace kpid::web
