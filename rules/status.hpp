// Goal statuses and alert severities, with their canonical names as they appear in the
// config (notify_on), metrics (kpi_status{status=...}), the API and notifications.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace kpid::rules {

// Ordered by severity for display: the first is the most urgent.
enum class Status { kMissed, kOffTrack, kNoData, kAtRisk, kOnTrack, kAchieved };

inline constexpr std::array<Status, 6> kAllStatuses = {Status::kMissed,  Status::kOffTrack,
                                                       Status::kNoData,  Status::kAtRisk,
                                                       Status::kOnTrack, Status::kAchieved};

// Most urgent first, as the status page, digests and summaries list KPIs: a goal that
// can no longer be met, then off track, at risk, without fresh data, on track, achieved.
inline constexpr std::array<Status, 6> kStatusesByUrgency = {Status::kMissed,  Status::kOffTrack,
                                                             Status::kAtRisk,  Status::kNoData,
                                                             Status::kOnTrack, Status::kAchieved};
// The position of `status` in kStatusesByUrgency.
[[nodiscard]] constexpr int UrgencyRank(Status status) {
  for (std::size_t i = 0; i < kStatusesByUrgency.size(); ++i) {
    if (kStatusesByUrgency[i] == status) return static_cast<int>(i);
  }
  return static_cast<int>(kStatusesByUrgency.size());
}

std::string_view StatusName(Status status);
std::optional<Status> ParseStatus(std::string_view name);

enum class Severity { kInfo, kWarning, kCritical };

std::string_view SeverityName(Severity severity);
std::optional<Severity> ParseSeverity(std::string_view name);

// DESIGN.md "Alerts": warning for at_risk and no_data, critical for off_track and missed.
// Statuses that never fire (on_track, achieved) map to info.
Severity SeverityOf(Status status);

}  // namespace kpid::rules
