// Turning an HTTP response body into one number: a JSON value picked by an RFC 6901
// pointer (a number, or a string holding one), or a plain-number text body. Pure functions:
// no I/O, no exceptions.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "collectors/collector.hpp"

namespace kpid::collectors::http {

// `message` says what is wrong with the body, without naming the source; kinds are kParse
// (not JSON, not a number, wrong JSON type) and kEmpty (empty body, null, pointer that
// resolves to nothing).
struct ValueError {
  ErrorKind kind = ErrorKind::kParse;
  std::string message;
};
using ValueResult = std::variant<double, ValueError>;
using JsonResult = std::variant<nlohmann::json, ValueError>;
// Quotes body text in messages; the collector passes one that also hides its secrets.
// Empty: Excerpt().
using ExcerptFn = std::function<std::string(std::string_view)>;

// Parses the whole body (one parse per response, however many KPIs read it).
JsonResult ParseJson(std::string_view body, const ExcerptFn& excerpt = {});

// Resolves `pointer` in `document`. A JSON number or a string holding a finite number is a
// value; null and a path that does not exist are kEmpty; anything else is kParse.
ValueResult NumberAt(const nlohmann::json& document, std::string_view pointer,
                     const ExcerptFn& excerpt = {});

// ParseJson() then NumberAt().
ValueResult JsonNumber(std::string_view body, std::string_view pointer,
                       const ExcerptFn& excerpt = {});

// A body that is one number, surrounded by optional whitespace ("42\n", " -1.5e3 ").
ValueResult TextNumber(std::string_view body, const ExcerptFn& excerpt = {});

// A finite number written in full ("12", "-0.5", "+3e2"), no other characters.
bool ParseNumber(std::string_view text, double& value);

// The first `max` bytes of `text` for a message: control and non-ASCII bytes become '.',
// "..." marks a cut.
std::string Excerpt(std::string_view text, std::size_t max = 80);

}  // namespace kpid::collectors::http
