// A real SMTP server for tests: aiosmtpd under /usr/bin/python3 (Debian's
// python3-aiosmtpd; the first python3 on PATH may be another interpreter), saving every
// accepted message, with STARTTLS or implicit TLS on a self-signed certificate, AUTH, and
// scripted recipient rejections. Received messages are parsed with Python's email module.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"

namespace kpid::testing {

struct SmtpServerOptions {
  std::string tls = "none";  // none, starttls, implicit
  bool require_starttls = false;
  std::string auth;                  // user:password
  std::vector<std::string> rejects;  // CODE:address
  bool hold = false;                 // keep the reply to DATA until Release()
};

SmtpServerOptions SmtpWithTls(std::string mode, bool require_starttls = false);

class SmtpServer {
 public:
  // Why the server cannot run here, or nullopt.
  static std::optional<std::string> Missing();

  // Starts a server; on failure `error` says why.
  bool Start(const SmtpServerOptions& options, std::string* error);
  // Stops the server (SIGTERM, then waits): connections are refused until Restart(),
  // which starts it again on the same port and options; messages go on numbering from
  // those already received.
  void Stop();
  bool Restart(std::string* error);
  bool Running() { return process_ && process_->Running(); }

  std::string Url(std::string_view scheme = "smtp") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_);
  }
  const std::filesystem::path& certificate() const { return tls_.certificate; }
  bool Holding() const { return std::filesystem::exists(mail_ / "holding"); }
  void Release() const;
  std::string Log() const { return process_ ? process_->Output() : ""; }

  std::size_t MessageCount() const;
  std::string Raw(int index) const;
  nlohmann::json Envelope(int index) const;
  // The email module's view of a message: date, date_ok, message_id, from, to, subject,
  // mime_version, type, parts [{type, charset, encoding, text}], defects, max_line,
  // bare_newline.
  nlohmann::json Parsed(int index) const;

 private:
  bool Launch(std::string* error);

  TempDir dir_;
  std::filesystem::path script_;
  std::filesystem::path parse_script_;
  std::filesystem::path mail_;
  HttpTestServer::Tls tls_;
  int port_ = 0;
  std::vector<std::string> argv_;
  int runs_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace kpid::testing
