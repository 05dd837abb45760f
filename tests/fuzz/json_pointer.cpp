// The http collector's body handling: the first line is an RFC 6901 pointer, the rest a
// response body read as JSON at that pointer and as a plain number.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "collectors/http/json_value.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace http = kpid::collectors::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view pointer = input.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  for (const http::ValueResult& result :
       {http::JsonNumber(body, pointer), http::TextNumber(body), http::TextNumber(input)}) {
    if (const double* value = std::get_if<double>(&result)) {
      KPID_FUZZ_CHECK(std::isfinite(*value), "a value is finite");
    } else {
      KPID_FUZZ_CHECK(!std::get<http::ValueError>(result).message.empty(), "error message");
    }
  }
  auto document = http::ParseJson(body);
  if (const auto* json = std::get_if<nlohmann::json>(&document)) {
    (void)http::NumberAt(*json, pointer);
    (void)http::NumberAt(*json, "");
  }
  double number = 0;
  if (http::ParseNumber(pointer, number)) KPID_FUZZ_CHECK(std::isfinite(number), "finite");
  KPID_FUZZ_CHECK(http::Excerpt(input, 16).size() <= 19, "excerpt bounded");
  return 0;
}
