// Keys of a `type = "sql"` source and of the KPIs that use it (see sample.toml).
#pragma once

#include <optional>
#include <string>

#include "daemon/config/config.hpp"

namespace kpid::collectors::sql {

enum class Driver { kSqlite3, kPostgresql, kMysql, kOdbc };

std::string_view DriverName(Driver driver);

struct SourceSettings : config::KindSettings {
  Driver driver = Driver::kSqlite3;
  // For sqlite3 the database file's path; otherwise the backend's connection string.
  // Held as a secret: connection strings may carry passwords.
  config::Secret connection;
  std::optional<config::Secret> password;  // password / password_file
};

struct KpiSettings : config::KindSettings {
  std::string query;          // first column of the first row is the value
  std::string history_query;  // optional: (timestamp, value) rows, backfilled at start
};

config::SourceKind Kind();

}  // namespace kpid::collectors::sql
