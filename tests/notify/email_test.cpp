// The email receiver against a real SMTP server: aiosmtpd under /usr/bin/python3, with a
// handler that saves every accepted message, STARTTLS or implicit TLS with a self-signed
// certificate, AUTH, and scripted recipient rejections. Received messages are parsed with
// Python's email module.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <date/date.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "collectors/http/curl_multi.hpp"
#include "daemon/notify/email/receiver.hpp"
#include "daemon/notify/email/settings.hpp"
#include "daemon/notify/message.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"

namespace kpid::notify::email {
namespace {

using namespace std::chrono_literals;
using kpid::testing::RunCommand;
using kpid::testing::Subprocess;
using kpid::testing::TempDir;
using kpid::testing::WaitFor;

constexpr std::string_view kPython = "/usr/bin/python3";
constexpr std::string_view kPassword = "hunter2-very-secret";

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
        self.count = 0

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

struct ServerOptions {
  std::string tls = "none";  // none, starttls, implicit
  bool require_starttls = false;
  std::string auth;                  // user:password
  std::vector<std::string> rejects;  // CODE:address
  bool hold = false;                 // keep the reply to DATA until Release()
};

ServerOptions WithTls(std::string mode, bool require_starttls = false) {
  ServerOptions o;
  o.tls = std::move(mode);
  o.require_starttls = require_starttls;
  return o;
}

class SmtpServer {
 public:
  static std::optional<std::string> Missing() {
    std::string output;
    if (RunCommand(std::string(kPython) + " -c 'import aiosmtpd' 2>&1", &output) != 0) {
      return "python3-aiosmtpd is not installed (" + std::string(kPython) +
             " cannot import aiosmtpd): " + output;
    }
    return std::nullopt;
  }

  // Starts a server; on failure `error` says why.
  bool Start(const ServerOptions& options, std::string* error) {
    script_ = dir_.Write("server.py", std::string(kServerScript));
    parse_script_ = dir_.Write("parse.py", std::string(kParseScript));
    mail_ = dir_.path() / "mail";
    std::filesystem::create_directories(mail_);
    port_ = kpid::testing::FreePort();
    std::vector<std::string> argv = {
        std::string(kPython), script_.string(), "--port",   std::to_string(port_), "--dir",
        mail_.string(),       "--tls",          options.tls};
    if (options.tls != "none") {
      std::string cert_error;
      if (!kpid::testing::MakeSelfSignedCertificate(dir_.path(), tls_, &cert_error)) {
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
    process_ = std::make_unique<Subprocess>(argv, dir_.path() / "server.log");
    if (!WaitFor([&] { return std::filesystem::exists(mail_ / "ready") || !process_->Running(); },
                 20s) ||
        !process_->Running()) {
      *error = "aiosmtpd did not start: " + process_->Output();
      return false;
    }
    return true;
  }

  std::string Url(std::string_view scheme = "smtp") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_);
  }
  const std::filesystem::path& certificate() const { return tls_.certificate; }
  bool Holding() const { return std::filesystem::exists(mail_ / "holding"); }
  void Release() const { std::ofstream(mail_ / "release").close(); }
  std::string Log() const { return process_ ? process_->Output() : ""; }

  std::size_t MessageCount() const {
    std::size_t n = 0;
    while (std::filesystem::exists(mail_ / ("msg-" + std::to_string(n + 1) + ".eml"))) ++n;
    return n;
  }

  std::string Raw(int index) const { return Read(mail_ / Name(index, ".eml")); }
  nlohmann::json Envelope(int index) const {
    return nlohmann::json::parse(Read(mail_ / Name(index, ".json")));
  }
  // The email module's view of a message (see kParseScript).
  nlohmann::json Parsed(int index) const {
    std::string output;
    const int status = RunCommand(std::string(kPython) + " '" + parse_script_.string() + "' '" +
                                      (mail_ / Name(index, ".eml")).string() + "' 2>&1",
                                  &output);
    if (status != 0) return {{"error", output}};
    return nlohmann::json::parse(output, nullptr, false);
  }

 private:
  static std::string Name(int index, std::string_view ext) {
    return "msg-" + std::to_string(index) + std::string(ext);
  }
  static std::string Read(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  TempDir dir_;
  std::filesystem::path script_;
  std::filesystem::path parse_script_;
  std::filesystem::path mail_;
  kpid::testing::HttpTestServer::Tls tls_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

TimePoint At(int y, unsigned m, unsigned d) {
  return date::sys_days(date::year(y) / date::month(m) / date::day(d));
}

Notification Sample() {
  Alert a;
  a.labels = {{"kpi", "revenue"},
              {"alert", "revenue/goal"},
              {"severity", "critical"},
              {"status", "off_track"},
              {"team", "<script>alert(1)</script>"}};
  a.annotations = {{"summary", "Revenue is behind plan & <b>not</b> catching up"},
                   {"description", "Line one.\nLine two with a very long text " +
                                       std::string(1200, 'x') + " end."}};
  a.starts_at = At(2026, 5, 2);
  a.generator_url = "http://kpid.example:9464/kpi/revenue?a=1&b=2";
  a.fingerprint = Fingerprint("revenue/goal");
  a.figures.title = "Umsatz Q3 \u2013 \u20ac";
  a.figures.unit = "EUR";
  a.figures.owner = "alice@example.com";
  a.figures.goal = "1200000 EUR by 2026-12-31";
  a.figures.value = 400000;
  a.figures.target = 1200000;
  a.figures.baseline = 0;
  a.figures.expected = 650000;
  a.figures.forecast = 1100000;
  a.figures.days_left = 42;
  a.figures.deadline = At(2026, 12, 31);
  Notification n;
  n.receiver = "ops";
  n.group_key = "{}:{kpi=\"revenue\"}";
  n.group_labels = {{"kpi", "revenue"}};
  n.external_url = "http://kpid.example:9464";
  n.alerts.push_back(std::move(a));
  n.ComputeCommon();
  return n;
}

class EmailReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto missing = SmtpServer::Missing()) GTEST_SKIP() << *missing;
  }

  static config::Receiver Config(const std::string& url,
                                 const std::function<void(Settings&)>& adjust = {}) {
    auto s = std::make_shared<Settings>();
    s->smtp_url = config::Secret(url);
    s->starttls = StartTls::kNever;
    s->from = "kpid@example.com";
    s->to = {"ops@example.com", "cfo@example.com"};
    if (adjust) adjust(*s);
    config::Receiver r;
    r.name = "ops-mail";
    r.type = "email";
    r.timeout = 20s;
    r.settings = s;
    return r;
  }

  // One Send(), run to its completion; checks done() is called once and never inside it.
  Delivery Deliver(Receiver& receiver, const Notification& n) {
    int calls = 0;
    std::optional<Delivery> result;
    receiver.Send(n, [&](Delivery d) {
      ++calls;
      result = std::move(d);
    });
    EXPECT_EQ(calls, 0) << "done() called inside Send()";
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    io_.restart();
    {
      // The attempt may run off the io thread: keep run_one_for() waiting for its result.
      const auto work = boost::asio::make_work_guard(io_);
      while (!result && std::chrono::steady_clock::now() < deadline) io_.run_one_for(1s);
    }
    io_.restart();
    io_.poll();
    EXPECT_EQ(calls, 1);
    if (!result) return {Delivery::Outcome::kRetry, "test: no completion", std::nullopt};
    return *result;
  }

  boost::asio::io_context io_;
  collectors::http::CurlMulti curl_{io_};
  ReceiverContext context_{io_, curl_};
};

TEST_F(EmailReceiverTest, PlainDeliveryCarriesTextAndEscapedHtml) {
  SmtpServer server;
  std::string error;
  ASSERT_TRUE(server.Start({}, &error)) << error;
  auto receiver = MakeReceiver(Config(server.Url()), context_);
  const Notification n = Sample();

  const Delivery d = Deliver(*receiver, n);
  ASSERT_EQ(d.outcome, Delivery::Outcome::kDelivered) << d.error << "\n" << server.Log();
  ASSERT_EQ(server.MessageCount(), 1u);

  const nlohmann::json envelope = server.Envelope(1);
  EXPECT_EQ(envelope["mail_from"], "kpid@example.com");
  EXPECT_EQ(envelope["rcpt_tos"], nlohmann::json({"ops@example.com", "cfo@example.com"}));
  EXPECT_EQ(envelope["tls"], false);

  const nlohmann::json m = server.Parsed(1);
  ASSERT_FALSE(m.contains("error")) << m.dump();
  EXPECT_EQ(m["defects"], nlohmann::json::array()) << m.dump();
  EXPECT_TRUE(m["date_ok"].get<bool>()) << m["date"];
  EXPECT_TRUE(m["message_id"].get<std::string>().ends_with("@kpid>")) << m["message_id"];
  EXPECT_TRUE(m["message_id"].get<std::string>().starts_with("<")) << m["message_id"];
  EXPECT_EQ(m["from"], "kpid@example.com");
  EXPECT_EQ(m["to"], "ops@example.com, cfo@example.com");
  EXPECT_EQ(m["subject"], Subject(n));  // RFC 2047-decoded: the title has € and –
  EXPECT_EQ(m["mime_version"], "1.0");
  EXPECT_EQ(m["type"], "multipart/alternative");
  EXPECT_LE(m["max_line"].get<int>(), 998);
  EXPECT_FALSE(m["bare_newline"].get<bool>());

  ASSERT_EQ(m["parts"].size(), 2u) << m.dump();
  const nlohmann::json& text = m["parts"][0];
  const nlohmann::json& html = m["parts"][1];
  EXPECT_EQ(text["type"], "text/plain");
  EXPECT_EQ(html["type"], "text/html");
  for (const nlohmann::json* part : {&text, &html}) {
    EXPECT_EQ((*part)["charset"], "utf-8");
    const std::string body = (*part)["text"];
    EXPECT_NE(body.find("400000 EUR"), std::string::npos) << body;
    EXPECT_NE(body.find("1200000 EUR by 2026-12-31"), std::string::npos) << body;
    EXPECT_NE(body.find("650000 EUR"), std::string::npos) << body;
    EXPECT_NE(body.find("off track"), std::string::npos) << body;
    EXPECT_NE(body.find("1100000 EUR"), std::string::npos) << body;
    EXPECT_NE(body.find("Umsatz Q3 \u2013 \u20ac"), std::string::npos) << body;
    EXPECT_NE(body.find(std::string(1200, 'x')), std::string::npos);
  }
  const std::string plain = text["text"];
  EXPECT_NE(plain.find("team=<script>alert(1)</script>"), std::string::npos) << plain;
  EXPECT_NE(plain.find("http://kpid.example:9464/kpi/revenue?a=1&b=2"), std::string::npos);
  const std::string body = html["text"];
  EXPECT_EQ(body.find("<script>"), std::string::npos) << body;
  EXPECT_EQ(body.find("<b>not</b>"), std::string::npos) << body;
  EXPECT_NE(body.find("team=&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << body;
  EXPECT_NE(body.find("&amp; &lt;b&gt;not&lt;/b&gt;"), std::string::npos) << body;
  EXPECT_NE(body.find("href=\"http://kpid.example:9464/kpi/revenue?a=1&amp;b=2\""),
            std::string::npos)
      << body;
}

TEST_F(EmailReceiverTest, ResendKeepsTheMessageId) {
  SmtpServer server;
  std::string error;
  ASSERT_TRUE(server.Start({}, &error)) << error;
  auto receiver = MakeReceiver(Config(server.Url()), context_);
  Notification n = Sample();
  n.test = true;
  ASSERT_EQ(Deliver(*receiver, n).outcome, Delivery::Outcome::kDelivered);
  ASSERT_EQ(Deliver(*receiver, n).outcome, Delivery::Outcome::kDelivered);
  ASSERT_EQ(server.MessageCount(), 2u);
  const nlohmann::json first = server.Parsed(1);
  EXPECT_EQ(first["message_id"], server.Parsed(2)["message_id"]);
  EXPECT_TRUE(first["subject"].get<std::string>().starts_with("[TEST] ")) << first["subject"];
  EXPECT_NE(first["parts"][0]["text"].get<std::string>().find("test notification"),
            std::string::npos);
}

TEST_F(EmailReceiverTest, StartTlsAlwaysWithInsecureSkipVerify) {
  SmtpServer server;
  std::string error;
  ASSERT_TRUE(server.Start(WithTls("starttls", true), &error)) << error;
  auto receiver = MakeReceiver(Config(server.Url(),
                                      [](Settings& s) {
                                        s.starttls = StartTls::kAlways;
                                        s.insecure_skip_verify = true;
                                      }),
                               context_);
  const Delivery d = Deliver(*receiver, Sample());
  ASSERT_EQ(d.outcome, Delivery::Outcome::kDelivered) << d.error << "\n" << server.Log();
  ASSERT_EQ(server.MessageCount(), 1u);
  EXPECT_EQ(server.Envelope(1)["tls"], true);
}

TEST_F(EmailReceiverTest, StartTlsWithCaFileAndAutoUpgrades) {
  SmtpServer server;
  std::string error;
  ASSERT_TRUE(server.Start(WithTls("starttls"), &error)) << error;
  auto verified = MakeReceiver(Config(server.Url(),
                                      [&](Settings& s) {
                                        s.starttls = StartTls::kAlways;
                                        s.ca_file = server.certificate().string();
                                      }),
                               context_);
  Delivery d = Deliver(*verified, Sample());
  ASSERT_EQ(d.outcome, Delivery::Outcome::kDelivered) << d.error << "\n" << server.Log();

  // auto: TLS when the server offers it.
  auto automatic = MakeReceiver(Config(server.Url(),
                                       [&](Settings& s) {
                                         s.starttls = StartTls::kAuto;
                                         s.ca_file = server.certificate().string();
                                       }),
                                context_);
  d = Deliver(*automatic, Sample());
  ASSERT_EQ(d.outcome, Delivery::Outcome::kDelivered) << d.error << "\n" << server.Log();
  ASSERT_EQ(server.MessageCount(), 2u);
  EXPECT_EQ(server.Envelope(1)["tls"], true);
  EXPECT_EQ(server.Envelope(2)["tls"], true);

  // Without the CA the self-signed certificate is not trusted.
  auto untrusted = MakeReceiver(
      Config(server.Url(), [](Settings& s) { s.starttls = StartTls::kAlways; }), context_);
  d = Deliver(*untrusted, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kRetry);
  EXPECT_NE(d.error.find("not trusted"), std::string::npos) << d.error;
  EXPECT_EQ(server.MessageCount(), 2u);
}

TEST_F(EmailReceiverTest, StartTlsAlwaysFailsWhenNotOffered) {
  SmtpServer server;
  std::string error;
  ASSERT_TRUE(server.Start({}, &error)) << error;
  auto receiver = MakeReceiver(
      Config(server.Url(), [](Settings& s) { s.starttls = StartTls::kAlways; }), context_);
  const Delivery d = Deliver(*receiver, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kFailed);
  EXPECT_NE(d.error.find("STARTTLS"), std::string::npos) << d.error;
  EXPECT_EQ(server.MessageCount(), 0u);
}

TEST_F(EmailReceiverTest, ImplicitTls) {
  SmtpServer server;
  std::string error;
  ASSERT_TRUE(server.Start(WithTls("implicit"), &error)) << error;
  auto receiver = MakeReceiver(Config(server.Url("smtps"),
                                      [&](Settings& s) {
                                        s.starttls = StartTls::kAuto;
                                        s.ca_file = server.certificate().string();
                                      }),
                               context_);
  const Delivery d = Deliver(*receiver, Sample());
  ASSERT_EQ(d.outcome, Delivery::Outcome::kDelivered) << d.error << "\n" << server.Log();
  ASSERT_EQ(server.MessageCount(), 1u);
  EXPECT_EQ(server.Envelope(1)["tls"], true);
}

TEST_F(EmailReceiverTest, AuthSucceedsAndFailsWithoutShowingThePassword) {
  SmtpServer server;
  std::string error;
  ServerOptions options = WithTls("starttls", true);
  options.auth = "kpid:" + std::string(kPassword);
  ASSERT_TRUE(server.Start(options, &error)) << error;
  const auto with_password = [&](std::string password) {
    return Config(server.Url(), [&, password](Settings& s) {
      s.starttls = StartTls::kAlways;
      s.insecure_skip_verify = true;
      s.username = "kpid";
      s.password = config::Secret(password);
    });
  };
  auto good = MakeReceiver(with_password(std::string(kPassword)), context_);
  Delivery d = Deliver(*good, Sample());
  ASSERT_EQ(d.outcome, Delivery::Outcome::kDelivered) << d.error << "\n" << server.Log();
  ASSERT_EQ(server.MessageCount(), 1u);
  EXPECT_EQ(server.Envelope(1)["login"], "kpid");

  const std::string wrong = "wrong-password-42";
  auto bad = MakeReceiver(with_password(wrong), context_);
  d = Deliver(*bad, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kFailed);
  EXPECT_NE(d.error.find("email \"ops-mail\""), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("535"), std::string::npos) << d.error;
  EXPECT_EQ(d.error.find(wrong), std::string::npos) << d.error;
  EXPECT_EQ(d.error.find(kPassword), std::string::npos) << d.error;
  EXPECT_EQ(server.MessageCount(), 1u);
}

TEST_F(EmailReceiverTest, RejectedRecipientIsPermanentTemporaryIsRetried) {
  SmtpServer server;
  std::string error;
  ServerOptions options;
  options.rejects = {"550:nobody@example.com", "451:busy@example.com"};
  ASSERT_TRUE(server.Start(options, &error)) << error;
  auto rejected = MakeReceiver(Config(server.Url(),
                                      [](Settings& s) {
                                        s.to = {"ops@example.com", "nobody@example.com"};
                                      }),
                               context_);
  Delivery d = Deliver(*rejected, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kFailed);
  EXPECT_NE(d.error.find("SMTP 550"), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("Recipient address rejected"), std::string::npos) << d.error;

  auto busy = MakeReceiver(Config(server.Url(), [](Settings& s) { s.to = {"busy@example.com"}; }),
                           context_);
  d = Deliver(*busy, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kRetry);
  EXPECT_NE(d.error.find("SMTP 451"), std::string::npos) << d.error;
  EXPECT_EQ(server.MessageCount(), 0u);
}

TEST_F(EmailReceiverTest, ServerDownIsRetried) {
  const int port = kpid::testing::FreePort();
  auto receiver = MakeReceiver(
      Config("smtp://kpid:" + std::string(kPassword) + "@127.0.0.1:" + std::to_string(port),
             [](Settings& s) {
               s.username = "kpid";
               s.password = config::Secret(std::string(kPassword));
             }),
      context_);
  const Delivery d = Deliver(*receiver, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kRetry);
  EXPECT_NE(d.error.find("cannot connect to 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << d.error;
  EXPECT_EQ(d.error.find(kPassword), std::string::npos) << d.error;
}

// A peer that accepts the connection (the kernel does) but never greets.
// A peer that accepts connections but never says a word.
class SilentPeer {
 public:
  explicit SilentPeer(boost::asio::io_context& io)
      : acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), 0}), socket_(io) {
    acceptor_.async_accept(socket_,
                           [this](boost::system::error_code error) { accepted_ = !error; });
  }
  std::string Url() const {
    return "smtp://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  bool accepted() const { return accepted_; }

 private:
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::socket socket_;
  bool accepted_ = false;
};

TEST_F(EmailReceiverTest, TimeoutIsRetried) {
  SilentPeer peer(io_);
  config::Receiver config = Config(peer.Url());
  config.timeout = 300ms;
  auto receiver = MakeReceiver(config, context_);
  const Delivery d = Deliver(*receiver, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kRetry);
  EXPECT_NE(d.error.find("timeout after"), std::string::npos) << d.error;
}

TEST_F(EmailReceiverTest, DestroyingTheReceiverAbandonsTheAttempt) {
  SilentPeer peer(io_);
  config::Receiver config = Config(peer.Url());
  config.timeout = 120s;
  auto receiver = MakeReceiver(config, context_);
  int calls = 0;
  receiver->Send(Sample(), [&](Delivery) { ++calls; });
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!peer.accepted() && std::chrono::steady_clock::now() < deadline) io_.run_for(20ms);
  ASSERT_TRUE(peer.accepted());
  // The attempt waits for a greeting that never comes; destruction ends it, well before
  // its two-minute timeout.
  const auto before = std::chrono::steady_clock::now();
  receiver.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 60s);
  io_.restart();
  io_.poll();
  EXPECT_EQ(calls, 0);
}

// The server takes its time to accept the message; the io thread goes on meanwhile.
TEST_F(EmailReceiverTest, ASlowServerDoesNotStallTheIoThread) {
  SmtpServer server;
  std::string error;
  ServerOptions options;
  options.hold = true;
  ASSERT_TRUE(server.Start(options, &error)) << error;
  auto receiver = MakeReceiver(Config(server.Url()), context_);
  std::optional<Delivery> result;
  receiver->Send(Sample(), [&](Delivery d) { result = std::move(d); });
  const auto work = boost::asio::make_work_guard(io_);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!server.Holding() && !result && std::chrono::steady_clock::now() < deadline) {
    io_.run_for(20ms);
  }
  ASSERT_TRUE(server.Holding()) << (result ? result->error : "") << server.Log();

  bool probed = false;
  boost::asio::post(io_, [&] { probed = true; });
  while (!probed && !result && std::chrono::steady_clock::now() < deadline) io_.run_one_for(1s);
  EXPECT_TRUE(probed);
  EXPECT_FALSE(result.has_value()) << "delivered before the server answered";

  server.Release();
  while (!result && std::chrono::steady_clock::now() < deadline) io_.run_one_for(1s);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome, Delivery::Outcome::kDelivered) << result->error;
  EXPECT_EQ(server.MessageCount(), 1u);
}

TEST(EmailMessageTest, HeadersAndEncoding) {
  Notification n = Sample();
  const std::string m = ComposeMessage(
      n, "kpid@example.com", {"a@example.com", "b@example.com"},
      At(2026, 5, 5) + std::chrono::hours(14) + std::chrono::minutes(3) + std::chrono::seconds(7),
      0x0123456789abcdefULL);
  EXPECT_TRUE(m.starts_with("Date: Tue, 05 May 2026 14:03:07 +0000\r\n")) << m.substr(0, 60);
  EXPECT_NE(m.find("\r\nSubject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(m.find("\r\nContent-Type: multipart/alternative; boundary=\"=_kpid_0123456789abcdef\""),
            std::string::npos);
  EXPECT_NE(m.find("\r\nMessage-ID: <"), std::string::npos);
  // CRLF everywhere, no line over 76 characters (quoted-printable and folded headers).
  std::size_t start = 0;
  while (start < m.size()) {
    const std::size_t end = m.find("\r\n", start);
    ASSERT_NE(end, std::string::npos) << "unterminated last line";
    const std::string_view line(m.data() + start, end - start);
    EXPECT_EQ(line.find_first_of("\r\n"), std::string_view::npos);
    EXPECT_LE(line.size(), 78u) << line;
    EXPECT_FALSE(line.starts_with(".")) << line;
    start = end + 2;
  }

  // Unfolded, the header is the subject: encoded words (the title has non-ASCII
  // characters), or plain ASCII folded on spaces.
  const auto subject_header = [](const std::string& message) {
    std::size_t at = message.find("\r\nSubject:") + 2;
    std::string header;
    while (true) {
      const std::size_t end = message.find("\r\n", at);
      header += message.substr(at, end - at);
      at = end + 2;
      if (message[at] != ' ') break;
    }
    return header;
  };
  EXPECT_TRUE(subject_header(m).starts_with("Subject: =?UTF-8?B?")) << subject_header(m);
  n.alerts[0].figures.title = "Quarterly revenue of the whole company across every region";
  const std::string ascii =
      ComposeMessage(n, "k@example.com", {"a@example.com"}, At(2026, 1, 1), 1);
  EXPECT_EQ(subject_header(ascii), "Subject: " + Subject(n));
  EXPECT_NE(ascii.find("\r\nSubject: [FIRING] Quarterly revenue of the whole company across "
                       "every region\r\n is off track"),
            std::string::npos)
      << ascii.substr(0, 400);
}

}  // namespace
}  // namespace kpid::notify::email
