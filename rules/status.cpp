#include "rules/status.hpp"

namespace kpid::rules {

std::string_view StatusName(Status status) {
  switch (status) {
    case Status::kMissed:
      return "missed";
    case Status::kOffTrack:
      return "off_track";
    case Status::kNoData:
      return "no_data";
    case Status::kAtRisk:
      return "at_risk";
    case Status::kOnTrack:
      return "on_track";
    case Status::kAchieved:
      return "achieved";
  }
  return "unknown";
}

std::optional<Status> ParseStatus(std::string_view name) {
  for (Status s : kAllStatuses) {
    if (StatusName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "unknown";
}

std::optional<Severity> ParseSeverity(std::string_view name) {
  for (Severity s : {Severity::kInfo, Severity::kWarning, Severity::kCritical}) {
    if (SeverityName(s) == name) return s;
  }
  return std::nullopt;
}

Severity SeverityOf(Status status) {
  switch (status) {
    case Status::kMissed:
    case Status::kOffTrack:
      return Severity::kCritical;
    case Status::kNoData:
    case Status::kAtRisk:
      return Severity::kWarning;
    case Status::kOnTrack:
    case Status::kAchieved:
      return Severity::kInfo;
  }
  return Severity::kInfo;
}

}  // namespace kpid::rules
