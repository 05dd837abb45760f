// Plain types shared by the connection and value code of the sql collector.
#pragma once

#include <ctime>
#include <string>
#include <variant>

#include "collectors/collector.hpp"

namespace kpid::collectors::sql {

// A failure as the driver reported it. `detail` is the driver's text and may contain
// secrets: the collector scrubs it before it leaves the plugin.
struct Failure {
  ErrorKind kind = ErrorKind::kInternal;
  std::string detail;
};

// A column of a result row, typed the way the driver delivered it.
struct NullCell {};
struct OtherCell {  // blob, xml: never a number
  std::string type;
};
using Cell =
    std::variant<NullCell, long long, unsigned long long, double, std::string, std::tm, OtherCell>;

}  // namespace kpid::collectors::sql
