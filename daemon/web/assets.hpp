// The stylesheet and the script of the status pages, compiled in so that the daemon
// serves everything itself (no external assets; CSP 'self').
#pragma once

#include <string_view>

namespace kpid::web {

// Served as /static/kpid.css. Status colours pass WCAG AA (4.5:1) against white text.
[[nodiscard]] std::string_view Stylesheet();

// Served as /static/kpid.js: refreshes <main> in place every <body data-refresh> seconds,
// so the scroll position stays (<body data-refreshed> counts the swaps), and sends a
// fragment naming a KPI that is not on this page of the overview to that KPI's own page.
// The pages work without it.
[[nodiscard]] std::string_view Script();

}  // namespace kpid::web
