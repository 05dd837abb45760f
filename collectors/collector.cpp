#include "collectors/collector.hpp"

namespace kpid::collectors {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kConnect:
      return "connect";
    case ErrorKind::kAuth:
      return "auth";
    case ErrorKind::kQuery:
      return "query";
    case ErrorKind::kParse:
      return "parse";
    case ErrorKind::kEmpty:
      return "empty";
    case ErrorKind::kTooLarge:
      return "too_large";
    case ErrorKind::kInternal:
      return "internal";
  }
  return "internal";
}

}  // namespace kpid::collectors
