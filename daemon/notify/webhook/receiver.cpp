#include "daemon/notify/webhook/receiver.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string_view>

#include <boost/asio/post.hpp>

#include "collectors/http/base64.hpp"
#include "collectors/http/json_value.hpp"
#include "daemon/config/duration.hpp"
#include "daemon/notify/webhook/payload.hpp"
#include "daemon/notify/webhook/settings.hpp"

namespace kpid::notify::webhook {
namespace {

using collectors::http::Base64;

using collectors::http::CurlMulti;
using collectors::http::EasyHandle;
using Outcome = Delivery::Outcome;

constexpr std::size_t kMaxResponse =
    std::size_t{64} * 1024;                  // response bytes kept; more aborts the read
constexpr std::size_t kMaxHeaderText = 128;  // of a reason phrase or Retry-After value
constexpr std::size_t kExcerpt = 200;        // of a response body, in messages
constexpr std::size_t kMinSecretLength = 4;  // shorter values cannot be credentials
constexpr std::chrono::milliseconds kDefaultTimeout{10000};
constexpr std::string_view kUserAgent = "kpid/" KPID_VERSION;

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using Url = std::unique_ptr<CURLU, UrlDeleter>;

std::string UrlPart(CURLU* url, CURLUPart part, unsigned int flags = 0) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, flags) != CURLUE_OK || text == nullptr) return {};
  std::string out(text);
  curl_free(text);
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// For statuses whose line carries no reason phrase (HTTP/2, terse servers).
std::string_view StandardReason(long status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

struct JsonPoster::Transfer {
  std::string body;      // what curl sends (CURLOPT_POSTFIELDS points here)
  std::string response;  // the first kMaxResponse bytes
  bool truncated = false;
  std::string reason;       // of the last status line
  std::string retry_after;  // of the last response
  std::chrono::milliseconds timeout{0};
  std::array<char, CURL_ERROR_SIZE> error{};
  CurlMulti::RequestId id = 0;

  static std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    const std::size_t room = kMaxResponse - t.response.size();
    if (n > room) {
      t.response.append(data, room);
      t.truncated = true;
      return 0;  // curl stops reading: CURLE_WRITE_ERROR, classified by the status
    }
    t.response.append(data, n);
    return n;
  }

  static std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    const std::string_view line = Trim(std::string_view(data, n));
    if (line.starts_with("HTTP/")) {  // a new response (after a 100 Continue, say)
      t.reason.clear();
      t.retry_after.clear();
      // "HTTP/1.1 503 Service Unavailable"
      const std::size_t code = line.find(' ');
      const std::size_t text = code == std::string_view::npos ? code : line.find(' ', code + 1);
      if (text != std::string_view::npos) {
        t.reason = Trim(line.substr(text + 1, kMaxHeaderText));
      }
    } else if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
      if (IEquals(Trim(line.substr(0, colon)), "Retry-After")) {
        t.retry_after = Trim(line.substr(colon + 1, kMaxHeaderText));
      }
    }
    return n;
  }
};

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    return std::chrono::seconds(seconds);
  }
  const std::string text(value);
  const time_t at = curl_getdate(text.c_str(), nullptr);
  if (at == -1) return std::nullopt;
  const auto wait =
      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::from_time_t(at) - now);
  return std::max(wait, std::chrono::seconds::zero());
}

JsonPoster::JsonPoster(Endpoint endpoint, const ReceiverContext& context)
    : endpoint_(std::move(endpoint)),
      io_(context.io),
      curl_(context.curl),
      label_(endpoint_.type + " \"" + endpoint_.name + "\"") {
  collectors::http::EnsureCurlGlobalInit();
  if (endpoint_.timeout <= std::chrono::milliseconds::zero()) endpoint_.timeout = kDefaultTimeout;
  const std::string& url = endpoint_.url.Reveal();
  secrets_.push_back(url);
  if (const Url parsed(curl_url());
      parsed && !url.empty() &&
      curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    peer_ = UrlPart(parsed.get(), CURLUPART_HOST) + ":" +
            UrlPart(parsed.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
    // Everything but the host may carry a token; curl sends userinfo as basic auth.
    const std::string user = UrlPart(parsed.get(), CURLUPART_USER, CURLU_URLDECODE);
    const std::string password = UrlPart(parsed.get(), CURLUPART_PASSWORD, CURLU_URLDECODE);
    secrets_.push_back(UrlPart(parsed.get(), CURLUPART_USER));
    secrets_.push_back(user);
    secrets_.push_back(UrlPart(parsed.get(), CURLUPART_PASSWORD));
    secrets_.push_back(password);
    if (!user.empty() || !password.empty()) secrets_.push_back(Base64(user + ":" + password));
    secrets_.push_back(UrlPart(parsed.get(), CURLUPART_PATH));  // Slack-style tokens
    secrets_.push_back(UrlPart(parsed.get(), CURLUPART_FRAGMENT));
    const std::string query = UrlPart(parsed.get(), CURLUPART_QUERY);
    secrets_.push_back(query);
    for (std::size_t start = 0; start < query.size();) {
      std::size_t end = query.find('&', start);
      if (end == std::string::npos) end = query.size();
      const std::string_view pair = std::string_view(query).substr(start, end - start);
      if (const auto eq = pair.find('='); eq != std::string_view::npos) {
        secrets_.emplace_back(pair.substr(eq + 1));
      }
      start = end + 1;
    }
  } else {
    invalid_ = url.empty() ? "no URL configured" : "the URL does not parse";
  }
  if (endpoint_.bearer_token) secrets_.push_back(endpoint_.bearer_token->Reveal());

  bool has_content_type = false;
  curl_slist* list = nullptr;
  const auto append = [&list](const std::string& line) {
    if (curl_slist* grown = curl_slist_append(list, line.c_str())) list = grown;
  };
  for (const auto& [name, value] : endpoint_.headers) {
    secrets_.push_back(value.Reveal());
    if (name.empty() || HasLineBreak(name) || name.find(':') != std::string::npos ||
        HasLineBreak(value.Reveal())) {
      // A line break would let the value inject headers; the value itself stays unsaid.
      invalid_ = "header \"" + collectors::http::Excerpt(name) + "\" is not a valid header";
      continue;
    }
    if (endpoint_.bearer_token && IEquals(name, "Authorization")) continue;
    has_content_type = has_content_type || IEquals(name, "Content-Type");
    // "Name;" is curl's way to send a header with an empty value.
    append(value.empty() ? name + ";" : name + ": " + value.Reveal());
  }
  if (endpoint_.bearer_token) {
    if (HasLineBreak(endpoint_.bearer_token->Reveal())) {
      invalid_ = "bearer_token is not a valid header value";
    } else {
      append("Authorization: Bearer " + endpoint_.bearer_token->Reveal());
    }
  }
  if (!has_content_type) append("Content-Type: application/json");
  append("Expect:");  // no 100-continue round trip before the body
  headers_.reset(list);

  std::erase_if(secrets_, [](const std::string& s) { return s.size() < kMinSecretLength; });
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

JsonPoster::~JsonPoster() {
  *alive_ = false;
  for (const CurlMulti::RequestId id : in_flight_) curl_.Cancel(id);
}

void JsonPoster::PostLater(Receiver::Done done, Delivery delivery) {
  boost::asio::post(
      io_, [alive = alive_, done = std::move(done), delivery = std::move(delivery)]() mutable {
        if (*alive) done(std::move(delivery));
      });
}

void JsonPoster::Post(std::string body, Receiver::Done done) {
  if (invalid_) {
    PostLater(std::move(done), Delivery{Outcome::kFailed, label_ + ": " + *invalid_, {}});
    return;
  }
  EasyHandle easy(curl_easy_init());
  if (!easy) {
    PostLater(std::move(done),
              Delivery{Outcome::kRetry, label_ + ": cannot create a curl handle", {}});
    return;
  }
  auto transfer = std::make_shared<Transfer>();
  transfer->body = std::move(body);
  transfer->timeout = endpoint_.timeout;

  CURL* h = easy.get();
  const auto timeout_ms = static_cast<long>(endpoint_.timeout.count());
  curl_easy_setopt(h, CURLOPT_URL, endpoint_.url.Reveal().c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, transfer->body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(transfer->body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, kUserAgent.data());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  if (!endpoint_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, endpoint_.ca_file.c_str());
  if (endpoint_.insecure_skip_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, transfer->error.data());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Transfer::OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, transfer.get());

  // CurlMulti never completes from inside Add(), so `done` never runs inside Post().
  transfer->id = curl_.Add(
      std::move(easy),
      [this, alive = alive_, transfer, done = std::move(done)](CURLcode code, EasyHandle finished) {
        // A `done` of a transfer that finished in the same batch may have destroyed this
        // poster after CurlMulti had taken this completion out of reach of Cancel().
        if (!*alive) return;
        in_flight_.erase(transfer->id);
        done(Classify(code, finished.get(), *transfer));  // may destroy this poster
      });
  in_flight_.insert(transfer->id);
}

std::string JsonPoster::Redact(std::string text) const {
  return config::RedactSecrets(std::move(text), secrets_);
}

Delivery JsonPoster::Classify(CURLcode code, CURL* easy, const Transfer& t) const {
  const auto fail = [this](Outcome outcome, const std::string& what) {
    return Delivery{outcome, label_ + ": " + what, {}};
  };
  // Our own abort after kMaxResponse bytes: the status is known, the rest is not needed.
  const bool cut_short = code == CURLE_WRITE_ERROR && t.truncated;
  if (code != CURLE_OK && !cut_short) {
    const std::string detail =
        Redact(t.error[0] != '\0' ? t.error.data() : curl_easy_strerror(code));
    switch (code) {
      case CURLE_OPERATION_TIMEDOUT: {
        long sent = 0;  // request bytes sent: zero while connecting or in the TLS handshake
        curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
        return fail(Outcome::kRetry, "timeout after " + config::FormatDuration(t.timeout) +
                                         (sent == 0 ? " connecting to " : " waiting for ") + peer_);
      }
      case CURLE_COULDNT_CONNECT:
        return fail(Outcome::kRetry, "cannot connect to " + peer_ + ": " + detail);
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        return fail(Outcome::kRetry, "cannot resolve " + peer_ + ": " + detail);
      case CURLE_PEER_FAILED_VERIFICATION:
        return fail(Outcome::kRetry,
                    "TLS certificate of " + peer_ + " not trusted: " + detail +
                        " (set ca_file to the CA that signed it, or insecure_skip_verify)");
      case CURLE_SSL_CACERT_BADFILE:
        return fail(Outcome::kRetry, "cannot use ca_file \"" + endpoint_.ca_file + "\": " + detail);
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return fail(Outcome::kFailed, "bad URL: " + detail);
      default:
        return fail(Outcome::kRetry, "request to " + peer_ + " failed: " + detail);
    }
  }

  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status <= 299) return Delivery{};

  std::string reason = t.reason.empty() ? std::string(StandardReason(status)) : t.reason;
  std::string what = "HTTP " + std::to_string(status);
  if (!reason.empty()) what += " " + collectors::http::Excerpt(Redact(reason), kMaxHeaderText);
  what += " from " + peer_;
  if (status >= 300 && status <= 399) what += " (redirects are not followed)";
  // Redacted before cutting: no half secret is left behind.
  if (const std::string body(Trim(t.response)); !body.empty()) {
    what += ": \"" + collectors::http::Excerpt(Redact(body), kExcerpt) + "\"";
  }
  const bool temporary = status == 408 || status == 429 || (status >= 500 && status <= 599);
  Delivery delivery = fail(temporary ? Outcome::kRetry : Outcome::kFailed, what);
  if (status == 429 || status == 503) {
    delivery.retry_after = ParseRetryAfter(t.retry_after, std::chrono::system_clock::now());
  }
  return delivery;
}

namespace {

class WebhookReceiver final : public Receiver {
 public:
  WebhookReceiver(Endpoint endpoint, const ReceiverContext& context)
      : poster_(std::move(endpoint), context) {}

  void Send(const Notification& n, Done done) override {
    poster_.Post(WebhookPayload(n).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                 std::move(done));
  }

 private:
  JsonPoster poster_;
};

}  // namespace

std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context) {
  Endpoint endpoint;
  endpoint.type = "webhook";
  endpoint.name = config.name;
  endpoint.timeout = config.timeout;
  // Without settings the URL stays empty and every Send() reports it.
  if (const auto* s = dynamic_cast<const Settings*>(config.settings.get())) {
    endpoint.url = s->url;
    endpoint.headers = s->headers;
    endpoint.bearer_token = s->bearer_token;
    endpoint.ca_file = s->ca_file;
    endpoint.insecure_skip_verify = s->insecure_skip_verify;
  }
  return std::make_unique<WebhookReceiver>(std::move(endpoint), context);
}

}  // namespace kpid::notify::webhook
