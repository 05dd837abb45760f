#include "daemon/notify/slack/receiver.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include "daemon/config/duration.hpp"
#include "daemon/notify/message.hpp"
#include "daemon/notify/slack/settings.hpp"

namespace kpid::notify::slack {
namespace {

using collectors::http::CurlMulti;
using collectors::http::EasyHandle;
using collectors::http::Slist;
using Json = nlohmann::json;

// Slack's Block Kit limits.
constexpr std::size_t kMaxBlocks = 50;
constexpr std::size_t kMaxFields = 10;
constexpr std::size_t kMaxHeader = 150;
constexpr std::size_t kMaxSectionText = 3000;
constexpr std::size_t kMaxFieldText = 2000;
constexpr std::size_t kMaxFallbackText = 3000;

constexpr std::size_t kMaxBody = 4096;  // of a response kept for the error message
constexpr std::size_t kMaxExcerpt = 80;
constexpr std::size_t kMinSecretLength = 4;
constexpr std::string_view kUserAgent = "kpid/" KPID_VERSION;

// mrkdwn gives &, < and > a meaning; everything else is shown as written.
std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

// A URL inside <url|text>: the characters that would end it are percent-encoded.
std::string LinkTarget(std::string_view url) {
  std::string out;
  for (const char c : url) {
    if (c == '|') {
      out += "%7C";
    } else if (c == '<') {
      out += "%3C";
    } else if (c == '>') {
      out += "%3E";
    } else if (c == ' ') {
      out += "%20";
    } else {
      out += c;
    }
  }
  return out;
}

bool IsWebLink(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

std::string Link(std::string_view url, std::string_view text) {
  if (!IsWebLink(url)) return Escape(text);
  return "<" + LinkTarget(url) + "|" + Escape(text) + ">";
}

std::string_view Emoji(const Alert& alert) {
  if (const std::string_view event = EventName(alert); !event.empty()) {
    if (event == "restated") return ":memo:";
    if (!IsGoodNews(event)) return ":red_circle:";
    return event == "achieved" ? ":trophy:" : ":tada:";
  }
  if (!alert.firing) return ":white_check_mark:";
  const std::string_view status = alert.Label("status");
  const std::string_view severity = alert.Label("severity");
  // The status decides; a rule alert without one goes by its severity.
  const bool red =
      status.empty() ? severity == "critical" : (status == "off_track" || status == "missed");
  const bool amber =
      status.empty() ? severity == "warning" : (status == "at_risk" || status == "no_data");
  if (red) return ":red_circle:";
  if (amber) return ":large_orange_circle:";
  return ":large_blue_circle:";
}

Json Mrkdwn(std::string text) { return {{"type", "mrkdwn"}, {"text", std::move(text)}}; }

Json Context(std::string text) {
  return {{"type", "context"}, {"elements", Json::array({Mrkdwn(std::move(text))})}};
}

// A section (and a context with the link) for one alert.
std::vector<Json> AlertBlocks(const Notification& n, const Alert& alert) {
  const std::string link = AlertLink(n, alert);
  std::string text = std::string(Emoji(alert)) + " *" + Link(link, Headline(alert)) + "*";
  // A goal event's summary is its headline.
  if (const std::string_view summary = Summary(alert);
      !summary.empty() && EventName(alert).empty()) {
    text += "\n" + Escape(summary);
  }
  if (const std::string_view description = Description(alert); !description.empty()) {
    text += "\n" + Escape(description);
  }
  Json fields = Json::array();
  for (const Fact& fact : Facts(alert)) {
    if (fields.size() == kMaxFields) break;
    fields.push_back(
        Mrkdwn(TruncateText("*" + Escape(fact.name) + "*\n" + Escape(fact.value), kMaxFieldText)));
  }
  Json section = {{"type", "section"}, {"text", Mrkdwn(TruncateText(text, kMaxSectionText))}};
  if (!fields.empty()) section["fields"] = std::move(fields);
  std::vector<Json> blocks = {std::move(section)};
  if (IsWebLink(link)) blocks.push_back(Context(Link(link, "Open on the status page")));
  return blocks;
}

std::string_view StatusEmoji(std::string_view status) {
  if (status == "off_track" || status == "missed") return ":red_circle:";
  if (status == "at_risk" || status == "no_data") return ":large_orange_circle:";
  if (status == "on_track" || status == "achieved") return ":large_green_circle:";
  return ":white_circle:";
}

// A section for one KPI of a digest; the trend is a Unicode sparkline.
Json DigestBlock(const DigestKpi& kpi) {
  std::string text =
      std::string(StatusEmoji(kpi.status)) + " *" + Link(kpi.link, DigestHeadline(kpi)) + "*";
  Json fields = Json::array();
  for (const Fact& fact : DigestFacts(kpi)) {
    if (fields.size() == kMaxFields) break;
    fields.push_back(
        Mrkdwn(TruncateText("*" + Escape(fact.name) + "*\n" + Escape(fact.value), kMaxFieldText)));
  }
  Json section = {{"type", "section"}, {"text", Mrkdwn(TruncateText(text, kMaxSectionText))}};
  if (!fields.empty()) section["fields"] = std::move(fields);
  return section;
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

std::string UrlPart(CURLU* url, CURLUPart part) {
  char* text = nullptr;
  std::string out;
  if (curl_url_get(url, part, &text, 0) == CURLUE_OK && text != nullptr) out = text;
  curl_free(text);
  return out;
}

std::string OneLine(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

class SlackReceiver final : public Receiver {
 public:
  SlackReceiver(const config::Receiver& config, const ReceiverContext& context)
      : name_(config.name),
        settings_(std::dynamic_pointer_cast<const Settings>(config.settings)),
        timeout_(config.timeout),
        io_(context.io),
        curl_(context.curl) {
    if (!settings_) return;  // every Send() reports it
    const std::string& url = settings_->webhook_url.Reveal();
    secrets_.push_back(url);
    host_ = "the webhook host";
    if (const std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
        parsed && curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
      host_ = UrlPart(parsed.get(), CURLUPART_HOST);
      if (const std::string port = UrlPart(parsed.get(), CURLUPART_PORT); !port.empty()) {
        host_ += ":" + port;
      }
      const std::string path = UrlPart(parsed.get(), CURLUPART_PATH);
      secrets_.push_back(path);
      secrets_.push_back(UrlPart(parsed.get(), CURLUPART_QUERY));
      secrets_.push_back(UrlPart(parsed.get(), CURLUPART_PASSWORD));
      for (std::size_t start = 0; start < path.size();) {
        std::size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        secrets_.push_back(path.substr(start, end - start));
        start = end + 1;
      }
    }
    std::erase_if(secrets_, [](const std::string& s) { return s.size() < kMinSecretLength; });
    std::sort(secrets_.begin(), secrets_.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    curl_slist* list = nullptr;
    for (const char* header : {"Content-Type: application/json; charset=utf-8", "Accept:"}) {
      if (curl_slist* grown = curl_slist_append(list, header)) list = grown;
    }
    headers_.reset(list);
  }

  ~SlackReceiver() override {
    *live_ = false;
    for (const CurlMulti::RequestId id : in_flight_) curl_.Cancel(id);
  }

  SlackReceiver(const SlackReceiver&) = delete;
  SlackReceiver& operator=(const SlackReceiver&) = delete;

  void Send(const Notification& n, Done done) override;

 private:
  struct Attempt {
    std::string body;      // the request
    std::string response;  // the first kMaxBody bytes
    std::array<char, CURL_ERROR_SIZE> error{};
    CurlMulti::RequestId id = 0;
  };

  Delivery Fail(Delivery::Outcome outcome, const std::string& what) const {
    Delivery d;
    d.outcome = outcome;
    d.error = Redact("slack \"" + name_ + "\": " + what);
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

  Delivery Judge(CURLcode code, CURL* easy, const Attempt& attempt) const;

  std::string name_;
  std::shared_ptr<const Settings> settings_;
  config::Duration timeout_;
  boost::asio::io_context& io_;
  CurlMulti& curl_;
  std::string host_;                  // all an error may say about the URL
  std::vector<std::string> secrets_;  // longest first, for Redact()
  Slist headers_;
  std::shared_ptr<bool> live_ = std::make_shared<bool>(true);
  std::set<CurlMulti::RequestId> in_flight_;
};

void SlackReceiver::Send(const Notification& n, Done done) {
  if (!settings_) {
    Post(std::move(done), Fail(Delivery::Outcome::kFailed, "receiver has no slack settings"));
    return;
  }
  EasyHandle easy(curl_easy_init());
  if (!easy) {
    Post(std::move(done), Fail(Delivery::Outcome::kRetry, "cannot create a curl handle"));
    return;
  }
  auto attempt = std::make_shared<Attempt>();
  attempt->body = Payload(n).dump(-1, ' ', false, Json::error_handler_t::replace);

  CURL* h = easy.get();
  curl_easy_setopt(h, CURLOPT_URL, settings_->webhook_url.Reveal().c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect would carry the token away
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, attempt->body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(attempt->body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, kUserAgent.data());
  const long timeout_ms = static_cast<long>(timeout_.count());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, attempt->error.data());
  curl_easy_setopt(h, CURLOPT_WRITEDATA, attempt.get());
  curl_write_callback write = [](char* data, std::size_t size, std::size_t count,
                                 void* user) -> std::size_t {
    auto& a = *static_cast<Attempt*>(user);
    const std::size_t bytes = size * count;
    a.response.append(data, std::min(bytes, kMaxBody - std::min(kMaxBody, a.response.size())));
    return bytes;
  };
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write);

  attempt->id = curl_.Add(
      std::move(easy), [this, attempt, done = std::move(done)](CURLcode code, EasyHandle finished) {
        in_flight_.erase(attempt->id);
        Delivery delivery = Judge(code, finished.get(), *attempt);
        done(std::move(delivery));  // may destroy this receiver: nothing after it
      });
  in_flight_.insert(attempt->id);
}

Delivery SlackReceiver::Judge(CURLcode code, CURL* easy, const Attempt& attempt) const {
  const std::string detail =
      attempt.error[0] != '\0' ? attempt.error.data() : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OK:
      break;
    case CURLE_OPERATION_TIMEDOUT:
      return Fail(Delivery::Outcome::kRetry,
                  "timeout after " + config::FormatDuration(timeout_) + " posting to " + host_);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
      return Fail(Delivery::Outcome::kRetry, "cannot connect to " + host_ + ": " + detail);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Fail(Delivery::Outcome::kFailed, "cannot use the webhook URL: " + detail);
    case CURLE_PEER_FAILED_VERIFICATION:
      return Fail(Delivery::Outcome::kRetry,
                  "TLS certificate of " + host_ + " not trusted: " + detail);
    default:
      return Fail(Delivery::Outcome::kRetry, "posting to " + host_ + " failed: " + detail);
  }

  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) return {};
  std::string what = "HTTP " + std::to_string(status) + " from " + host_;
  // Redacted before it is cut, so that no half secret is left behind.
  if (const std::string body = OneLine(Redact(attempt.response)); !body.empty()) {
    what += ": \"" + TruncateText(body, kMaxExcerpt) + "\"";
  }
  const bool temporary = status == 429 || status >= 500;
  Delivery d = Fail(temporary ? Delivery::Outcome::kRetry : Delivery::Outcome::kFailed, what);
  curl_off_t retry_after = 0;
  if (temporary && curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
      retry_after > 0) {
    d.retry_after = std::chrono::seconds(retry_after);
  }
  return d;
}

}  // namespace

nlohmann::json Payload(const Notification& n) {
  const std::string subject = Subject(n);
  Json blocks = Json::array();
  blocks.push_back(
      {{"type", "header"},
       {"text",
        {{"type", "plain_text"}, {"text", TruncateText(subject, kMaxHeader)}, {"emoji", true}}}});
  if (n.test) blocks.push_back(Context(Escape(TestNotice(n))));
  if (n.digest) {
    const std::vector<DigestKpi>& kpis = n.digest->kpis;
    std::size_t shown = 0;
    // One block stays free for the "and N more" line.
    while (shown < kpis.size() && blocks.size() + (shown + 1 < kpis.size() ? 2 : 1) <= kMaxBlocks) {
      blocks.push_back(DigestBlock(kpis[shown++]));
    }
    if (shown < kpis.size()) {
      std::string text = "…and " + std::to_string(kpis.size() - shown) + " more KPIs";
      if (IsWebLink(n.external_url)) text += " on " + Link(n.external_url, "the status page");
      blocks.push_back(Context(std::move(text)));
    }
  }

  const std::vector<const Alert*> alerts = OrderedAlerts(n);
  std::size_t shown = 0;
  for (const Alert* alert : alerts) {
    std::vector<Json> more = AlertBlocks(n, *alert);
    // One block stays free for the "and N more" line.
    const bool last = shown + 1 == alerts.size();
    if (blocks.size() + more.size() > kMaxBlocks - (last ? 0 : 1)) break;
    for (Json& block : more) blocks.push_back(std::move(block));
    ++shown;
  }
  if (shown < alerts.size()) {
    std::string text = "…and " + std::to_string(alerts.size() - shown) + " more";
    if (IsWebLink(n.external_url)) text += " on " + Link(n.external_url, "the status page");
    blocks.push_back(Context(std::move(text)));
  }
  return {{"text", Escape(TruncateText(subject, kMaxFallbackText))}, {"blocks", std::move(blocks)}};
}

std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context) {
  return std::make_unique<SlackReceiver>(config, context);
}

}  // namespace kpid::notify::slack
