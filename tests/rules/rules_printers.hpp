// GoogleTest printers for rules/ enums, so failures show names instead of numbers.
#pragma once

#include <ostream>

#include "rules/alert.hpp"
#include "rules/status.hpp"

namespace kpid::rules {

inline void PrintTo(Status status, std::ostream* os) { *os << StatusName(status); }
inline void PrintTo(Severity severity, std::ostream* os) { *os << SeverityName(severity); }
inline void PrintTo(AlertPhase phase, std::ostream* os) { *os << AlertPhaseName(phase); }
inline void PrintTo(AlertEvent event, std::ostream* os) { *os << AlertEventName(event); }

}  // namespace kpid::rules
