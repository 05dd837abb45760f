#include "daemon/notify/silences.hpp"

#include <algorithm>
#include <cstdio>
#include <random>
#include <regex>

#include "daemon/api.hpp"
#include "daemon/log.hpp"

namespace kpid::notify {
namespace {

using Json = nlohmann::ordered_json;

// A regex matcher runs on every alert's label on every evaluation; std::regex
// backtracks, so keep client patterns short.
constexpr std::size_t kMaxPatternLength = 1024;
constexpr std::size_t kMaxTextLength = 4096;

// A random UUID (version 4), as Alertmanager names silences.
std::string NewId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const std::uint64_t hi = (random() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  const std::uint64_t lo = (random() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buffer[37];
  std::snprintf(buffer, sizeof buffer, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xffff),
                static_cast<unsigned long long>(hi & 0xffff),
                static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buffer;
}

// "config-" and 16 hex digits of what the silence says, so that its id stays the same
// across reloads as long as the silence does.
std::string ConfigId(const config::Silence& s, TimePoint starts, TimePoint ends) {
  std::string text;
  for (const config::Matcher& m : s.matchers) {
    text += m.label + (m.regex ? "=~" : "=") + m.value + '\n';
  }
  text += api::FormatTime(starts) + '\n' + api::FormatTime(ends) + '\n' + s.comment;
  return "config-" + Fingerprint(text);
}

std::optional<std::string> ReadMatchers(const nlohmann::json& body, std::string_view key,
                                        bool regex, std::vector<config::Matcher>& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) {
    return std::string(key) + ": expected an object of label = value";
  }
  for (const auto& [label, value] : it->items()) {
    const std::string where = std::string(key) + "." + label;
    if (!config::IsValidLabelName(label)) return where + ": invalid label name";
    if (!value.is_string()) return where + ": expected a string";
    const auto& text = value.get_ref<const std::string&>();
    if (!regex) {
      out.push_back({label, text, std::nullopt});
      continue;
    }
    if (text.size() > kMaxPatternLength) {
      return where + ": the pattern is longer than " + std::to_string(kMaxPatternLength) +
             " characters";
    }
    try {
      out.push_back({label, text, std::regex("^(?:" + text + ")$", std::regex::ECMAScript)});
    } catch (const std::regex_error& e) {
      return where + ": invalid regular expression: " + e.what();
    }
  }
  return std::nullopt;
}

std::optional<std::string> ReadText(const nlohmann::json& body, std::string_view key,
                                    std::string& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return std::string(key) + ": expected a string";
  out = it->get<std::string>();
  if (out.size() > kMaxTextLength) {
    return std::string(key) + ": longer than " + std::to_string(kMaxTextLength) + " characters";
  }
  return std::nullopt;
}

std::optional<std::string> ReadTime(const nlohmann::json& body, std::string_view key,
                                    std::optional<TimePoint>& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    if (auto t = api::ParseTime(it->get_ref<const std::string&>())) {
      out = *t;
      return std::nullopt;
    }
  }
  return std::string(key) + ": expected an RFC 3339 time like 2026-12-24T00:00:00Z";
}

// The fields a client sends and the store keeps; `stored` also reads id and created_at.
std::variant<Silence, std::string> ReadSilence(const nlohmann::json& body, bool stored) {
  if (!body.is_object()) return std::string("expected a JSON object");
  static constexpr std::string_view kKeys[] = {"match",   "match_re",   "starts", "ends",
                                               "comment", "created_by", "id",     "created_at",
                                               "source",  "state"};
  for (const auto& [key, value] : body.items()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      return "unknown key \"" + key + "\"";
    }
  }
  Silence s;
  std::optional<TimePoint> starts;
  std::optional<TimePoint> ends;
  std::optional<TimePoint> created;
  for (auto error :
       {ReadMatchers(body, "match", false, s.matchers),
        ReadMatchers(body, "match_re", true, s.matchers), ReadTime(body, "starts", starts),
        ReadTime(body, "ends", ends), ReadText(body, "comment", s.comment),
        ReadText(body, "created_by", s.created_by)}) {
    if (error) return *std::move(error);
  }
  if (stored) {
    if (auto error = ReadText(body, "id", s.id)) return *std::move(error);
    if (auto error = ReadTime(body, "created_at", created)) return *std::move(error);
    s.created_at = created;
  }
  if (s.matchers.empty()) {
    return std::string(
        "match, match_re: at least one matcher is needed; a silence of every "
        "alert is not allowed");
  }
  if (!ends) return std::string("ends: required");
  s.starts = starts.value_or(TimePoint{});
  s.ends = *ends;
  return s;
}

}  // namespace

bool Silence::Matches(const Labels& labels) const { return config::MatchesAll(matchers, labels); }

std::string_view SilenceState(const Silence& s, TimePoint now) {
  if (now < s.starts) return "pending";
  if (now < s.ends) return "active";
  return "expired";
}

Json SilenceJson(const Silence& s, TimePoint now) {
  Json match = Json::object();
  Json match_re = Json::object();
  for (const config::Matcher& m : s.matchers) (m.regex ? match_re : match)[m.label] = m.value;
  Json j;
  j["id"] = s.id;
  j["match"] = std::move(match);
  j["match_re"] = std::move(match_re);
  j["starts"] = api::FormatTime(s.starts);
  j["ends"] = api::FormatTime(s.ends);
  j["comment"] = s.comment;
  j["created_by"] = s.created_by;
  j["created_at"] = s.created_at ? Json(api::FormatTime(*s.created_at)) : Json(nullptr);
  j["source"] = s.from_config ? "config" : "api";
  j["state"] = SilenceState(s, now);
  return j;
}

std::variant<Silence, std::string> ParseSilence(const nlohmann::json& body, TimePoint now) {
  for (std::string_view key : {"id", "created_at", "source", "state"}) {
    if (body.is_object() && body.contains(key)) {
      return std::string(key) + ": set by kpid, not by the request";
    }
  }
  auto read = ReadSilence(body, false);
  if (auto* error = std::get_if<std::string>(&read)) return std::move(*error);
  Silence s = std::get<Silence>(std::move(read));
  if (s.starts == TimePoint{}) s.starts = now;
  if (s.ends <= s.starts) return std::string("ends: must be after starts");
  if (s.ends <= now) return std::string("ends: must be in the future");
  return s;
}

Silences::Silences(Persistence& persistence) : persistence_(persistence) {}

void Silences::Apply(const config::Config& config) {
  config_.clear();
  for (const config::Silence& c : config.silences) {
    Silence s;
    s.matchers = c.matchers;
    s.starts = rules::Resolve(c.starts, config.evaluation.zone, rules::DayBound::kStart);
    s.ends = rules::Resolve(c.ends, config.evaluation.zone, rules::DayBound::kEnd);
    s.id = ConfigId(c, s.starts, s.ends);
    // Two identical silences in one file: the second gets a suffix.
    for (int n = 2; Find(s.id) != nullptr; ++n)
      s.id = ConfigId(c, s.starts, s.ends) + "-" + std::to_string(n);
    s.comment = c.comment;
    s.created_by = c.created_by;
    s.from_config = true;
    config_.push_back(std::move(s));
  }
}

void Silences::Restore() {
  if (restored_) return;
  store::Store* store = persistence_.store();
  if (store == nullptr) return;
  auto rows = store->LoadSilences();
  if (auto* error = std::get_if<store::Error>(&rows)) {
    persistence_.Failed("load_silences", *error);
    return;
  }
  restored_ = true;
  for (const store::SilenceRow& row : std::get<std::vector<store::SilenceRow>>(rows)) {
    auto body = nlohmann::json::parse(row.body, nullptr, false);
    auto read = ReadSilence(body, true);
    if (auto* error = std::get_if<std::string>(&read)) {
      log::Error("stored silence unreadable; ignored", {{"silence", row.id}, {"error", *error}});
      continue;
    }
    Silence s = std::get<Silence>(std::move(read));
    s.id = row.id;
    api_.push_back(std::move(s));
  }
  std::stable_sort(api_.begin(), api_.end(), [](const Silence& a, const Silence& b) {
    return a.created_at.value_or(TimePoint{}) < b.created_at.value_or(TimePoint{});
  });
}

std::optional<std::string> Silences::Save(const Silence& silence) {
  store::Store* store = persistence_.store();
  if (store == nullptr) {
    return "state store failing, the silence would not survive a restart: " +
           persistence_.error().value_or("not open");
  }
  Json body = SilenceJson(silence, silence.starts);
  body.erase("source");
  body.erase("state");
  if (auto error = store->SaveSilence({silence.id, body.dump(), silence.ends})) {
    persistence_.Failed("save_silence", *error);
    return error->message;
  }
  return std::nullopt;
}

std::variant<std::string, std::string> Silences::Add(Silence silence, TimePoint now) {
  if (api_.size() >= kMaxApiSilences) {
    Prune(now);
    if (api_.size() >= kMaxApiSilences) {
      return std::variant<std::string, std::string>(
          std::in_place_index<1>,
          "too many silences (" + std::to_string(kMaxApiSilences) + "); expire some first");
    }
  }
  silence.id = NewId();
  silence.created_at = now;
  silence.from_config = false;
  if (auto error = Save(silence)) {
    return std::variant<std::string, std::string>(std::in_place_index<1>, *std::move(error));
  }
  std::string id = silence.id;
  api_.push_back(std::move(silence));
  return std::variant<std::string, std::string>(std::in_place_index<0>, std::move(id));
}

Silences::ExpireResult Silences::Expire(std::string_view id, TimePoint now, std::string* error) {
  for (const Silence& s : config_) {
    if (s.id == id) return ExpireResult::kFromConfig;
  }
  auto it = std::find_if(api_.begin(), api_.end(), [&](const Silence& s) { return s.id == id; });
  if (it == api_.end()) return ExpireResult::kNotFound;
  if (it->ends <= now) return ExpireResult::kExpired;  // already over: nothing to change
  Silence ended = *it;
  ended.ends = now;
  if (ended.starts > now) ended.starts = now;
  if (auto failed = Save(ended)) {
    if (error != nullptr) *error = *std::move(failed);
    return ExpireResult::kStoreFailed;
  }
  *it = std::move(ended);
  return ExpireResult::kExpired;
}

std::vector<const Silence*> Silences::All() const {
  std::vector<const Silence*> out;
  out.reserve(config_.size() + api_.size());
  for (const Silence& s : config_) out.push_back(&s);
  for (const Silence& s : api_) out.push_back(&s);
  return out;
}

const Silence* Silences::Find(std::string_view id) const {
  for (const Silence* s : All()) {
    if (s->id == id) return s;
  }
  return nullptr;
}

std::vector<std::string> Silences::Matching(const Labels& labels, TimePoint now) const {
  std::vector<std::string> ids;
  for (const auto* list : {&config_, &api_}) {
    for (const Silence& s : *list) {
      if (s.ActiveAt(now) && s.Matches(labels)) ids.push_back(s.id);
    }
  }
  return ids;
}

bool Silences::Silenced(const Labels& labels, TimePoint now) const {
  for (const auto* list : {&config_, &api_}) {
    for (const Silence& s : *list) {
      if (s.ActiveAt(now) && s.Matches(labels)) return true;
    }
  }
  return false;
}

void Silences::Prune(TimePoint now) {
  const TimePoint before = now - kRetention;
  std::erase_if(api_, [&](const Silence& s) { return s.ends < before; });
  if (store::Store* store = persistence_.store()) {
    auto pruned = store->PruneSilences(before);
    if (auto* error = std::get_if<store::Error>(&pruned)) {
      persistence_.Failed("prune_silences", *error);
    }
  }
}

}  // namespace kpid::notify
