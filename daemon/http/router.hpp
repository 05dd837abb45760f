// Routing for the HTTP API: method + path pattern -> handler, and the JSON response helpers
// every handler and error path shares. No I/O here; the Server feeds parsed requests in.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

namespace kpid::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
// Captured path segments by name; `std::less<>` allows lookup with a string_view.
using PathParams = std::map<std::string, std::string, std::less<>>;

// A response to `req` (same HTTP version and keep-alive) with the given Content-Type and
// body; Content-Length is set.
Response MakeResponse(const Request& req, boost::beast::http::status status,
                      std::string_view content_type, std::string body);

// MakeResponse with Content-Type application/json; `body` must already be JSON.
Response JsonResponse(const Request& req, boost::beast::http::status status, std::string body);

// {"error": message} with Content-Type application/json. Invalid UTF-8 in `message` (it may
// echo client input) is replaced rather than thrown on.
Response JsonError(const Request& req, boost::beast::http::status status, std::string_view message);

// The query string of the request target as name -> value (percent-decoded; a later
// duplicate wins; "+" stays "+", so RFC 3339 offsets need no escaping). nullopt when the
// encoding is malformed.
std::optional<PathParams> QueryParams(const Request& req);

// Maps method + path to a handler. Set up with Add() before the server starts; afterwards
// it is immutable and Dispatch() may be called from the io thread without locks. Handlers
// run on the io thread and must not block.
class Router {
 public:
  // Exceptions thrown by a handler propagate out of Dispatch(); the Server turns them
  // into 500 responses.
  using Handler = std::function<Response(const Request&, const PathParams&)>;

  // Registers `handler` for `method` on `pattern`, e.g. "/api/v1/kpis/{name}": segments
  // separated by '/', where a whole segment "{name}" captures one non-empty path segment
  // (percent-decoded). At the same position a literal segment wins over a capture. HEAD is
  // served by the GET handler unless HEAD is registered itself. Throws
  // std::invalid_argument on a malformed pattern or a duplicate route (start-up only).
  void Add(boost::beast::http::verb method, std::string pattern, Handler handler);

  // Routes on the path of the request target (query string ignored). Unknown path: 404;
  // known path but no route for the method: 405 with an Allow header; malformed
  // percent-encoding: 400. All errors are JSON. HEAD responses carry the Content-Length
  // of the GET body but no body.
  [[nodiscard]] Response Dispatch(const Request& req) const;

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name when `capture`
    bool capture = false;
  };
  struct Route {
    boost::beast::http::verb method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };

  static bool Matches(const Route& route, const std::vector<std::string>& segments);

  std::vector<Route> routes_;  // most specific first, so the first match wins
};

}  // namespace kpid::http
