// Test support: run the real kpid binary (or another program) as a child process, talk
// HTTP to it, and poll for conditions without asserting on wall-clock time.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace kpid::testing {

// A temporary directory removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path Write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

// A child process whose stdout and stderr go to a file. Killed (SIGKILL) on destruction if
// still running.
class Subprocess {
 public:
  Subprocess(std::vector<std::string> argv, std::filesystem::path output,
             const std::map<std::string, std::string>& env = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signo) const;
  // Waits for exit; returns the exit status (128+signal when killed), nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool Running();
  std::string Output() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path output_;
};

struct HttpResult {
  long status = 0;  // 0 when the request failed at the transport level
  std::string body;
  std::string content_type;
  std::string error;
};

HttpResult HttpRequest(const std::string& method, const std::string& url,
                       const std::string& body = "", const std::vector<std::string>& headers = {});
inline HttpResult HttpGet(const std::string& url) { return HttpRequest("GET", url); }

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Polls `ready` every 20 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& ready,
             std::chrono::milliseconds timeout = std::chrono::seconds(15));

// Runs a shell command, returns its exit status and combined output.
int RunCommand(const std::string& command, std::string* output, const std::string& stdin_data = "");

}  // namespace kpid::testing
