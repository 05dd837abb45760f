#include "daemon/config/reader.hpp"

#include <cmath>

#include <toml++/toml.h>

namespace kpid::config {
namespace {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

}  // namespace

TableReader::TableReader(const toml::table& table, std::string what, Diagnostics& diags,
                         const EnvLookup& env)
    : table_(table), what_(std::move(what)), diags_(diags), env_(env) {}

void TableReader::Record(std::string_view key) const {
  if (const auto* recorder = env_.target<KeyRecordingEnv>();
      recorder != nullptr && recorder->asked != nullptr) {
    recorder->asked->emplace(what_, std::string(key));
  }
}

const toml::node* TableReader::Get(std::string_view key, Need need) {
  used_.emplace(key);
  Record(key);
  const toml::node* node = table_.get(key);
  if (node == nullptr && need == Need::kRequired) {
    ErrorHere(what_ + " is missing required key " + Quote(key));
  }
  return node;
}

void TableReader::WrongType(std::string_view key, std::string_view expected) {
  const toml::node* node = table_.get(key);
  Error(key, Quote(key) + " must be " + std::string(expected) + ", not " +
                 std::string(TypeName(node ? node->type() : toml::node_type::none)));
}

bool TableReader::Has(std::string_view key) const { return table_.get(key) != nullptr; }

Location TableReader::Where(std::string_view key) const {
  const toml::node* node = table_.get(key);
  return node != nullptr ? LocationOf(node->source()) : Here();
}

Location TableReader::Here() const { return LocationOf(table_.source()); }

void TableReader::Error(std::string_view key, std::string message) {
  diags_.Error(Where(key), std::move(message));
}

void TableReader::ErrorHere(std::string message) { diags_.Error(Here(), std::move(message)); }

void TableReader::ConsumeAll() {
  for (auto&& [key, value] : table_) used_.emplace(key.str());
}

void TableReader::Finish() {
  for (auto&& [key, value] : table_) {
    if (used_.contains(key.str())) continue;
    diags_.Error(LocationOf(key.source()), "unknown key " + Quote(key.str()) + " in " + what_);
  }
}

std::optional<std::string> TableReader::Raw(std::string_view key, Need need) {
  const toml::node* node = Get(key, need);
  if (node == nullptr) return std::nullopt;
  if (const auto* s = node->as_string()) return s->get();
  WrongType(key, "a string");
  return std::nullopt;
}

std::optional<std::string> TableReader::String(std::string_view key, Need need) {
  std::optional<std::string> raw = Raw(key, need);
  if (!raw) return std::nullopt;
  auto expanded = Expand(*raw, env_);
  if (auto* error = std::get_if<std::string>(&expanded)) {
    Error(key, Quote(key) + ": " + *error);
    return std::nullopt;
  }
  return std::move(std::get<Expanded>(expanded).value);
}

std::optional<Secret> TableReader::SecretString(std::string_view key, Need need) {
  std::optional<std::string> value = String(key, need);
  if (!value) return std::nullopt;
  return Secret(std::move(*value));
}

std::optional<Secret> TableReader::SecretFile(std::string_view key, Need need) {
  std::optional<std::string> path = String(key, need);
  if (!path) return std::nullopt;
  auto content = ReadSecretFile(*path);
  if (content.index() == 1) {
    Error(key, Quote(key) + ": " + std::get<1>(content));
    return std::nullopt;
  }
  return Secret(std::move(std::get<0>(content)));
}

std::optional<Secret> TableReader::SecretOrFile(std::string_view key, std::string_view file_key,
                                                Need need) {
  // Both spellings are accepted, whichever of them this table uses.
  Record(key);
  Record(file_key);
  if (Has(key) && Has(file_key)) {
    Error(file_key, "set " + Quote(key) + " or " + Quote(file_key) + ", not both");
    used_.emplace(key);
    used_.emplace(file_key);
    return std::nullopt;
  }
  if (Has(file_key)) return SecretFile(file_key, Need::kOptional);
  if (!Has(key) && need == Need::kRequired) {
    ErrorHere(what_ + " needs " + Quote(key) + " or " + Quote(file_key));
    used_.emplace(key);
    return std::nullopt;
  }
  used_.emplace(file_key);
  return SecretString(key, Need::kOptional);
}

std::optional<Secret> TableReader::Url(std::string_view key, Need need,
                                       std::initializer_list<std::string_view> schemes) {
  std::optional<std::string> url = String(key, need);
  if (!url) return std::nullopt;
  std::string expected;
  for (std::string_view scheme : schemes) {
    if (url->starts_with(scheme) && url->size() > scheme.size()) return Secret(std::move(*url));
    expected += expected.empty() ? "" : " or ";
    expected += scheme;
  }
  // The value may hold a token: name the key, never the URL.
  Error(key, Quote(key) + " must be a URL starting with " + expected);
  return std::nullopt;
}

std::optional<double> TableReader::Number(std::string_view key, Need need) {
  const toml::node* node = Get(key, need);
  if (node == nullptr) return std::nullopt;
  if (const auto* i = node->as_integer()) return static_cast<double>(i->get());
  if (const auto* f = node->as_floating_point()) {
    if (!std::isfinite(f->get())) {
      Error(key, Quote(key) + " must be a finite number");
      return std::nullopt;
    }
    return f->get();
  }
  WrongType(key, "a number");
  return std::nullopt;
}

std::optional<std::int64_t> TableReader::Integer(std::string_view key, Need need, std::int64_t min,
                                                 std::int64_t max) {
  const toml::node* node = Get(key, need);
  if (node == nullptr) return std::nullopt;
  const auto* i = node->as_integer();
  if (i == nullptr) {
    WrongType(key, "an integer");
    return std::nullopt;
  }
  if (i->get() < min || i->get() > max) {
    Error(key, Quote(key) + " must be between " + std::to_string(min) + " and " +
                   std::to_string(max) + ", got " + std::to_string(i->get()));
    return std::nullopt;
  }
  return i->get();
}

std::optional<bool> TableReader::Bool(std::string_view key) {
  const toml::node* node = Get(key, Need::kOptional);
  if (node == nullptr) return std::nullopt;
  if (const auto* b = node->as_boolean()) return b->get();
  WrongType(key, "true or false");
  return std::nullopt;
}

std::optional<Duration> TableReader::Dur(std::string_view key, Need need, Duration min) {
  const toml::node* node = Get(key, need);
  if (node == nullptr) return std::nullopt;
  const auto* s = node->as_string();
  if (s == nullptr) {
    WrongType(key, "a duration string like \"90s\", \"15m\", \"2h\" or \"7d\"");
    return std::nullopt;
  }
  std::optional<Duration> d = ParseDuration(s->get());
  if (!d) {
    Error(key,
          Quote(key) + ": invalid duration " + Quote(s->get()) +
              "; expected a number with a unit: ms, s, m, h, d, w, y (e.g. \"90s\", \"1h30m\")");
    return std::nullopt;
  }
  if (*d < min) {
    Error(key,
          Quote(key) + " must be at least " + FormatDuration(min) + ", got " + Quote(s->get()));
    return std::nullopt;
  }
  return d;
}

std::optional<rules::TimeSpec> TableReader::Time(std::string_view key, Need need) {
  const toml::node* node = Get(key, need);
  if (node == nullptr) return std::nullopt;
  rules::TimeSpec spec{};
  if (const auto* d = node->as_date()) {
    spec.kind = rules::TimeSpec::Kind::kDate;
    spec.year = d->get().year;
    spec.month = d->get().month;
    spec.day = d->get().day;
  } else if (const auto* dt = node->as_date_time()) {
    const toml::date_time& v = dt->get();
    spec.kind =
        v.offset ? rules::TimeSpec::Kind::kOffsetDateTime : rules::TimeSpec::Kind::kLocalDateTime;
    spec.year = v.date.year;
    spec.month = v.date.month;
    spec.day = v.date.day;
    spec.hour = v.time.hour;
    spec.minute = v.time.minute;
    spec.second = v.time.second;
    spec.nanosecond = static_cast<int>(v.time.nanosecond);
    spec.offset_minutes = v.offset ? v.offset->minutes : 0;
  } else {
    WrongType(key, "a date (2026-12-31) or date-time (2026-12-31T17:00:00Z), unquoted");
    return std::nullopt;
  }
  if (std::optional<std::string> problem = rules::Validate(spec)) {
    Error(key, Quote(key) + ": " + *problem);
    return std::nullopt;
  }
  return spec;
}

std::optional<std::vector<std::string>> TableReader::StringList(std::string_view key, Need need) {
  const toml::node* node = Get(key, need);
  if (node == nullptr) return std::nullopt;
  const auto* array = node->as_array();
  if (array == nullptr) {
    WrongType(key, "an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const toml::node& element : *array) {
    if (const auto* s = element.as_string()) {
      out.push_back(s->get());
    } else {
      diags_.Error(LocationOf(element.source()), Quote(key) + " must contain only strings, not " +
                                                     std::string(TypeName(element.type())));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<double>> TableReader::NumberList(std::string_view key, Need need) {
  const toml::node* node = Get(key, need);
  if (node == nullptr) return std::nullopt;
  const auto* array = node->as_array();
  if (array == nullptr) {
    WrongType(key, "an array of numbers");
    return std::nullopt;
  }
  std::vector<double> out;
  bool ok = true;
  for (const toml::node& element : *array) {
    if (const auto* i = element.as_integer()) {
      out.push_back(static_cast<double>(i->get()));
    } else if (const auto* f = element.as_floating_point()) {
      out.push_back(f->get());
    } else {
      diags_.Error(LocationOf(element.source()), Quote(key) + " must contain only numbers, not " +
                                                     std::string(TypeName(element.type())));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<StringPairs> TableReader::StringTable(std::string_view key, bool expand) {
  const toml::node* node = Get(key, Need::kOptional);
  if (node == nullptr) return std::nullopt;
  const auto* table = node->as_table();
  if (table == nullptr) {
    WrongType(key, "a table of strings, like { team = \"finance\" }");
    return std::nullopt;
  }
  StringPairs out;
  for (auto&& [k, v] : *table) {
    const auto* s = v.as_string();
    if (s == nullptr) {
      diags_.Error(LocationOf(v.source()), Quote(key) + "." + std::string(k.str()) +
                                               " must be a string, not " +
                                               std::string(TypeName(v.type())));
      continue;
    }
    if (!expand) {
      out.emplace_back(k.str(), s->get());
      continue;
    }
    auto expanded = Expand(s->get(), env_);
    if (auto* error = std::get_if<std::string>(&expanded)) {
      diags_.Error(LocationOf(v.source()), Quote(key) + "." + std::string(k.str()) + ": " + *error);
      continue;
    }
    out.emplace_back(k.str(), std::move(std::get<Expanded>(expanded).value));
  }
  return out;
}

const toml::table* TableReader::Table(std::string_view key) {
  const toml::node* node = Get(key, Need::kOptional);
  if (node == nullptr) return nullptr;
  if (const auto* t = node->as_table()) return t;
  WrongType(key, "a table");
  return nullptr;
}

std::vector<const toml::table*> TableReader::Tables(std::string_view key) {
  const toml::node* node = Get(key, Need::kOptional);
  std::vector<const toml::table*> out;
  if (node == nullptr) return out;
  const auto* array = node->as_array();
  if (array == nullptr) {
    WrongType(key, "an array of tables ([[" + std::string(key) + "]])");
    return out;
  }
  for (const toml::node& element : *array) {
    if (const auto* t = element.as_table()) {
      out.push_back(t);
    } else {
      diags_.Error(LocationOf(element.source()), Quote(key) + " must contain only tables, not " +
                                                     std::string(TypeName(element.type())));
    }
  }
  return out;
}

}  // namespace kpid::config
