#include "collectors/sql/connection.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <typeinfo>

namespace kpid::collectors::sql {

std::string ErrorText(const std::exception& error) {
  if (const auto* soci_error = dynamic_cast<const soci::soci_error*>(&error)) {
    return soci_error->get_error_message();
  }
  return error.what();
}

bool IsConversionError(const std::exception& error) {
  // SOCI throws its base class for conversions and a backend class for database errors.
  if (typeid(error) != typeid(soci::soci_error)) return false;
  std::string text = ErrorText(error);
  constexpr std::array<std::string_view, 3> kNeedles = {
      "date/time field component", "Cannot convert data", "in unrecognizable format"};
  return std::any_of(kNeedles.begin(), kNeedles.end(), [&](std::string_view needle) {
    return text.find(needle) != std::string::npos;
  });
}

}  // namespace kpid::collectors::sql
