#include "daemon/http/router.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

namespace kpid::http {
namespace {

namespace beast_http = boost::beast::http;

boost::beast::string_view ToBeast(std::string_view s) { return {s.data(), s.size()}; }

std::string_view ToStd(boost::beast::string_view s) { return {s.data(), s.size()}; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decoded NUL is refused: no name in the API contains one, and downstream C APIs would
// truncate at it.
std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (s.size() - i < 3) return std::nullopt;
    const int hi = HexValue(s[i + 1]);
    const int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// "/a/b" -> {"a", "b"}; "/" -> {""}. `path` starts with '/'.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 1;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      parts.push_back(path.substr(start));
      return parts;
    }
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

// Lexicographic over segments: a literal sorts before a capture at the same position.
bool MoreSpecific(const auto& a, const auto& b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i].capture != b[i].capture) return !a[i].capture;
  }
  return false;
}

bool SameShape(const auto& a, const auto& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].capture != b[i].capture) return false;
    if (!a[i].capture && a[i].text != b[i].text) return false;
  }
  return true;
}

void StripBodyForHead(Response& res) {
  if (res.body().empty()) return;
  res.content_length(res.body().size());
  res.body().clear();
}

}  // namespace

std::optional<PathParams> QueryParams(const Request& req) {
  std::string_view target = ToStd(req.target());
  PathParams params;
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return params;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    std::optional<std::string> name = PercentDecode(pair.substr(0, eq));
    std::optional<std::string> value =
        PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    params.insert_or_assign(std::move(*name), std::move(*value));
  }
  return params;
}

Response MakeResponse(const Request& req, beast_http::status status, std::string_view content_type,
                      std::string body) {
  Response res{status, req.version()};
  res.set(beast_http::field::content_type, ToBeast(content_type));
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response JsonResponse(const Request& req, beast_http::status status, std::string body) {
  return MakeResponse(req, status, "application/json", std::move(body));
}

Response JsonError(const Request& req, beast_http::status status, std::string_view message) {
  const nlohmann::json body = {{"error", std::string(message)}};
  return JsonResponse(req, status,
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Router::Add(beast_http::verb method, std::string pattern, Handler handler) {
  if (method == beast_http::verb::unknown) {
    throw std::invalid_argument("route " + pattern + ": unknown method");
  }
  if (!handler) throw std::invalid_argument("route " + pattern + ": empty handler");
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route " + pattern + ": pattern must start with '/'");
  }
  std::vector<Segment> segments;
  std::set<std::string, std::less<>> names;
  for (std::string_view part : SplitPath(pattern)) {
    const bool opens = part.find('{') != std::string_view::npos;
    const bool closes = part.find('}') != std::string_view::npos;
    if (!opens && !closes) {
      segments.push_back({std::string(part), false});
      continue;
    }
    const std::string_view name =
        part.size() >= 2 ? part.substr(1, part.size() - 2) : std::string_view();
    if (part.front() != '{' || part.back() != '}' || name.empty() ||
        name.find_first_of("{}") != std::string_view::npos) {
      throw std::invalid_argument("route " + pattern +
                                  ": a parameter must be a whole segment like {name}");
    }
    if (!names.emplace(name).second) {
      throw std::invalid_argument("route " + pattern + ": parameter {" + std::string(name) +
                                  "} appears twice");
    }
    segments.push_back({std::string(name), true});
  }
  for (const Route& route : routes_) {
    if (route.method == method && SameShape(route.segments, segments)) {
      throw std::invalid_argument("route " + std::string(ToStd(beast_http::to_string(method))) +
                                  " " + pattern + " conflicts with " + route.pattern);
    }
  }
  const auto pos = std::find_if(routes_.begin(), routes_.end(), [&](const Route& route) {
    return MoreSpecific(segments, route.segments);
  });
  routes_.insert(pos, Route{method, std::move(pattern), std::move(segments), std::move(handler)});
}

bool Router::Matches(const Route& route, const std::vector<std::string>& segments) {
  if (route.segments.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const Segment& want = route.segments[i];
    if (want.capture ? segments[i].empty() : want.text != segments[i]) return false;
  }
  return true;
}

Response Router::Dispatch(const Request& req) const {
  const std::string_view target = ToStd(req.target());
  const std::string_view path = target.substr(0, target.find_first_of("?#"));
  const beast_http::verb method = req.method();
  const bool head = method == beast_http::verb::head;
  auto finish = [head](Response res) {
    if (head) StripBodyForHead(res);
    return res;
  };

  if (path.empty() || path.front() != '/') {
    return finish(JsonError(req, beast_http::status::not_found, "not found"));
  }
  std::vector<std::string> segments;
  for (std::string_view part : SplitPath(path)) {
    std::optional<std::string> decoded = PercentDecode(part);
    if (!decoded) {
      return finish(JsonError(req, beast_http::status::bad_request,
                              "malformed percent-encoding in path " + std::string(path)));
    }
    segments.push_back(std::move(*decoded));
  }

  const Route* found = nullptr;
  const Route* get_for_head = nullptr;
  std::set<std::string_view> allowed;
  for (const Route& route : routes_) {
    if (!Matches(route, segments)) continue;
    allowed.insert(ToStd(beast_http::to_string(route.method)));
    if (route.method == beast_http::verb::get) allowed.insert("HEAD");
    if (route.method == method) {
      found = &route;
      break;
    }
    if (head && route.method == beast_http::verb::get && get_for_head == nullptr) {
      get_for_head = &route;
    }
  }
  if (found == nullptr) found = get_for_head;

  if (found == nullptr && allowed.empty()) {
    return finish(JsonError(req, beast_http::status::not_found, "not found: " + std::string(path)));
  }
  if (found == nullptr) {
    Response res = JsonError(req, beast_http::status::method_not_allowed,
                             "method " + std::string(ToStd(req.method_string())) +
                                 " not allowed for " + std::string(path));
    std::string allow;
    for (std::string_view name : allowed) {
      if (!allow.empty()) allow += ", ";
      allow += name;
    }
    res.set(beast_http::field::allow, allow);
    return finish(std::move(res));
  }

  PathParams params;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (found->segments[i].capture) params.emplace(found->segments[i].text, segments[i]);
  }
  return finish(found->handler(req, params));
}

}  // namespace kpid::http
