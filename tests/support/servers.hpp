// Real PostgreSQL and MariaDB servers for integration tests: each runs in its own temporary
// directory on a free 127.0.0.1 port with one database and one password-protected user,
// and is stopped by its destructor. As root, PostgreSQL runs as the `postgres` user and
// MariaDB as `mysql` (TEST-PEERS.md).
//
//   if (auto missing = PostgresServer::Missing()) GTEST_SKIP() << *missing;
//   std::string error;
//   auto pg = PostgresServer::Start(&error);
//   ASSERT_TRUE(pg) << error;
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <sys/types.h>

#include "tests/support/process.hpp"

namespace kpid::testing {

class PostgresServer {
 public:
  // Why a server cannot be started here (binaries or the postgres user absent), or
  // nullopt when it can.
  static std::optional<std::string> Missing();
  // Initialises a cluster and starts it; nullptr with `error` set on failure.
  static std::unique_ptr<PostgresServer> Start(std::string* error);

  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  const std::string& database() const { return database_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  // libpq key=value form without the password: "host=127.0.0.1 port=N dbname=D user=U".
  std::string ConnectionString() const;

  // Runs SQL as the superuser in the test database; returns the unaligned, tuples-only
  // output in `output` (psql -At). False on failure (output then holds the error).
  bool Exec(const std::string& sql, std::string* output = nullptr) const;

  // Fast shutdown (open connections are terminated) and start again on the same port.
  bool Stop();
  bool Restart();
  bool running() const { return running_; }

 private:
  PostgresServer() = default;
  bool Init(std::string* error);
  bool PgCtl(const std::string& action, std::string* output) const;

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Subprocess> watchdog_;  // stops the server if this process dies first
  std::filesystem::path bin_;
  int port_ = 0;
  std::string database_ = "kpid_test";
  std::string user_ = "kpid";
  std::string password_;
  bool as_postgres_ = false;  // root: run server tools through runuser
  bool running_ = false;
};

class MariaDbServer {
 public:
  static std::optional<std::string> Missing();
  static std::unique_ptr<MariaDbServer> Start(std::string* error);

  ~MariaDbServer();
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  int port() const { return port_; }
  const std::string& database() const { return database_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  // SOCI mysql form without the password: "host=127.0.0.1 port=N db=D user=U".
  std::string ConnectionString() const;

  // Runs SQL as root in the test database (mariadb -N -B); like PostgresServer::Exec.
  bool Exec(const std::string& sql, std::string* output = nullptr) const;

  // Shutdown (SIGTERM, waits for the process) and start again on the same port.
  bool Stop();
  bool Restart();
  bool running() const { return server_ != nullptr; }

 private:
  MariaDbServer() = default;
  bool Init(std::string* error);
  bool Launch(std::string* error);

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Subprocess> watchdog_;  // kills the server if this process dies first
  std::unique_ptr<Subprocess> server_;
  int port_ = 0;
  std::string database_ = "kpid_test";
  std::string user_ = "kpid";
  std::string password_;
};

}  // namespace kpid::testing
