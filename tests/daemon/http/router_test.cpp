#include "daemon/http/router.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kpid::http {
namespace {

namespace bhttp = boost::beast::http;

Request MakeRequest(bhttp::verb method, const std::string& target) {
  Request req{method, target, 11};
  req.set(bhttp::field::host, "localhost");
  return req;
}

Router::Handler Echo(std::string tag) {
  return [tag](const Request& req, const PathParams& params) {
    nlohmann::json body = {{"tag", tag}, {"target", std::string(req.target())}};
    for (const auto& [name, value] : params) body["params"][name] = value;
    return JsonResponse(req, bhttp::status::ok, body.dump());
  };
}

nlohmann::json BodyOf(const Response& res) { return nlohmann::json::parse(res.body()); }

std::string HeaderOf(const Response& res, bhttp::field field) { return std::string(res[field]); }

TEST(HttpRouterTest, MatchesLiteralAndCapturingRoutes) {
  Router router;
  router.Add(bhttp::verb::get, "/api/v1/kpis", Echo("list"));
  router.Add(bhttp::verb::get, "/api/v1/kpis/{name}", Echo("one"));
  router.Add(bhttp::verb::delete_, "/api/v1/silences/{id}", Echo("unsilence"));

  Response list = router.Dispatch(MakeRequest(bhttp::verb::get, "/api/v1/kpis"));
  EXPECT_EQ(list.result(), bhttp::status::ok);
  EXPECT_EQ(BodyOf(list)["tag"], "list");
  EXPECT_EQ(HeaderOf(list, bhttp::field::content_type), "application/json");

  Response one = router.Dispatch(
      MakeRequest(bhttp::verb::get, "/api/v1/kpis/revenue?since=2024-01-01T00:00:00Z"));
  EXPECT_EQ(BodyOf(one)["tag"], "one");
  EXPECT_EQ(BodyOf(one)["params"]["name"], "revenue");

  Response del = router.Dispatch(MakeRequest(bhttp::verb::delete_, "/api/v1/silences/42"));
  EXPECT_EQ(BodyOf(del)["params"]["id"], "42");
}

TEST(HttpRouterTest, PercentDecodesCapturedSegments) {
  Router router;
  router.Add(bhttp::verb::get, "/api/v1/kpis/{name}", Echo("one"));
  Response res =
      router.Dispatch(MakeRequest(bhttp::verb::get, "/api/v1/kpis/revenue%20EU%2fnet%C3%A9"));
  ASSERT_EQ(res.result(), bhttp::status::ok);
  EXPECT_EQ(BodyOf(res)["params"]["name"], "revenue EU/net\u00e9");
}

TEST(HttpRouterTest, MalformedPercentEncodingIs400) {
  Router router;
  router.Add(bhttp::verb::get, "/api/v1/kpis/{name}", Echo("one"));
  for (const char* target : {"/api/v1/kpis/a%zz", "/api/v1/kpis/a%4", "/api/v1/kpis/%00"}) {
    Response res = router.Dispatch(MakeRequest(bhttp::verb::get, target));
    EXPECT_EQ(res.result(), bhttp::status::bad_request) << target;
    EXPECT_TRUE(BodyOf(res).contains("error")) << target;
  }
}

TEST(HttpRouterTest, UnknownPathIs404Json) {
  Router router;
  router.Add(bhttp::verb::get, "/api/v1/kpis/{name}", Echo("one"));
  for (const char* target : {"/nope", "/api/v1/kpis", "/api/v1/kpis/", "/api/v1/kpis/a/b", "*"}) {
    Response res = router.Dispatch(MakeRequest(bhttp::verb::get, target));
    EXPECT_EQ(res.result(), bhttp::status::not_found) << target;
    EXPECT_EQ(HeaderOf(res, bhttp::field::content_type), "application/json");
    EXPECT_TRUE(BodyOf(res)["error"].is_string()) << target;
  }
}

TEST(HttpRouterTest, WrongMethodIs405WithAllow) {
  Router router;
  router.Add(bhttp::verb::get, "/api/v1/silences", Echo("list"));
  router.Add(bhttp::verb::post, "/api/v1/silences", Echo("create"));
  Response res = router.Dispatch(MakeRequest(bhttp::verb::put, "/api/v1/silences"));
  EXPECT_EQ(res.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(HeaderOf(res, bhttp::field::allow), "GET, HEAD, POST");
  EXPECT_EQ(HeaderOf(res, bhttp::field::content_type), "application/json");
  EXPECT_TRUE(BodyOf(res)["error"].is_string());

  Request custom = MakeRequest(bhttp::verb::get, "/api/v1/silences");
  custom.method_string("BREW");
  EXPECT_EQ(router.Dispatch(custom).result(), bhttp::status::method_not_allowed);
}

TEST(HttpRouterTest, HeadIsServedByGetWithoutBody) {
  Router router;
  router.Add(bhttp::verb::get, "/metrics", [](const Request& req, const PathParams&) {
    return MakeResponse(req, bhttp::status::ok, "text/plain; version=0.0.4", "kpi_up 1\n");
  });
  Response res = router.Dispatch(MakeRequest(bhttp::verb::head, "/metrics"));
  EXPECT_EQ(res.result(), bhttp::status::ok);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(HeaderOf(res, bhttp::field::content_length), "9");
  EXPECT_EQ(HeaderOf(res, bhttp::field::content_type), "text/plain; version=0.0.4");

  Response missing = router.Dispatch(MakeRequest(bhttp::verb::head, "/nope"));
  EXPECT_EQ(missing.result(), bhttp::status::not_found);
  EXPECT_TRUE(missing.body().empty());
}

TEST(HttpRouterTest, LiteralSegmentWinsOverCapture) {
  Router router;
  router.Add(bhttp::verb::get, "/api/v1/silences/{id}", Echo("one"));
  router.Add(bhttp::verb::get, "/api/v1/silences/expired", Echo("expired"));
  router.Add(bhttp::verb::delete_, "/api/v1/silences/{id}", Echo("unsilence"));
  EXPECT_EQ(
      BodyOf(router.Dispatch(MakeRequest(bhttp::verb::get, "/api/v1/silences/expired")))["tag"],
      "expired");
  EXPECT_EQ(BodyOf(router.Dispatch(MakeRequest(bhttp::verb::get, "/api/v1/silences/7")))["tag"],
            "one");
  // The literal route has no DELETE, so the capture route takes it.
  EXPECT_EQ(
      BodyOf(router.Dispatch(MakeRequest(bhttp::verb::delete_, "/api/v1/silences/expired")))["tag"],
      "unsilence");
}

TEST(HttpRouterTest, RootRoute) {
  Router router;
  router.Add(bhttp::verb::get, "/", Echo("root"));
  EXPECT_EQ(router.Dispatch(MakeRequest(bhttp::verb::get, "/?refresh=5")).result(),
            bhttp::status::ok);
  EXPECT_EQ(router.Dispatch(MakeRequest(bhttp::verb::get, "//")).result(),
            bhttp::status::not_found);
}

TEST(HttpRouterTest, HandlerExceptionsPropagate) {
  Router router;
  router.Add(bhttp::verb::get, "/boom", [](const Request&, const PathParams&) -> Response {
    throw std::runtime_error("boom");
  });
  EXPECT_THROW((void)router.Dispatch(MakeRequest(bhttp::verb::get, "/boom")), std::runtime_error);
}

TEST(HttpRouterTest, RejectsBadPatterns) {
  Router router;
  router.Add(bhttp::verb::get, "/a/{x}", Echo("a"));
  EXPECT_THROW(router.Add(bhttp::verb::get, "a", Echo("")), std::invalid_argument);
  EXPECT_THROW(router.Add(bhttp::verb::get, "", Echo("")), std::invalid_argument);
  EXPECT_THROW(router.Add(bhttp::verb::get, "/b/{}", Echo("")), std::invalid_argument);
  EXPECT_THROW(router.Add(bhttp::verb::get, "/b/x{y}", Echo("")), std::invalid_argument);
  EXPECT_THROW(router.Add(bhttp::verb::get, "/b/{y", Echo("")), std::invalid_argument);
  EXPECT_THROW(router.Add(bhttp::verb::get, "/b/{y}/{y}", Echo("")), std::invalid_argument);
  EXPECT_THROW(router.Add(bhttp::verb::get, "/a/{other}", Echo("")), std::invalid_argument);
  EXPECT_THROW(router.Add(bhttp::verb::get, "/c", Router::Handler()), std::invalid_argument);
  EXPECT_NO_THROW(router.Add(bhttp::verb::post, "/a/{x}", Echo("")));
}

TEST(HttpRouterTest, JsonErrorEscapesAndReplacesInvalidUtf8) {
  const Request req = MakeRequest(bhttp::verb::get, "/");
  Response res = JsonError(req, bhttp::status::bad_request, "bad \"name\" \xff");
  EXPECT_EQ(res.result(), bhttp::status::bad_request);
  EXPECT_EQ(HeaderOf(res, bhttp::field::content_type), "application/json");
  EXPECT_EQ(HeaderOf(res, bhttp::field::content_length), std::to_string(res.body().size()));
  EXPECT_EQ(BodyOf(res)["error"], "bad \"name\" \xef\xbf\xbd");
}

}  // namespace
}  // namespace kpid::http
