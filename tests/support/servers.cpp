#include "tests/support/servers.hpp"

#include <algorithm>
#include <csignal>
#include <random>
#include <system_error>
#include <vector>

#include <pwd.h>
#include <unistd.h>

namespace kpid::testing {
namespace {

namespace fs = std::filesystem;

// Single-quoted for the shell.
std::string Sh(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// A fresh password with characters that need quoting in every connection-string syntax.
std::string RandomPassword() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string out = "pw ' \\ ";
  for (int i = 0; i < 16; ++i) out += "0123456789abcdef"[hex(rd)];
  return out;
}

bool IsExecutable(const fs::path& p) { return access(p.c_str(), X_OK) == 0; }

bool UserExists(const char* name) { return getpwnam(name) != nullptr; }

bool ChownTo(const fs::path& p, const char* user) {
  const passwd* pw = getpwnam(user);
  return pw != nullptr && chown(p.c_str(), pw->pw_uid, pw->pw_gid) == 0;
}

// The newest /usr/lib/postgresql/<major>/bin with initdb, pg_ctl and psql.
std::optional<fs::path> PostgresBin() {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    fs::path bin = entry.path() / "bin";
    if (IsExecutable(bin / "initdb") && IsExecutable(bin / "pg_ctl") &&
        IsExecutable(bin / "psql")) {
      found.push_back(bin);
    }
  }
  if (found.empty()) return std::nullopt;
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoi(a.parent_path().filename().string()) <
           std::stoi(b.parent_path().filename().string());
  });
  return found.back();
}

// A shell that waits for this process to end and then runs `cleanup`: a test killed by a
// signal or a timeout leaves no server behind. Killed by its Subprocess destructor when
// the fixture ends normally.
std::unique_ptr<Subprocess> StartWatchdog(const std::string& cleanup) {
  std::string script =
      "while kill -0 " + std::to_string(getpid()) + " 2>/dev/null; do sleep 1; done; " + cleanup;
  return std::make_unique<Subprocess>(std::vector<std::string>{"/bin/sh", "-c", script},
                                      "/dev/null");
}

constexpr const char* kMariadbd = "/usr/sbin/mariadbd";
constexpr const char* kMariadbInstallDb = "/usr/bin/mariadb-install-db";
constexpr const char* kMariadb = "/usr/bin/mariadb";
constexpr const char* kRunuser = "/usr/sbin/runuser";

}  // namespace

// --- PostgreSQL -----------------------------------------------------------------------

std::optional<std::string> PostgresServer::Missing() {
  if (!PostgresBin()) {
    return "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
           "(Debian package postgresql)";
  }
  if (geteuid() == 0 && (!UserExists("postgres") || !IsExecutable(kRunuser))) {
    return "running as root needs the postgres user and runuser to start PostgreSQL";
  }
  return std::nullopt;
}

std::unique_ptr<PostgresServer> PostgresServer::Start(std::string* error) {
  if (auto missing = Missing()) {
    *error = *missing;
    return nullptr;
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  if (!server->Init(error)) return nullptr;
  return server;
}

bool PostgresServer::Init(std::string* error) {
  bin_ = *PostgresBin();
  dir_ = std::make_unique<TempDir>();
  as_postgres_ = geteuid() == 0;
  if (as_postgres_ && !ChownTo(dir_->path(), "postgres")) {
    *error = "cannot hand " + dir_->path().string() + " to the postgres user";
    return false;
  }
  password_ = RandomPassword();
  port_ = FreePort();
  std::string out;
  std::string prefix = as_postgres_ ? std::string(kRunuser) + " -u postgres -- " : "";
  watchdog_ = StartWatchdog(
      prefix + Sh((bin_ / "pg_ctl").string()) + " -D " + Sh((dir_->path() / "data").string()) +
      " -m immediate stop >/dev/null 2>&1; rm -rf " + Sh(dir_->path().string()));
  int rc = RunCommand(prefix + Sh((bin_ / "initdb").string()) + " -D " +
                          Sh((dir_->path() / "data").string()) +
                          " -U postgres --auth-local=trust --auth-host=scram-sha-256"
                          " --no-sync --no-locale -E UTF8",
                      &out);
  if (rc != 0) {
    *error = "initdb failed: " + out;
    return false;
  }
  if (!PgCtl("start", &out)) {
    *error = "pg_ctl start failed: " + out;
    return false;
  }
  running_ = true;
  std::string quoted_password = "'";
  for (char c : password_) {
    quoted_password += c;
    if (c == '\'') quoted_password += '\'';
  }
  quoted_password += "'";
  std::string psql = Sh((bin_ / "psql").string()) + " -X -q -v ON_ERROR_STOP=1 -h " +
                     Sh(dir_->path().string()) + " -p " + std::to_string(port_) +
                     " -U postgres -d postgres";
  out.clear();
  // Standard-conforming strings: only the quote is doubled.
  if (RunCommand(psql, &out,
                 "CREATE ROLE " + user_ + " LOGIN PASSWORD " + quoted_password + ";\n" +
                     "CREATE DATABASE " + database_ + " OWNER " + user_ + ";\n") != 0) {
    *error = "creating the user and database failed: " + out;
    return false;
  }
  return true;
}

bool PostgresServer::PgCtl(const std::string& action, std::string* output) const {
  std::string prefix = as_postgres_ ? std::string(kRunuser) + " -u postgres -- " : "";
  std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
                        dir_->path().string() + " -c fsync=off -c full_page_writes=off";
  std::string command = prefix + Sh((bin_ / "pg_ctl").string()) + " -D " +
                        Sh((dir_->path() / "data").string()) + " -w -t 60";
  if (action == "start") {
    command += " -l " + Sh((dir_->path() / "log").string()) + " -o " + Sh(options) + " start";
  } else {
    command += " -m fast stop";
  }
  return RunCommand(command, output) == 0;
}

PostgresServer::~PostgresServer() {
  if (running_) Stop();
}

std::string PostgresServer::ConnectionString() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + database_ + " user=" + user_;
}

bool PostgresServer::Exec(const std::string& sql, std::string* output) const {
  std::string out;
  int rc = RunCommand(Sh((bin_ / "psql").string()) + " -X -q -A -t -v ON_ERROR_STOP=1 -h " +
                          Sh(dir_->path().string()) + " -p " + std::to_string(port_) +
                          " -U postgres -d " + database_,
                      &out, sql + "\n");
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (output != nullptr) *output = out;
  return rc == 0;
}

bool PostgresServer::Stop() {
  std::string out;
  bool ok = PgCtl("stop", &out);
  running_ = !ok;
  return ok;
}

bool PostgresServer::Restart() {
  std::string out;
  running_ = PgCtl("start", &out);
  return running_;
}

// --- MariaDB --------------------------------------------------------------------------

std::optional<std::string> MariaDbServer::Missing() {
  if (!IsExecutable(kMariadbd) || !IsExecutable(kMariadbInstallDb) || !IsExecutable(kMariadb)) {
    return "MariaDB server binaries (mariadbd, mariadb-install-db, mariadb) not found "
           "(Debian package mariadb-server)";
  }
  if (geteuid() == 0 && !UserExists("mysql")) {
    return "running as root needs the mysql user to start MariaDB";
  }
  return std::nullopt;
}

std::unique_ptr<MariaDbServer> MariaDbServer::Start(std::string* error) {
  if (auto missing = Missing()) {
    *error = *missing;
    return nullptr;
  }
  std::unique_ptr<MariaDbServer> server(new MariaDbServer());
  if (!server->Init(error)) return nullptr;
  return server;
}

bool MariaDbServer::Init(std::string* error) {
  dir_ = std::make_unique<TempDir>();
  if (geteuid() == 0 && !ChownTo(dir_->path(), "mysql")) {
    *error = "cannot hand " + dir_->path().string() + " to the mysql user";
    return false;
  }
  std::string pid_file = Sh((dir_->path() / "pid").string());
  watchdog_ = StartWatchdog("[ -f " + pid_file + " ] && kill -9 \"$(cat " + pid_file +
                            ")\"; rm -rf " + Sh(dir_->path().string()));
  password_ = RandomPassword();
  port_ = FreePort();
  std::string out;
  // A temporary directory of its own: with the shared /tmp, a bootstrap once failed
  // ("Could not remove temporary table ... Unknown table 'mysql.tmp_proxies_priv'") while
  // another test's server bootstrapped beside it.
  const fs::path tmp = dir_->path() / "tmp";
  fs::create_directories(tmp);
  if (geteuid() == 0 && !ChownTo(tmp, "mysql")) {
    *error = "cannot hand " + tmp.string() + " to the mysql user";
    return false;
  }
  std::string command =
      std::string(kMariadbInstallDb) + " --no-defaults" + (geteuid() == 0 ? " --user=mysql" : "") +
      " --datadir=" + Sh((dir_->path() / "data").string()) + " --tmpdir=" + Sh(tmp.string()) +
      " --skip-test-db --auth-root-authentication-method=normal";
  if (RunCommand(command, &out) != 0) {
    *error = "mariadb-install-db failed: " + out;
    return false;
  }
  if (!Launch(error)) return false;
  // MariaDB strings: backslash and quote are escaped with a backslash.
  std::string quoted = "'";
  for (char c : password_) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += "'";
  out.clear();
  std::string root = std::string(kMariadb) +
                     " --no-defaults -uroot --socket=" + Sh((dir_->path() / "sock").string());
  if (RunCommand(root, &out,
                 "CREATE DATABASE " + database_ + ";\nCREATE USER '" + user_ +
                     "'@'%' IDENTIFIED BY " + quoted + ";\nGRANT ALL ON " + database_ + ".* TO '" +
                     user_ + "'@'%';\n") != 0) {
    *error = "creating the user and database failed: " + out;
    return false;
  }
  return true;
}

bool MariaDbServer::Launch(std::string* error) {
  const fs::path& d = dir_->path();
  std::vector<std::string> argv = {kMariadbd,
                                   "--no-defaults",
                                   "--datadir=" + (d / "data").string(),
                                   "--tmpdir=" + (d / "tmp").string(),
                                   "--socket=" + (d / "sock").string(),
                                   "--port=" + std::to_string(port_),
                                   "--bind-address=127.0.0.1",
                                   "--pid-file=" + (d / "pid").string(),
                                   "--log-error=" + (d / "error.log").string(),
                                   "--skip-name-resolve",
                                   "--innodb-buffer-pool-size=16M",
                                   "--innodb-flush-log-at-trx-commit=0",
                                   "--skip-log-bin"};
  if (geteuid() == 0) argv.insert(argv.begin() + 2, "--user=mysql");
  server_ = std::make_unique<Subprocess>(argv, d / "mariadbd.out");
  std::string ping = std::string(kMariadb) +
                     " --no-defaults -uroot --socket=" + Sh((d / "sock").string()) +
                     " -e 'SELECT 1'";
  bool ready = WaitFor(
      [&] {
        if (!server_->Running()) return true;
        std::string out;
        return RunCommand(ping, &out) == 0;
      },
      std::chrono::seconds(60));
  if (!ready || !server_->Running()) {
    *error = "mariadbd did not start: " + server_->Output();
    server_.reset();
    return false;
  }
  return true;
}

MariaDbServer::~MariaDbServer() { Stop(); }

std::string MariaDbServer::ConnectionString() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " db=" + database_ + " user=" + user_;
}

bool MariaDbServer::Exec(const std::string& sql, std::string* output) const {
  std::string out;
  int rc = RunCommand(std::string(kMariadb) + " --no-defaults -uroot -N -B --socket=" +
                          Sh((dir_->path() / "sock").string()) + " " + database_,
                      &out, sql + "\n");
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (output != nullptr) *output = out;
  return rc == 0;
}

bool MariaDbServer::Stop() {
  if (!server_) return true;
  server_->Signal(SIGTERM);
  bool exited = server_->Wait(std::chrono::seconds(60)).has_value();
  server_.reset();  // SIGKILL if it did not exit
  return exited;
}

bool MariaDbServer::Restart() {
  std::string error;
  return Launch(&error);
}

}  // namespace kpid::testing
