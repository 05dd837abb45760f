// Silences (DESIGN.md "[[silence]]", "GET|POST /api/v1/silences"): label matchers and a
// time range during which matching alerts notify nobody. Those of the config come and go
// with it; those created through the API are kept in the state store, expire on their
// own and are deleted from it five days after they ended (like Alertmanager's retention),
// so an expired one can still be looked up for a while. Runs on the io thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/config/config.hpp"
#include "daemon/notify/notification.hpp"
#include "daemon/persistence.hpp"

namespace kpid::notify {

struct Silence {
  std::string id;
  std::vector<config::Matcher> matchers;
  TimePoint starts;
  TimePoint ends;
  std::string comment;
  std::string created_by;
  std::optional<TimePoint> created_at;  // API silences
  bool from_config = false;

  [[nodiscard]] bool ActiveAt(TimePoint now) const { return starts <= now && now < ends; }
  // Every matcher holds; a label the alert lacks reads as "".
  [[nodiscard]] bool Matches(const Labels& labels) const;
};

// "active", "pending" (starts later) or "expired".
[[nodiscard]] std::string_view SilenceState(const Silence& s, TimePoint now);

// The API's JSON of a silence: id, match, match_re, starts, ends, comment, created_by,
// created_at, source ("config" | "api"), state. ParseSilence reads the same keys (all but
// id, created_at, source and state) from a POST body: at least one matcher, ends after
// starts and in the future, starts defaulting to now. Errors name the field.
[[nodiscard]] nlohmann::ordered_json SilenceJson(const Silence& s, TimePoint now);
[[nodiscard]] std::variant<Silence, std::string> ParseSilence(const nlohmann::json& body,
                                                              TimePoint now);

class Silences {
 public:
  // Limits what a client can make the daemon hold and match on every evaluation.
  static constexpr std::size_t kMaxApiSilences = 10'000;
  static constexpr std::chrono::hours kRetention{5 * 24};

  explicit Silences(Persistence& persistence);

  // Takes the silences of a (new) config.
  void Apply(const config::Config& config);
  // Loads the API silences from the store, once it is open.
  void Restore();

  // Stores `silence` with a new id and returns the id, or an error text (store failing,
  // too many silences).
  std::variant<std::string, std::string> Add(Silence silence, TimePoint now);

  enum class ExpireResult { kExpired, kNotFound, kFromConfig, kStoreFailed };
  // Ends an API silence now (it stays listed as expired until pruned).
  ExpireResult Expire(std::string_view id, TimePoint now, std::string* error);

  // Config silences first, then API silences by creation.
  [[nodiscard]] std::vector<const Silence*> All() const;
  [[nodiscard]] const Silence* Find(std::string_view id) const;
  // The ids of the silences active at `now` that match `labels`.
  [[nodiscard]] std::vector<std::string> Matching(const Labels& labels, TimePoint now) const;
  [[nodiscard]] bool Silenced(const Labels& labels, TimePoint now) const;

  // Forgets API silences that ended more than kRetention ago, in memory and in the store.
  void Prune(TimePoint now);

 private:
  std::optional<std::string> Save(const Silence& silence);

  Persistence& persistence_;
  std::vector<Silence> config_;
  std::vector<Silence> api_;  // by creation
  bool restored_ = false;
};

}  // namespace kpid::notify
