#include "collectors/sql/settings.hpp"

#include <array>

#include "daemon/config/reader.hpp"

namespace kpid::collectors::sql {
namespace {

constexpr std::array<std::pair<std::string_view, Driver>, 4> kDrivers = {{
    {"sqlite3", Driver::kSqlite3},
    {"postgresql", Driver::kPostgresql},
    {"mysql", Driver::kMysql},
    {"odbc", Driver::kOdbc},
}};

std::shared_ptr<const config::KindSettings> ParseSource(config::TableReader& r) {
  auto s = std::make_shared<SourceSettings>();
  if (auto driver = r.Raw("driver", config::Need::kRequired)) {
    bool known = false;
    for (const auto& [name, value] : kDrivers) {
      if (name == *driver) {
        s->driver = value;
        known = true;
      }
    }
    if (!known) {
      r.Error("driver",
              "unknown driver \"" + *driver + "\"; expected sqlite3, postgresql, mysql or odbc");
    }
  }
  if (auto connection = r.SecretString("connection", config::Need::kRequired)) {
    if (connection->empty()) {
      r.Error("connection", "\"connection\" must not be empty");
    }
    s->connection = std::move(*connection);
  }
  s->password = r.SecretOrFile("password", "password_file");
  if (s->password && s->driver == Driver::kSqlite3) {
    std::string_view key = r.Has("password") ? "password" : "password_file";
    r.Error(key, "\"" + std::string(key) + "\" does not apply to driver \"sqlite3\"");
  }
  return s;
}

std::shared_ptr<const config::KindSettings> ParseKpi(config::TableReader& r,
                                                     const config::Source&) {
  auto k = std::make_shared<KpiSettings>();
  if (auto query = r.String("query", config::Need::kRequired)) {
    if (query->find_first_not_of(" \t\r\n") == std::string::npos) {
      r.Error("query", "\"query\" must not be empty");
    }
    k->query = std::move(*query);
  }
  k->history_query = r.String("history_query").value_or("");
  return k;
}

}  // namespace

std::string_view DriverName(Driver driver) {
  for (const auto& [name, value] : kDrivers) {
    if (value == driver) return name;
  }
  return "unknown";
}

config::SourceKind Kind() { return {ParseSource, ParseKpi}; }

}  // namespace kpid::collectors::sql
