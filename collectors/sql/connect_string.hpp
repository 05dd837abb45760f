// Connection strings as each SOCI backend wants them, and the scrubbing of secrets from
// driver messages. Pure functions: unit-tested without a server.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/sql/settings.hpp"

namespace kpid::collectors::sql {

// The string handed to SOCI for `driver`: the configured connection plus the password
// (which wins over one written in the connection), a connect timeout and, for
// postgresql, an application name, unless the connection sets them itself.
//  - postgresql: libpq key=value or a postgresql:// URI; always passed on as a URI
//  - mysql: SOCI's "db=... user=... host=... port=..." (earlier keys win)
//  - odbc: "DSN=...;UID=..." or "DRIVER={...};..." (earlier keys win)
//  - sqlite3: the file path; opened read-only
std::string BuildConnectString(Driver driver, const std::string& connection,
                               const std::optional<std::string>& password,
                               std::chrono::seconds connect_timeout);

// Quoting for values in each syntax.
std::string QuoteSociMysql(std::string_view value);  // 'va\'lue'
std::string QuoteOdbc(std::string_view value);       // {va}}lue}
std::string PercentEncode(std::string_view value);

// Replaces every secret in driver messages with "<secret>".
class Redactor {
 public:
  // Adds `secret` and, when it is a connection string, the passwords written inside it
  // (password=, pass=, pwd=, URI user:password@).
  void Add(std::string_view secret);
  void AddConnection(std::string_view connection);
  std::string Scrub(std::string_view text) const;

 private:
  std::vector<std::string> secrets_;  // longest first
};

}  // namespace kpid::collectors::sql
