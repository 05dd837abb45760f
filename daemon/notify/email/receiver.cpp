#include "daemon/notify/email/receiver.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <list>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <boost/asio/post.hpp>
#include <date/date.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collectors/http/base64.hpp"
#include "daemon/config/duration.hpp"
#include "daemon/notify/email/settings.hpp"
#include "daemon/notify/message.hpp"
#include "daemon/web/escape.hpp"

namespace kpid::notify::email {
namespace {

using collectors::http::Base64;

using collectors::http::EasyHandle;
using collectors::http::Slist;

constexpr std::size_t kMinSecretLength = 4;       // shorter values cannot be credentials
constexpr std::size_t kMaxReply = 200;            // of an SMTP reply quoted in an error
constexpr std::size_t kEncodedWordBytes = 45;     // 60 base64 chars: a 75-char encoded word
constexpr std::size_t kEncodedWordOverhead = 12;  // "=?UTF-8?B?" and "?="
constexpr std::size_t kHeaderWidth = 78;
constexpr std::size_t kQpWidth = 76;

std::string Hex64(std::uint64_t v) {
  std::array<char, 17> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%016llx", static_cast<unsigned long long>(v));
  return buffer.data();
}

// RFC 5322 section 3.3, always in UTC: "Tue, 05 May 2026 14:03:07 +0000". Spelled out
// rather than strftime'd, so that no locale can change the names.
std::string MailDate(TimePoint t) {
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                            "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = std::chrono::floor<date::days>(t);
  const date::year_month_day ymd(day);
  const date::hh_mm_ss time(std::chrono::floor<std::chrono::seconds>(t - day));
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%s, %02u %s %04d %02d:%02d:%02d +0000",
                kDays[date::weekday(day).c_encoding()].data(), static_cast<unsigned>(ymd.day()),
                kMonths[static_cast<unsigned>(ymd.month()) - 1].data(),
                static_cast<int>(ymd.year()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()));
  return buffer.data();
}

// Bytes of the UTF-8 character that starts at `at` (1 for a stray byte).
std::size_t CharSize(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  std::size_t size = 1;
  if (lead >= 0xc0 && lead <= 0xdf) {
    size = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    size = 3;
  } else if (lead >= 0xf0 && lead <= 0xf7) {
    size = 4;
  }
  return std::min(size, text.size() - at);
}

// "Name: value" folded to lines of 78 characters where it has spaces; as RFC 2047
// encoded words (UTF-8, base64), one per line, if it has anything but printable ASCII.
std::string Header(std::string_view name, std::string_view value) {
  const bool plain =
      value.find("=?") == std::string_view::npos &&
      std::all_of(value.begin(), value.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
      });
  std::string out = std::string(name) + ":";
  if (!plain) {
    // Encoded words never split a character (RFC 2047 section 5); each line holds one
    // word of at most 75 characters and stays within 78.
    for (std::size_t at = 0; at < value.size();) {
      const std::size_t indent = at == 0 ? out.size() + 1 : 1;
      const std::size_t budget =
          std::min(kEncodedWordBytes, (kHeaderWidth - indent - kEncodedWordOverhead) / 4 * 3);
      std::size_t end = at;
      while (end < value.size() && end - at + CharSize(value, end) <= budget) {
        end += CharSize(value, end);
      }
      if (end == at) end += CharSize(value, at);  // cannot happen with UTF-8's 4 bytes
      if (at > 0) out += "\r\n";
      out += " =?UTF-8?B?" + Base64(value.substr(at, end - at)) + "?=";
      at = end;
    }
    return out + "\r\n";
  }
  std::size_t line = out.size();
  for (std::size_t at = 0; at <= value.size();) {
    std::size_t end = value.find(' ', at);
    if (end == std::string_view::npos) end = value.size();
    const std::string_view word = value.substr(at, end - at);
    if (line + 1 + word.size() > kHeaderWidth && line > name.size() + 1) {
      out += "\r\n";
      line = 0;
    }
    out += " ";
    out += word;
    line += 1 + word.size();
    at = end + 1;
  }
  return out + "\r\n";
}

// Quoted-printable (RFC 2045 section 6.7) of text with any line endings: CRLF hard line
// breaks, soft breaks keep lines within 76 characters. A '.' starting a line is encoded
// too, so no line of the body can look like the end of DATA to a careless relay.
std::string QuotedPrintable(std::string_view text) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  std::size_t column = 0;
  const auto emit = [&](std::string_view token) {
    if (column + token.size() > kQpWidth - 1) {  // room for the soft break's '='
      out += "=\r\n";
      column = 0;
    }
    out += token;
    column += token.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
      column = 0;
      continue;
    }
    const auto byte = static_cast<unsigned char>(c);
    const bool line_end = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    const bool literal =
        (byte >= 33 && byte <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end);
    if (literal && !(c == '.' && column == 0)) {
      const std::array<char, 1> one = {c};
      emit(std::string_view(one.data(), 1));
    } else {
      const std::array<char, 3> encoded = {'=', kHex[byte >> 4], kHex[byte & 0xf]};
      emit(std::string_view(encoded.data(), encoded.size()));
    }
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

// Escaped, with line breaks as <br>.
std::string HtmlLines(std::string_view text) {
  std::string out;
  for (std::size_t at = 0; at <= text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (at > 0) out += "<br>";
    out += web::Escape(line);
    at = end + 1;
  }
  return out;
}

// Only web links become anchors: a label cannot smuggle in a javascript: URL.
bool IsWebLink(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

std::string Colour(const Alert& alert) {
  if (const std::string_view event = EventName(alert); !event.empty()) {
    if (event == "restated") return "#ef6c00";  // amber: news about the past, not a miss
    return IsGoodNews(event) ? "#2e7d32" : "#c62828";
  }
  if (!alert.firing) return "#2e7d32";
  const std::string_view status = alert.Label("status");
  const std::string_view severity = alert.Label("severity");
  // The status decides; a rule alert without one goes by its severity.
  const bool red =
      status.empty() ? severity == "critical" : (status == "off_track" || status == "missed");
  const bool amber =
      status.empty() ? severity == "warning" : (status == "at_risk" || status == "no_data");
  if (red) return "#c62828";
  if (amber) return "#ef6c00";
  return "#455a64";
}

void AppendAlertHtml(std::string& out, const Notification& n, const Alert& alert) {
  const std::string colour = Colour(alert);
  const std::string link = AlertLink(n, alert);
  const std::string headline = web::Escape(Headline(alert));
  out += "<div style=\"border-left:4px solid " + colour +
         ";padding:4px 12px;margin:0 0 16px 0;\">\r\n";
  out += "<p style=\"font-size:16px;font-weight:bold;margin:0 0 8px 0;color:" + colour + ";\">";
  if (IsWebLink(link)) {
    out += "<a href=\"" + web::Escape(link) + "\" style=\"color:" + colour + ";\">" + headline +
           "</a>";
  } else {
    out += headline;
  }
  out += "</p>\r\n";
  // A goal event's summary is its headline.
  if (const std::string_view summary = Summary(alert);
      !summary.empty() && EventName(alert).empty()) {
    out += "<p style=\"margin:0 0 8px 0;\">" + HtmlLines(summary) + "</p>\r\n";
  }
  if (const std::string_view description = Description(alert); !description.empty()) {
    out += "<p style=\"margin:0 0 8px 0;color:#444;\">" + HtmlLines(description) + "</p>\r\n";
  }
  out += "<table style=\"border-collapse:collapse;font-size:14px;\">\r\n";
  for (const Fact& fact : Facts(alert)) {
    out +=
        "<tr><th style=\"text-align:left;vertical-align:top;padding:2px 16px 2px 0;"
        "color:#555;font-weight:normal;\">" +
        web::Escape(fact.name) + "</th><td style=\"padding:2px 0;\">" + HtmlLines(fact.value) +
        "</td></tr>\r\n";
  }
  out += "</table>\r\n";
  if (IsWebLink(link)) {
    out += "<p style=\"margin:8px 0 0 0;\"><a href=\"" + web::Escape(link) +
           "\">Open on the status page</a></p>\r\n";
  }
  out += "</div>\r\n";
}

std::string StatusColour(std::string_view status) {
  if (status == "off_track" || status == "missed") return "#c62828";
  if (status == "at_risk" || status == "no_data") return "#ef6c00";
  if (status == "on_track" || status == "achieved") return "#2e7d32";
  return "#455a64";
}

// A bar chart of the trend as table cells: mail clients drop SVG and scripts, but draw
// fixed-height blocks. Scaled between the min and max like the text sparkline.
std::string TrendBars(const std::vector<double>& values, const std::string& colour) {
  const std::vector<double> scaled = ScaledTrend(values);
  if (std::all_of(scaled.begin(), scaled.end(), [](double x) { return std::isnan(x); })) return {};
  constexpr int kHeight = 28;
  std::string out =
      "<table role=\"img\" aria-label=\"trend\" cellpadding=\"0\" cellspacing=\"0\" "
      "style=\"border-collapse:collapse;\"><tr>";
  for (double x : scaled) {
    const int h = 2 + static_cast<int>((std::isnan(x) ? 0.0 : x) * (kHeight - 2));
    out += "<td style=\"vertical-align:bottom;padding:0 1px;height:" + std::to_string(kHeight) +
           "px;\"><div style=\"width:5px;height:" + std::to_string(h) +
           "px;background:" + (std::isnan(x) ? std::string("#ddd") : colour) + ";\"></div></td>";
  }
  out += "</tr></table>";
  return out;
}

void AppendDigestHtml(std::string& out, const DigestKpi& kpi) {
  const std::string colour = StatusColour(kpi.status);
  out += "<div style=\"border-left:4px solid " + colour +
         ";padding:4px 12px;margin:0 0 16px 0;\">\r\n";
  out += "<p style=\"font-size:16px;font-weight:bold;margin:0 0 8px 0;color:" + colour + ";\">";
  const std::string headline = web::Escape(DigestHeadline(kpi));
  if (IsWebLink(kpi.link)) {
    out += "<a href=\"" + web::Escape(kpi.link) + "\" style=\"color:" + colour + ";\">" + headline +
           "</a>";
  } else {
    out += headline;
  }
  out += "</p>\r\n<table style=\"border-collapse:collapse;font-size:14px;\">\r\n";
  for (const Fact& fact : DigestFacts(kpi)) {
    const std::string value =
        fact.name == "Trend" ? TrendBars(kpi.trend, colour) : HtmlLines(fact.value);
    if (value.empty()) continue;
    out +=
        "<tr><th style=\"text-align:left;vertical-align:top;padding:2px 16px 2px 0;"
        "color:#555;font-weight:normal;\">" +
        web::Escape(fact.name) + "</th><td style=\"padding:2px 0;\">" + value + "</td></tr>\r\n";
  }
  out += "</table>\r\n</div>\r\n";
}

std::string HostPort(const std::string& url) {
  struct UrlDeleter {
    void operator()(CURLU* u) const { curl_url_cleanup(u); }
  };
  const std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return "the SMTP server";
  }
  std::string out;
  for (const CURLUPart part : {CURLUPART_HOST, CURLUPART_PORT}) {
    char* text = nullptr;
    // Defaults fill in the port: smtp:// is 25, smtps:// 465.
    if (curl_url_get(parsed.get(), part, &text, CURLU_DEFAULT_PORT) == CURLUE_OK && text) {
      out += (out.empty() ? "" : ":") + std::string(text);
    }
    curl_free(text);
  }
  return out.empty() ? "the SMTP server" : out;
}

std::string UrlPassword(const std::string& url) {
  struct UrlDeleter {
    void operator()(CURLU* u) const { curl_url_cleanup(u); }
  };
  const std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return {};
  }
  char* text = nullptr;
  std::string out;
  if (curl_url_get(parsed.get(), CURLUPART_PASSWORD, &text, CURLU_URLDECODE) == CURLUE_OK && text) {
    out = text;
  }
  curl_free(text);
  return out;
}

std::string OneLineExcerpt(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\r' || c == '\n') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return TruncateText(out, kMaxReply);
}

class EmailReceiver final : public Receiver {
 public:
  EmailReceiver(const config::Receiver& config, const ReceiverContext& context)
      : name_(config.name),
        settings_(std::dynamic_pointer_cast<const Settings>(config.settings)),
        timeout_(config.timeout),
        io_(context.io),
        random_(std::random_device()()) {
    collectors::http::EnsureCurlGlobalInit();
    if (!settings_) return;  // every Send() reports it
    where_ = HostPort(settings_->smtp_url.Reveal());
    implicit_tls_ = settings_->smtp_url.Reveal().starts_with("smtps://");
    // starttls = "auto" must not hand a password to a server (or a man in the middle)
    // that does not offer STARTTLS.
    tls_required_ =
        settings_->starttls == StartTls::kAlways ||
        (settings_->starttls == StartTls::kAuto &&
         (!settings_->username.empty() || !UrlPassword(settings_->smtp_url.Reveal()).empty()));
    secrets_.push_back(UrlPassword(settings_->smtp_url.Reveal()));
    if (settings_->password) {
      const std::string& password = settings_->password->Reveal();
      const std::string& user = settings_->username;
      secrets_.push_back(password);
      secrets_.push_back(Base64(password));                                       // AUTH LOGIN
      secrets_.push_back(Base64(std::string(1, '\0') + user + '\0' + password));  // PLAIN
      secrets_.push_back(Base64(user + '\0' + user + '\0' + password));
    }
    std::erase_if(secrets_, [](const std::string& s) { return s.size() < kMinSecretLength; });
    std::sort(secrets_.begin(), secrets_.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  }

  // Abandons the attempts in flight: their sockets are shut down, so that their threads
  // end at once, and joined.
  ~EmailReceiver() override {
    *live_ = false;
    for (Worker& worker : workers_) worker.attempt->Abandon();
    for (Worker& worker : workers_) worker.thread.join();
  }

  EmailReceiver(const EmailReceiver&) = delete;
  EmailReceiver& operator=(const EmailReceiver&) = delete;

  void Send(const Notification& n, Done done) override;

 private:
  // One attempt, shared by its thread and the receiver; curl's callbacks point into it.
  struct Attempt {
    std::string message;
    std::size_t sent = 0;
    Slist recipients;
    std::array<char, CURL_ERROR_SIZE> error{};
    std::string error_reply;  // the server's first 4xx or 5xx reply line
    std::atomic<bool> abandoned{false};
    std::mutex mutex;                        // guards `socket` against its close
    curl_socket_t socket = CURL_SOCKET_BAD;  // the connection's (one per attempt)

    void Abandon() {
      abandoned = true;
      const std::lock_guard lock(mutex);
      if (socket != CURL_SOCKET_BAD) ::shutdown(socket, SHUT_RDWR);
    }
  };

  struct Worker {
    std::uint64_t id = 0;
    std::shared_ptr<Attempt> attempt;
    std::thread thread;
  };

  Delivery Fail(Delivery::Outcome outcome, const std::string& what) const {
    Delivery d;
    d.outcome = outcome;
    d.error = Redact("email \"" + name_ + "\": " + what);
    return d;
  }

  std::string Redact(std::string text) const {
    return config::RedactSecrets(std::move(text), secrets_);
  }

  void Post(Done done, Delivery delivery) {
    boost::asio::post(
        io_, [live = live_, done = std::move(done), delivery = std::move(delivery)]() mutable {
          if (*live) done(std::move(delivery));
        });
  }

  EasyHandle Prepare(Attempt& attempt) const;
  Delivery Judge(CURLcode code, CURL* easy, const Attempt& attempt) const;
  // On the io thread, after worker `id` posted its result: joins it.
  void Reap(std::uint64_t id);

  std::string name_;
  std::shared_ptr<const Settings> settings_;
  config::Duration timeout_;
  boost::asio::io_context& io_;
  std::mt19937_64 random_;
  std::string where_;
  bool implicit_tls_ = false;
  bool tls_required_ = false;                                  // STARTTLS or nothing
  std::vector<std::string> secrets_;                           // longest first, for Redact()
  std::shared_ptr<bool> live_ = std::make_shared<bool>(true);  // read on the io thread only
  std::uint64_t next_worker_ = 1;
  std::list<Worker> workers_;
};

void EmailReceiver::Send(const Notification& n, Done done) {
  if (!settings_) {
    Post(std::move(done), Fail(Delivery::Outcome::kFailed, "receiver has no email settings"));
    return;
  }
  const Settings& s = *settings_;
  auto attempt = std::make_shared<Attempt>();
  attempt->message = ComposeMessage(n, s.from, s.to, std::chrono::system_clock::now(), random_());
  EasyHandle easy = Prepare(*attempt);
  if (!easy) {
    Post(std::move(done), Fail(Delivery::Outcome::kRetry, "cannot create a curl handle"));
    return;
  }
  // libcurl (7.88) waits for the reply to the end of the message, and for the reply to
  // QUIT, in blocking poll()s even under a multi handle: on the shared CurlMulti a slow
  // server would stall the io thread. Each attempt runs curl_easy_perform() on a thread of
  // its own instead and posts its result back.
  const std::uint64_t id = next_worker_++;
  Worker& worker = workers_.emplace_back(Worker{id, attempt, {}});
  try {
    worker.thread = std::thread([this, id, attempt, easy = std::move(easy), live = live_,
                                 done = std::move(done)]() mutable {
      const CURLcode code = curl_easy_perform(easy.get());
      Delivery delivery = Judge(code, easy.get(), *attempt);
      easy.reset();
      // The receiver joins this thread before it goes: `this` and io_ are alive here.
      boost::asio::post(io_, [this, id, live = std::move(live), done = std::move(done),
                              delivery = std::move(delivery)]() mutable {
        if (!*live) return;
        Reap(id);
        done(std::move(delivery));  // may destroy this receiver: nothing after it
      });
    });
  } catch (const std::system_error& e) {
    workers_.pop_back();
    Post(std::move(done),
         Fail(Delivery::Outcome::kRetry, std::string("cannot start a thread: ") + e.what()));
  }
}

void EmailReceiver::Reap(std::uint64_t id) {
  for (auto it = workers_.begin(); it != workers_.end(); ++it) {
    if (it->id == id) {
      it->thread.join();  // it has posted: it is ending
      workers_.erase(it);
      return;
    }
  }
}

EasyHandle EmailReceiver::Prepare(Attempt& attempt) const {
  const Settings& s = *settings_;
  EasyHandle easy(curl_easy_init());
  if (!easy) return easy;
  curl_slist* list = nullptr;
  for (const std::string& to : s.to) {
    if (curl_slist* grown = curl_slist_append(list, ("<" + to + ">").c_str())) list = grown;
  }
  attempt.recipients.reset(list);
  const std::string from = "<" + s.from + ">";

  CURL* h = easy.get();
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_URL, s.smtp_url.Reveal().c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  if (!implicit_tls_) {
    long use_ssl = tls_required_ ? CURLUSESSL_ALL : CURLUSESSL_TRY;
    if (s.starttls == StartTls::kNever) use_ssl = CURLUSESSL_NONE;
    curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl);
  }
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());  // curl copies option strings
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, attempt.recipients.get());
  if (!s.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, s.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, s.password ? s.password->Reveal().c_str() : "");
  }
  if (!s.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, s.ca_file.c_str());
  if (s.insecure_skip_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);  // one SMTP session per message
  const long timeout_ms = static_cast<long>(timeout_.count());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  // Bounds the wait for QUIT's reply too, which the overall timeout does not (curl's
  // default is 120 s).
  curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                   std::max(1L, static_cast<long>((timeout_ms + 999) / 1000)));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, attempt.error.data());

  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(attempt.message.size()));
  curl_easy_setopt(h, CURLOPT_READDATA, &attempt);
  curl_read_callback read = [](char* buffer, std::size_t size, std::size_t count,
                               void* user) -> std::size_t {
    auto& a = *static_cast<Attempt*>(user);
    const std::size_t bytes = std::min(size * count, a.message.size() - a.sent);
    a.message.copy(buffer, bytes, a.sent);
    a.sent += bytes;
    return bytes;
  };
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read);

  // Abandon(): curl checks this at least once a second, even in its blocking waits.
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &attempt);
  curl_xferinfo_callback progress = [](void* user, curl_off_t, curl_off_t, curl_off_t,
                                       curl_off_t) -> int {
    return static_cast<Attempt*>(user)->abandoned ? 1 : 0;
  };
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);

  // The socket, made and closed here, so that Abandon() can shut it down safely.
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &attempt);
  curl_opensocket_callback open = [](void* user, curlsocktype,
                                     curl_sockaddr* address) -> curl_socket_t {
    auto& a = *static_cast<Attempt*>(user);
    const std::lock_guard lock(a.mutex);
    if (a.abandoned) return CURL_SOCKET_BAD;
    const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    a.socket = fd;
    return fd;
  };
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open);
  curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, &attempt);
  curl_closesocket_callback close = [](void* user, curl_socket_t fd) -> int {
    auto& a = *static_cast<Attempt*>(user);
    const std::lock_guard lock(a.mutex);
    if (fd == a.socket) a.socket = CURL_SOCKET_BAD;
    return ::close(fd);
  };
  curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close);

  // The server's reply to what failed, for the error message: curl keeps only the code
  // of its last reply, which after a failure is the one to QUIT. Only incoming lines are
  // looked at, so the AUTH exchange's credentials never reach it.
  curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(h, CURLOPT_DEBUGDATA, &attempt);
  curl_debug_callback debug = [](CURL*, curl_infotype type, char* data, std::size_t size,
                                 void* user) -> int {
    auto& a = *static_cast<Attempt*>(user);
    const std::string_view line(data, size);
    if (type == CURLINFO_HEADER_OUT && line.starts_with("QUIT")) {
      // The message is delivered or failed by now: waiting for "221 Bye" (blocking, up to
      // the timeout) would only delay done().
      const std::lock_guard lock(a.mutex);
      if (a.socket != CURL_SOCKET_BAD) ::shutdown(a.socket, SHUT_RD);
      return 0;
    }
    if (type != CURLINFO_HEADER_IN || !a.error_reply.empty()) return 0;
    std::string_view reply = line;
    while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.remove_suffix(1);
    if (reply.size() >= 3 && (reply[0] == '4' || reply[0] == '5')) a.error_reply.assign(reply);
    return 0;
  };
  curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug);
  return easy;
}

Delivery EmailReceiver::Judge(CURLcode code, CURL* easy, const Attempt& attempt) const {
  if (code == CURLE_OK) return {};
  long reply = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply);
  const std::string detail =
      attempt.error[0] != '\0' ? attempt.error.data() : curl_easy_strerror(code);
  if (reply >= 400 && reply < 600) {
    std::string what = "SMTP " + std::to_string(reply) + " from " + where_;
    if (!attempt.error_reply.empty()) {
      what += ": \"" + OneLineExcerpt(attempt.error_reply) + "\"";
    }
    what += " (" + detail + ")";
    return Fail(reply < 500 ? Delivery::Outcome::kRetry : Delivery::Outcome::kFailed, what);
  }
  const std::string timeout = config::FormatDuration(timeout_);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Fail(Delivery::Outcome::kRetry,
                  "timeout after " + timeout + " talking to " + where_ + ": " + detail);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
      return Fail(Delivery::Outcome::kRetry, "cannot connect to " + where_ + ": " + detail);
    // Retried like a connection failure: fixing ca_file or the server's certificate lets
    // the queued notifications through.
    case CURLE_PEER_FAILED_VERIFICATION:
      return Fail(Delivery::Outcome::kRetry,
                  "TLS certificate of " + where_ + " not trusted: " + detail +
                      " (set ca_file to the CA that signed it, or insecure_skip_verify = true)");
    // Retrying cannot fix these: the settings or the server's set-up must change.
    case CURLE_USE_SSL_FAILED:
      return Fail(Delivery::Outcome::kFailed,
                  where_ + " does not offer STARTTLS, which is required " +
                      (settings_->starttls == StartTls::kAlways
                           ? std::string("(starttls = \"always\")")
                           : std::string("to send credentials (starttls = \"auto\" with a "
                                         "username; set starttls = \"never\" to allow "
                                         "cleartext)")) +
                      ": " + detail);
    case CURLE_SSL_CACERT_BADFILE:
      return Fail(Delivery::Outcome::kFailed,
                  "cannot use ca_file \"" + settings_->ca_file + "\": " + detail);
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
      return Fail(Delivery::Outcome::kFailed,
                  "authentication with " + where_ + " failed: " + detail);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:
      return Fail(Delivery::Outcome::kFailed, "cannot use smtp_url: " + detail);
    default:
      return Fail(Delivery::Outcome::kRetry, "sending to " + where_ + " failed: " + detail);
  }
}

}  // namespace

std::string HtmlBody(const Notification& n) {
  const std::string subject = web::Escape(Subject(n));
  std::string out =
      "<!DOCTYPE html>\r\n<html>\r\n<head>\r\n<meta charset=\"utf-8\">\r\n"
      "<meta name=\"viewport\" content=\"width=device-width\">\r\n<title>" +
      subject +
      "</title>\r\n</head>\r\n"
      "<body style=\"margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;"
      "color:#222;\">\r\n";
  out += "<h2 style=\"font-size:18px;margin:0 0 16px 0;\">" + subject + "</h2>\r\n";
  if (n.test) {
    out += "<p style=\"background:#e3f2fd;padding:8px 12px;margin:0 0 16px 0;\">" +
           web::Escape(TestNotice(n)) + "</p>\r\n";
  }
  if (n.digest) {
    for (const DigestKpi& kpi : n.digest->kpis) AppendDigestHtml(out, kpi);
    if (n.digest->kpis.empty()) out += "<p>No KPI matches this digest.</p>\r\n";
  }
  const std::vector<const Alert*> alerts = OrderedAlerts(n);
  std::size_t firing = 0;
  for (const Alert* a : alerts) firing += a->firing ? 1 : 0;
  const bool headings = alerts.size() > 1;
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    if (headings && i == 0 && firing > 0) {
      out += "<h3 style=\"font-size:15px;margin:0 0 8px 0;\">Firing (" + std::to_string(firing) +
             ")</h3>\r\n";
    }
    if (headings && i == firing) {
      out += "<h3 style=\"font-size:15px;margin:0 0 8px 0;\">Resolved (" +
             std::to_string(alerts.size() - firing) + ")</h3>\r\n";
    }
    AppendAlertHtml(out, n, *alerts[i]);
  }
  out += "<p style=\"color:#888;font-size:12px;margin:16px 0 0 0;\">Sent by kpid.";
  if (IsWebLink(n.external_url)) {
    out += " <a href=\"" + web::Escape(n.external_url) + "\" style=\"color:#888;\">Status page</a>";
  }
  out += "</p>\r\n</body>\r\n</html>\r\n";
  return out;
}

std::string ComposeMessage(const Notification& n, const std::string& from,
                           const std::vector<std::string>& to, TimePoint date,
                           std::uint64_t random) {
  // The same notification gets the same Message-ID on every attempt, so that a message
  // delivered twice (at least once: a lost reply to DATA) can be recognised as one.
  const std::string id = Fingerprint(ToJson(n).dump()) + "." + Fingerprint(n.group_key);
  // Quoted-printable never contains "=_", so the boundary cannot occur in a part.
  const std::string boundary = "=_kpid_" + Hex64(random);

  std::string to_line;
  for (const std::string& address : to) to_line += (to_line.empty() ? "" : ", ") + address;

  std::string out;
  out += "Date: " + MailDate(date) + "\r\n";
  out += Header("From", from);
  out += Header("To", to_line);
  out += Header("Subject", Subject(n));
  out += "Message-ID: <" + id + "@kpid>\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Auto-Submitted: auto-generated\r\n";
  out += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
  out += "\r\n";
  out += "--" + boundary + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += QuotedPrintable(TextBody(n));
  out += "--" + boundary + "\r\n";
  out += "Content-Type: text/html; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += QuotedPrintable(HtmlBody(n));
  out += "--" + boundary + "--\r\n";
  return out;
}

std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context) {
  return std::make_unique<EmailReceiver>(config, context);
}

}  // namespace kpid::notify::email
