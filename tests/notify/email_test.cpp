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
#include "daemon/notify/notify_test.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/smtp_server.hpp"

namespace kpid::notify::email {
namespace {

using namespace std::chrono_literals;
using kpid::testing::RunCommand;
using kpid::testing::SmtpServer;
using kpid::testing::SmtpServerOptions;
using kpid::testing::Subprocess;
using kpid::testing::TempDir;
using kpid::testing::WaitFor;

constexpr std::string_view kPassword = "hunter2-very-secret";

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

// `kpid notify-test` waits for the SMTP session, which runs on a thread of its own while
// the io_context has nothing else to do (it once gave up at once: "did not answer").
TEST_F(EmailReceiverTest, NotifyTestWaitsForTheEmail) {
  SmtpServer server;
  std::string error;
  ASSERT_TRUE(server.Start({}, &error)) << error;
  config::Config config;
  config.path = "test.toml";
  config.receivers.push_back(Config(server.Url()));
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunNotifyTest(config, "ops-mail", out, err), 0) << err.str() << server.Log();
  EXPECT_NE(out.str().find("delivered to receiver \"ops-mail\""), std::string::npos) << out.str();
  EXPECT_EQ(server.MessageCount(), 1u);
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
  ASSERT_TRUE(server.Start(kpid::testing::SmtpWithTls("starttls", true), &error)) << error;
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
  ASSERT_TRUE(server.Start(kpid::testing::SmtpWithTls("starttls"), &error)) << error;
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
  ASSERT_TRUE(server.Start(kpid::testing::SmtpWithTls("implicit"), &error)) << error;
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
  SmtpServerOptions options = kpid::testing::SmtpWithTls("starttls", true);
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

TEST_F(EmailReceiverTest, AutoStartTlsNeverSendsAPasswordInCleartext) {
  SmtpServer server;  // no TLS at all, but it would take AUTH in the clear
  std::string error;
  SmtpServerOptions options;
  options.auth = "kpid:" + std::string(kPassword);
  ASSERT_TRUE(server.Start(options, &error)) << error;
  const auto with = [&](StartTls starttls) {
    return Config(server.Url(), [&, starttls](Settings& s) {
      s.starttls = starttls;
      s.username = "kpid";
      s.password = config::Secret(std::string(kPassword));
    });
  };
  auto careful = MakeReceiver(with(StartTls::kAuto), context_);
  Delivery d = Deliver(*careful, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kFailed);
  EXPECT_NE(d.error.find("does not offer STARTTLS, which is required to send credentials"),
            std::string::npos)
      << d.error;
  EXPECT_EQ(server.MessageCount(), 0u);
  // Cleartext only when the config says so.
  auto told = MakeReceiver(with(StartTls::kNever), context_);
  d = Deliver(*told, Sample());
  EXPECT_EQ(d.outcome, Delivery::Outcome::kDelivered) << d.error << "\n" << server.Log();
  ASSERT_EQ(server.MessageCount(), 1u);
  EXPECT_EQ(server.Envelope(1)["login"], "kpid");
}

TEST_F(EmailReceiverTest, RejectedRecipientIsPermanentTemporaryIsRetried) {
  SmtpServer server;
  std::string error;
  SmtpServerOptions options;
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
  SmtpServerOptions options;
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
