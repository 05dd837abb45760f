#include "tests/support/smtp_server.hpp"

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>

namespace kpid::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kPython = "/usr/bin/python3";

// Saves each accepted message as msg-N.eml (the raw DATA) and msg-N.json (the envelope).
constexpr std::string_view kServerScript = R"py(
import argparse, asyncio, json, os, ssl
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--dir", required=True)
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
p.add_argument("--require-starttls", action="store_true")
p.add_argument("--auth", help="user:password")
p.add_argument("--reject", action="append", default=[], help="CODE:address")
p.add_argument("--hold", action="store_true",
               help="answer the end of DATA only once the file 'release' exists")
args = p.parse_args()
rejects = dict(reversed(r.split(":", 1)) for r in args.reject)
parent = os.getppid()

class Handler:
    def __init__(self):
        # After a restart, numbering goes on from the messages already saved.
        self.count = len([n for n in os.listdir(args.dir) if n.endswith(".eml")])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in rejects:
            code = rejects[address]
            text = "Recipient address rejected" if code.startswith("5") else "Try again later"
            return "%s %s.1.1 <%s>: %s" % (code, code[0], address, text)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if args.hold:
            open(os.path.join(args.dir, "holding"), "w").close()
            for _ in range(600):
                if os.path.exists(os.path.join(args.dir, "release")):
                    break
                await asyncio.sleep(0.05)
        self.count += 1
        base = os.path.join(args.dir, "msg-%d" % self.count)
        login = session.auth_data
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "tls": server.transport.get_extra_info("ssl_object") is not None,
                       "login": login.decode() if isinstance(login, bytes) else None}, f)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 Message accepted for delivery"

def authenticator(server, session, envelope, mechanism, auth_data):
    user, password = args.auth.split(":", 1)
    if isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() \
            and auth_data.password == password.encode():
        return AuthResult(success=True, auth_data=auth_data.login)
    return AuthResult(success=False, handled=False)

def context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    return ctx

async def main():
    kwargs = {"hostname": "kpid-test"}
    if args.tls == "starttls":
        kwargs["tls_context"] = context()
        kwargs["require_starttls"] = args.require_starttls
    if args.auth:
        kwargs["authenticator"] = authenticator
        kwargs["auth_require_tls"] = args.tls != "none"
    handler = Handler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, loop=loop, **kwargs), "127.0.0.1", args.port,
        ssl=context() if args.tls == "implicit" else None)
    with open(os.path.join(args.dir, "ready"), "w") as f:
        f.write("ready\n")
    while os.getppid() == parent:  # the test died: do not outlive it
        await asyncio.sleep(0.5)

asyncio.run(main())
)py";

// Prints what the email module makes of a message, as JSON.
constexpr std::string_view kParseScript = R"py(
import email, json, sys
from email import policy
from email.utils import parsedate_to_datetime
raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=policy.default)
try:
    date_ok = parsedate_to_datetime(msg["Date"]) is not None
except Exception:
    date_ok = False
parts = []
defects = [str(d) for d in msg.defects]
for part in msg.iter_parts():
    defects += [str(d) for d in part.defects]
    parts.append({"type": part.get_content_type(), "charset": part.get_content_charset(),
                  "encoding": part["Content-Transfer-Encoding"], "text": part.get_content()})
lines = raw.split(b"\r\n")
print(json.dumps({
    "date": str(msg["Date"]), "date_ok": date_ok, "message_id": str(msg["Message-ID"]),
    "from": str(msg["From"]), "to": str(msg["To"]), "subject": str(msg["Subject"]),
    "mime_version": str(msg["MIME-Version"]), "type": msg.get_content_type(),
    "parts": parts, "defects": defects,
    "max_line": max(len(l) for l in lines),
    "bare_newline": any(b"\n" in l or b"\r" in l for l in lines),
}))
)py";

std::string Name(int index, std::string_view ext) {
  return "msg-" + std::to_string(index) + std::string(ext);
}

std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

SmtpServerOptions SmtpWithTls(std::string mode, bool require_starttls) {
  SmtpServerOptions o;
  o.tls = std::move(mode);
  o.require_starttls = require_starttls;
  return o;
}

std::optional<std::string> SmtpServer::Missing() {
  std::string output;
  if (RunCommand(std::string(kPython) + " -c 'import aiosmtpd' 2>&1", &output) != 0) {
    return "python3-aiosmtpd is not installed (" + std::string(kPython) +
           " cannot import aiosmtpd): " + output;
  }
  return std::nullopt;
}

bool SmtpServer::Start(const SmtpServerOptions& options, std::string* error) {
  script_ = dir_.Write("server.py", std::string(kServerScript));
  parse_script_ = dir_.Write("parse.py", std::string(kParseScript));
  mail_ = dir_.path() / "mail";
  std::filesystem::create_directories(mail_);
  port_ = FreePort();
  std::vector<std::string> argv = {
      std::string(kPython), script_.string(), "--port",   std::to_string(port_), "--dir",
      mail_.string(),       "--tls",          options.tls};
  if (options.tls != "none") {
    std::string cert_error;
    if (!MakeSelfSignedCertificate(dir_.path(), tls_, &cert_error)) {
      *error = cert_error;
      return false;
    }
    argv.insert(argv.end(),
                {"--cert", tls_.certificate.string(), "--key", tls_.private_key.string()});
  }
  if (options.require_starttls) argv.emplace_back("--require-starttls");
  if (!options.auth.empty()) argv.insert(argv.end(), {"--auth", options.auth});
  for (const std::string& r : options.rejects) argv.insert(argv.end(), {"--reject", r});
  if (options.hold) argv.emplace_back("--hold");
  argv_ = std::move(argv);
  return Launch(error);
}

bool SmtpServer::Launch(std::string* error) {
  std::filesystem::remove(mail_ / "ready");
  process_ = std::make_unique<Subprocess>(
      argv_, dir_.path() / ("server" + (runs_ == 0 ? "" : "-" + std::to_string(runs_)) + ".log"));
  ++runs_;
  if (!WaitFor([&] { return std::filesystem::exists(mail_ / "ready") || !process_->Running(); },
               20s) ||
      !process_->Running()) {
    *error = "aiosmtpd did not start: " + process_->Output();
    return false;
  }
  return true;
}

void SmtpServer::Stop() {
  if (!process_ || !process_->Running()) return;
  process_->Signal(SIGTERM);
  if (!process_->Wait(10s)) {
    process_->Signal(SIGKILL);
    process_->Wait(10s);
  }
}

bool SmtpServer::Restart(std::string* error) {
  Stop();
  return Launch(error);
}

void SmtpServer::Release() const { std::ofstream(mail_ / "release").close(); }

std::size_t SmtpServer::MessageCount() const {
  std::size_t n = 0;
  while (std::filesystem::exists(mail_ / ("msg-" + std::to_string(n + 1) + ".eml"))) ++n;
  return n;
}

std::string SmtpServer::Raw(int index) const { return Read(mail_ / Name(index, ".eml")); }

nlohmann::json SmtpServer::Envelope(int index) const {
  return nlohmann::json::parse(Read(mail_ / Name(index, ".json")));
}

nlohmann::json SmtpServer::Parsed(int index) const {
  std::string output;
  const int status = RunCommand(std::string(kPython) + " '" + parse_script_.string() + "' '" +
                                    (mail_ / Name(index, ".eml")).string() + "' 2>&1",
                                &output);
  if (status != 0) return {{"error", output}};
  return nlohmann::json::parse(output, nullptr, false);
}

}  // namespace kpid::testing
