#include "collectors/http/json_value.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace kpid::collectors::http {
namespace {

using nlohmann::json;

constexpr std::string_view kWhitespace = " \t\r\n\f\v";
constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string_view Trim(std::string_view text) {
  if (text.starts_with(kBom)) text.remove_prefix(kBom.size());
  const auto first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kWhitespace);
  return text.substr(first, last - first + 1);
}

std::string Quoted(std::string_view text, const ExcerptFn& excerpt) {
  return "\"" + (excerpt ? excerpt(text) : Excerpt(text)) + "\"";
}

// "/a/b~1c" -> "a", "b/c". The syntax was checked when the config was loaded; a bad escape
// here is still reported, not thrown.
bool NextToken(std::string_view& rest, std::string& token) {
  rest.remove_prefix(1);  // the '/'
  const auto end = rest.find('/');
  const std::string_view raw = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  token.clear();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '~') {
      token += raw[i];
      continue;
    }
    if (i + 1 >= raw.size()) return false;
    const char escaped = raw[++i];
    if (escaped == '0') {
      token += '~';
    } else if (escaped == '1') {
      token += '/';
    } else {
      return false;
    }
  }
  return true;
}

// RFC 6901 array index: "0" or digits without a leading zero.
bool ArrayIndex(std::string_view token, std::size_t& index) {
  if (token.empty() || (token.size() > 1 && token.front() == '0')) return false;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  return ec == std::errc() && end == token.data() + token.size();
}

std::string_view TypeName(const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

std::string At(std::string_view pointer) {
  return pointer.empty() ? std::string("the document root") : "\"" + std::string(pointer) + "\"";
}

}  // namespace

bool ParseNumber(std::string_view text, double& value) {
  // from_chars refuses a leading '+' but takes "inf" and "nan": both handled here.
  if (text.starts_with('+')) {
    text.remove_prefix(1);
    if (text.starts_with('+') || text.starts_with('-')) return false;
  }
  if (text.empty()) return false;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(value);
}

std::string Excerpt(std::string_view text, std::size_t max) {
  std::string out;
  const std::size_t n = std::min(text.size(), max);
  out.reserve(n + 3);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.';
  }
  if (text.size() > max) out += "...";
  return out;
}

JsonResult ParseJson(std::string_view body, const ExcerptFn& excerpt) {
  if (Trim(body).empty()) return ValueError{ErrorKind::kEmpty, "empty response body"};
  json document = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return ValueError{ErrorKind::kParse,
                      "response body is not JSON: " + Quoted(Trim(body), excerpt)};
  }
  return document;
}

ValueResult NumberAt(const json& document, std::string_view pointer, const ExcerptFn& excerpt) {
  const json* node = &document;
  std::string_view rest = pointer;
  std::string token;
  std::string walked;  // the part of the pointer resolved so far
  while (!rest.empty()) {
    const std::string_view step = rest.substr(0, rest.find('/', 1));
    if (!NextToken(rest, token)) {
      return ValueError{ErrorKind::kParse, "json_pointer " + At(pointer) + " is not RFC 6901"};
    }
    if (node->is_object()) {
      const auto it = node->find(token);
      if (it == node->end()) {
        return ValueError{ErrorKind::kEmpty, "json_pointer " + At(pointer) + ": no member \"" +
                                                 Excerpt(token) + "\" in " + At(walked)};
      }
      node = &*it;
    } else if (node->is_array()) {
      std::size_t index = 0;
      if (!ArrayIndex(token, index)) {
        return ValueError{ErrorKind::kParse, "json_pointer " + At(pointer) + ": \"" +
                                                 Excerpt(token) + "\" is not an array index at " +
                                                 At(walked)};
      }
      if (index >= node->size()) {
        return ValueError{ErrorKind::kEmpty, "json_pointer " + At(pointer) + ": index " +
                                                 std::to_string(index) + " is past the end of " +
                                                 At(walked) + " (" + std::to_string(node->size()) +
                                                 " elements)"};
      }
      node = &(*node)[index];
    } else {
      return ValueError{ErrorKind::kParse, "json_pointer " + At(pointer) + ": " + At(walked) +
                                               " is " + std::string(TypeName(*node)) +
                                               ", not an object or array"};
    }
    walked += step;
  }

  if (node->is_number()) {
    const double value = node->get<double>();
    if (!std::isfinite(value)) {
      return ValueError{ErrorKind::kParse, "value at " + At(pointer) + " is not a finite number"};
    }
    return value;
  }
  if (node->is_string()) {
    const auto& text = node->get_ref<const std::string&>();
    double value = 0;
    if (ParseNumber(Trim(text), value)) return value;
    if (Trim(text).empty()) {
      return ValueError{ErrorKind::kEmpty, "value at " + At(pointer) + " is an empty string"};
    }
    return ValueError{
        ErrorKind::kParse,
        "value at " + At(pointer) + " is a string, not a number: " + Quoted(text, excerpt)};
  }
  if (node->is_null()) return ValueError{ErrorKind::kEmpty, "value at " + At(pointer) + " is null"};
  return ValueError{ErrorKind::kParse, "value at " + At(pointer) + " is " +
                                           std::string(TypeName(*node)) + ", not a number"};
}

ValueResult JsonNumber(std::string_view body, std::string_view pointer, const ExcerptFn& excerpt) {
  JsonResult document = ParseJson(body, excerpt);
  if (auto* error = std::get_if<ValueError>(&document)) return std::move(*error);
  return NumberAt(std::get<json>(document), pointer, excerpt);
}

ValueResult TextNumber(std::string_view body, const ExcerptFn& excerpt) {
  const std::string_view text = Trim(body);
  if (text.empty()) return ValueError{ErrorKind::kEmpty, "empty response body"};
  double value = 0;
  if (ParseNumber(text, value)) return value;
  return ValueError{ErrorKind::kParse, "response body is not a number: " + Quoted(text, excerpt)};
}

}  // namespace kpid::collectors::http
