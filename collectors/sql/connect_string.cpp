#include "collectors/sql/connect_string.hpp"

#include <algorithm>
#include <cctype>

#include "daemon/config/secret.hpp"

namespace kpid::collectors::sql {
namespace {

constexpr std::string_view kApplicationName = "kpid";

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool IsUri(std::string_view s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

// A key=value item of a space-separated connection string (libpq and SOCI's mysql
// syntax): `text` is the item as written, with its quoting.
struct Item {
  std::string key;
  std::string text;
};

// Splits "k1=v1 k2='v 2'" into items. Values may be single-quoted with backslash escapes.
// Unparseable input yields one item without key, passed through as written.
std::vector<Item> SplitSpaced(std::string_view s) {
  std::vector<Item> items;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i >= s.size()) break;
    std::size_t start = i;
    while (i < s.size() && s[i] != '=' && !IsSpace(s[i])) ++i;
    std::string key(s.substr(start, i - start));
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i >= s.size() || s[i] != '=') {
      items.push_back({"", std::string(s.substr(start))});
      return items;
    }
    ++i;
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') {
        if (s[i] == '\\') ++i;
        ++i;
      }
      if (i < s.size()) ++i;
    } else {
      while (i < s.size() && !IsSpace(s[i])) {
        if (s[i] == '\\') ++i;
        ++i;
      }
    }
    items.push_back({key, std::string(s.substr(start, std::min(i, s.size()) - start))});
  }
  return items;
}

// Splits "DSN=x;UID=y;PWD={a;b}" into items; {braced} values may hold ';'.
std::vector<Item> SplitOdbc(std::string_view s) {
  std::vector<Item> items;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && s[i] != '=' && s[i] != ';') ++i;
    std::string key(s.substr(start, i - start));
    key.erase(0, key.find_first_not_of(" \t"));
    key.erase(key.find_last_not_of(" \t") + 1);
    if (i < s.size() && s[i] == '=') {
      ++i;
      while (i < s.size() && s[i] == ' ') ++i;
      if (i < s.size() && s[i] == '{') {
        ++i;
        while (i < s.size()) {
          if (s[i] == '}') {
            if (i + 1 < s.size() && s[i + 1] == '}') {
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          ++i;
        }
      }
      while (i < s.size() && s[i] != ';') ++i;
    }
    std::string text(s.substr(start, i - start));
    if (text.find_first_not_of(" \t") != std::string::npos) items.push_back({key, text});
    if (i < s.size()) ++i;  // the ';'
  }
  return items;
}

bool HasKey(const std::vector<Item>& items, std::string_view key) {
  return std::any_of(items.begin(), items.end(),
                     [&](const Item& item) { return IEquals(item.key, key); });
}

bool IsPasswordKey(std::string_view key) {
  return IEquals(key, "password") || IEquals(key, "pass") || IEquals(key, "pwd");
}

std::string Join(const std::vector<Item>& items, std::string_view separator) {
  std::string out;
  for (const Item& item : items) {
    if (!out.empty()) out += separator;
    out += item.text;
  }
  return out;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The value of a key=value item as written, without quotes or braces.
std::string RawValue(std::string_view text) {
  std::size_t eq = text.find('=');
  if (eq == std::string_view::npos) return "";
  std::string_view v = text.substr(eq + 1);
  while (!v.empty() && IsSpace(v.front())) v.remove_prefix(1);
  while (!v.empty() && IsSpace(v.back())) v.remove_suffix(1);
  std::string out;
  if (!v.empty() && (v.front() == '\'' || v.front() == '{')) {
    char close = v.front() == '\'' ? '\'' : '}';
    for (std::size_t i = 1; i < v.size(); ++i) {
      if (close == '\'' && v[i] == '\\' && i + 1 < v.size()) {
        out += v[++i];
      } else if (close == '}' && v[i] == '}' && i + 1 < v.size() && v[i + 1] == '}') {
        out += '}';
        ++i;
      } else if (v[i] == close) {
        break;
      } else {
        out += v[i];
      }
    }
    return out;
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) ++i;
    out += v[i];
  }
  return out;
}

std::string Postgresql(const std::string& connection, const std::optional<std::string>& password,
                       std::chrono::seconds connect_timeout) {
  std::string timeout = std::to_string(connect_timeout.count());
  if (IsUri(connection)) {
    std::string out = connection;
    char separator = connection.find('?') == std::string::npos ? '?' : '&';
    auto add = [&](std::string_view key, std::string_view value) {
      out += separator;
      out += key;
      out += '=';
      out += PercentEncode(value);
      separator = '&';
    };
    if (connection.find("connect_timeout=") == std::string::npos) add("connect_timeout", timeout);
    add("fallback_application_name", kApplicationName);
    if (password) add("password", *password);
    return out;
  }
  // A key=value string becomes a URI with every value in its query: SOCI 4.0.3 splits the
  // string at spaces before libpq sees it, so a value with a space (quoted or escaped)
  // cannot pass in key=value form. libpq takes the last value of a key given twice, so
  // defaults go first and the password last.
  std::vector<Item> items = SplitSpaced(connection);
  bool parsed =
      std::none_of(items.begin(), items.end(), [](const Item& item) { return item.key.empty(); });
  if (!parsed) return connection;  // libpq reports what is wrong with it
  std::string out = "postgresql://";
  char separator = '?';
  auto add = [&](std::string_view key, std::string_view value) {
    out += separator;
    out += PercentEncode(key);
    out += '=';
    out += PercentEncode(value);
    separator = '&';
  };
  if (!HasKey(items, "connect_timeout")) add("connect_timeout", timeout);
  add("fallback_application_name", kApplicationName);
  for (const Item& item : items) add(item.key, RawValue(item.text));
  if (password) add("password", *password);
  return out;
}

std::string Mysql(const std::string& connection, const std::optional<std::string>& password,
                  std::chrono::seconds connect_timeout) {
  // SOCI's mysql parser rejects a key given twice: drop the connection's own password
  // when one is configured separately.
  std::vector<Item> items = SplitSpaced(connection);
  if (password) {
    std::erase_if(items, [](const Item& item) { return IsPasswordKey(item.key); });
    items.push_back({"password", "password=" + QuoteSociMysql(*password)});
  }
  if (!HasKey(items, "connect_timeout")) {
    items.push_back(
        {"connect_timeout", "connect_timeout=" + std::to_string(connect_timeout.count())});
  }
  return Join(items, " ");
}

std::string Odbc(const std::string& connection, const std::optional<std::string>& password) {
  if (!password) return connection;
  std::vector<Item> items = SplitOdbc(connection);
  std::erase_if(items, [](const Item& item) { return IsPasswordKey(item.key); });
  items.push_back({"PWD", "PWD=" + QuoteOdbc(*password)});
  return Join(items, ";");
}

std::string Sqlite3(const std::string& path) {
  // SOCI's sqlite3 parser: db="path with spaces"; a '"' inside cannot be expressed and is
  // reported when opening.
  return "db=\"" + path + "\" readonly=true";
}

}  // namespace

std::string QuoteSociMysql(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string QuoteOdbc(std::string_view value) {
  std::string out = "{";
  for (char c : value) {
    out += c;
    if (c == '}') out += '}';
  }
  return out + "}";
}

std::string PercentEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

std::string BuildConnectString(Driver driver, const std::string& connection,
                               const std::optional<std::string>& password,
                               std::chrono::seconds connect_timeout) {
  switch (driver) {
    case Driver::kPostgresql:
      return Postgresql(connection, password, connect_timeout);
    case Driver::kMysql:
      return Mysql(connection, password, connect_timeout);
    case Driver::kOdbc:
      return Odbc(connection, password);
    case Driver::kSqlite3:
      return Sqlite3(connection);
  }
  return connection;
}

void Redactor::Add(std::string_view secret) {
  if (secret.empty()) return;
  std::string s(secret);
  if (std::find(secrets_.begin(), secrets_.end(), s) != secrets_.end()) return;
  secrets_.push_back(std::move(s));
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

void Redactor::AddConnection(std::string_view connection) {
  Add(connection);
  // password=..., pass=..., pwd=... in any of the syntaxes.
  for (const auto& items : {SplitSpaced(connection), SplitOdbc(connection)}) {
    for (const Item& item : items) {
      if (IsPasswordKey(item.key)) Add(RawValue(item.text));
    }
  }
  // URI: scheme://user:password@host and ?password=...
  if (std::size_t scheme = connection.find("://"); scheme != std::string_view::npos) {
    std::string_view rest = connection.substr(scheme + 3);
    std::size_t at = rest.find('@');
    std::size_t colon = rest.find(':');
    if (at != std::string_view::npos && colon != std::string_view::npos && colon < at) {
      std::string_view pw = rest.substr(colon + 1, at - colon - 1);
      Add(pw);
      Add(PercentDecode(pw));
    }
    for (std::size_t p = rest.find("password="); p != std::string_view::npos;
         p = rest.find("password=", p + 1)) {
      std::string_view value = rest.substr(p + 9);
      value = value.substr(0, value.find('&'));
      Add(value);
      Add(PercentDecode(value));
    }
  }
}

std::string Redactor::Scrub(std::string_view text) const {
  return config::RedactSecrets(std::string(text), secrets_);
}

}  // namespace kpid::collectors::sql
