// GET / : every KPI as a card (status, value against goal, progress, sparkline, alerts),
// most urgent first, filtered by label and status, a page of kPageSize KPIs at a time.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "daemon/http/router.hpp"
#include "daemon/web/status_page.hpp"

namespace kpid::web {

inline constexpr std::size_t kPageSize = 100;

// ?page=N (from 1), ?status=<key> (a StatusInfo key), and every other parameter a label
// that must match exactly (several: all of them).
struct OverviewQuery {
  std::size_t page = 1;
  std::optional<std::string> status;
  std::vector<std::pair<std::string, std::string>> labels;
};

// The query, or a message saying what is wrong with it.
[[nodiscard]] std::variant<OverviewQuery, std::string> ParseOverviewQuery(
    const http::PathParams& params);

// The whole HTML document. A page number past the last shows the last page.
[[nodiscard]] std::string RenderOverview(const PageSource& source, const OverviewQuery& query);

}  // namespace kpid::web
