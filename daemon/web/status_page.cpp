#include "daemon/web/status_page.hpp"

#include <variant>

#include "daemon/web/assets.hpp"
#include "daemon/web/detail_page.hpp"
#include "daemon/web/overview_page.hpp"

namespace kpid::web {
namespace {

namespace beast_http = boost::beast::http;

constexpr std::string_view kHtml = "text/html; charset=utf-8";

// Everything the pages load comes from the daemon itself; no inline script or style.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

void SetCommonHeaders(http::Response& res) {
  res.set("Content-Security-Policy", kContentSecurityPolicy);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
}

http::Response Page(const http::Request& req, beast_http::status status, std::string html) {
  http::Response res = http::MakeResponse(req, status, kHtml, std::move(html));
  SetCommonHeaders(res);
  res.set(beast_http::field::cache_control, "no-store");
  return res;
}

http::Response Asset(const http::Request& req, std::string_view type, std::string_view body) {
  http::Response res = http::MakeResponse(req, beast_http::status::ok, type, std::string(body));
  SetCommonHeaders(res);
  // Assets change only with the binary; a short lifetime picks up an upgrade soon enough.
  res.set(beast_http::field::cache_control, "public, max-age=300");
  return res;
}

}  // namespace

void AddRoutes(http::Router& router, const PageSource& source) {
  router.Add(
      beast_http::verb::get, "/", [&source](const http::Request& req, const http::PathParams&) {
        const std::optional<http::PathParams> params = http::QueryParams(req);
        if (!params) {
          return Page(req, beast_http::status::bad_request,
                      RenderBadRequest(source, "The query string is malformed."));
        }
        auto query = ParseOverviewQuery(*params);
        if (const auto* error = std::get_if<std::string>(&query)) {
          return Page(req, beast_http::status::bad_request, RenderBadRequest(source, *error));
        }
        return Page(req, beast_http::status::ok,
                    RenderOverview(source, std::get<OverviewQuery>(query)));
      });
  router.Add(beast_http::verb::get, "/kpi/{name}",
             [&source](const http::Request& req, const http::PathParams& params) {
               const std::string& name = params.find("name")->second;
               const KpiView* view = source.Find(name);
               if (view == nullptr || view->config == nullptr) {
                 return Page(req, beast_http::status::not_found, RenderNotFound(source, name));
               }
               return Page(req, beast_http::status::ok, RenderDetail(source, *view));
             });
  router.Add(beast_http::verb::get, "/static/kpid.css",
             [](const http::Request& req, const http::PathParams&) {
               return Asset(req, "text/css; charset=utf-8", Stylesheet());
             });
  router.Add(beast_http::verb::get, "/static/kpid.js",
             [](const http::Request& req, const http::PathParams&) {
               return Asset(req, "text/javascript; charset=utf-8", Script());
             });
}

}  // namespace kpid::web
