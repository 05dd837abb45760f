// Typed, validating access to one TOML table. Every getter records a diagnostic at the
// value's line:column on a wrong type or bad value and returns nullopt; Finish() reports
// every key no getter asked for. Collector and receiver plugins parse their own keys
// through this class.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/config/config.hpp"
#include "daemon/config/diagnostics.hpp"
#include "daemon/config/duration.hpp"
#include "daemon/config/expand.hpp"
#include "daemon/config/secret.hpp"
#include "rules/time_spec.hpp"

namespace toml {
inline namespace v3 {
class table;
class node;
}  // namespace v3
}  // namespace toml

namespace kpid::config {

enum class Need { kOptional, kRequired };

// An EnvLookup that also records every key a TableReader asks for, as (table, key) with
// the table as named in messages ("[[source]]"), so a test can check that the docs cover
// every key the parser accepts. Pass it as the `env` of Load(); lookups go to `env`.
struct KeyRecordingEnv {
  EnvLookup env;
  std::set<std::pair<std::string, std::string>>* asked = nullptr;  // borrowed

  std::optional<std::string> operator()(const std::string& name) const { return env(name); }
};

class TableReader {
 public:
  // `what` names the table in messages, e.g. "[[source]]". The table, diagnostics and
  // environment are borrowed and must outlive the reader.
  TableReader(const toml::table& table, std::string what, Diagnostics& diags, const EnvLookup& env);

  // Strings without ${...} expansion: names, kinds, expressions, templates.
  std::optional<std::string> Raw(std::string_view key, Need need = Need::kOptional);
  // Strings with ${ENV} / ${file:/path} expansion.
  std::optional<std::string> String(std::string_view key, Need need = Need::kOptional);
  // Expanded string held as a secret.
  std::optional<Secret> SecretString(std::string_view key, Need need = Need::kOptional);
  // The key holds a path (expanded); the secret is the file's content, read now.
  std::optional<Secret> SecretFile(std::string_view key, Need need = Need::kOptional);
  // A secret given inline (`key`, expanded) or as a file (`file_key`); both is an error.
  std::optional<Secret> SecretOrFile(std::string_view key, std::string_view file_key,
                                     Need need = Need::kOptional);
  // An http:// or https:// URL (expanded), held as a secret: URLs carry tokens.
  std::optional<Secret> Url(std::string_view key, Need need = Need::kOptional,
                            std::initializer_list<std::string_view> schemes = {"http://",
                                                                               "https://"});
  // Integer or float.
  std::optional<double> Number(std::string_view key, Need need = Need::kOptional);
  std::optional<std::int64_t> Integer(std::string_view key, Need need = Need::kOptional,
                                      std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                                      std::int64_t max = std::numeric_limits<std::int64_t>::max());
  std::optional<bool> Bool(std::string_view key);
  // A duration string ("90s"); values below `min` are errors.
  std::optional<Duration> Dur(std::string_view key, Need need = Need::kOptional,
                              Duration min = Duration::zero());
  // A date (2026-12-31), local date-time or offset date-time.
  std::optional<rules::TimeSpec> Time(std::string_view key, Need need = Need::kOptional);
  // An array of strings (not expanded).
  std::optional<std::vector<std::string>> StringList(std::string_view key,
                                                     Need need = Need::kOptional);
  // An array of numbers (integers or floats); each element that is not one is an error at
  // its own position.
  std::optional<std::vector<double>> NumberList(std::string_view key, Need need = Need::kOptional);
  // An inline table of strings; `expand` applies ${...} to the values. Entries with
  // errors are reported and left out.
  std::optional<StringPairs> StringTable(std::string_view key, bool expand);
  // A sub-table, or nullptr when absent (error when present with another type).
  const toml::table* Table(std::string_view key);
  // An array of tables ([[x.y]]); empty when absent.
  std::vector<const toml::table*> Tables(std::string_view key);

  bool Has(std::string_view key) const;
  // Where the key's value is; the table's own position when the key is absent.
  Location Where(std::string_view key) const;
  Location Here() const;
  void Error(std::string_view key, std::string message);
  void ErrorHere(std::string message);
  // Marks every key as read: used when the table is already known to be wrong and
  // unknown-key errors would only add noise.
  void ConsumeAll();
  // Reports every key that no getter asked for. Call once, after all getters.
  void Finish();

  Diagnostics& diagnostics() { return diags_; }
  const EnvLookup& env() const { return env_; }
  const std::string& what() const { return what_; }

 private:
  const toml::node* Get(std::string_view key, Need need);
  // Tells a KeyRecordingEnv, if `env_` is one, that `key` is accepted in this table.
  void Record(std::string_view key) const;
  void WrongType(std::string_view key, std::string_view expected);

  const toml::table& table_;
  std::string what_;
  Diagnostics& diags_;
  const EnvLookup& env_;
  std::set<std::string, std::less<>> used_;
};

}  // namespace kpid::config
