#include "collectors/http/collector.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <boost/asio/post.hpp>

#include "collectors/http/base64.hpp"
#include "collectors/http/json_value.hpp"
#include "daemon/config/duration.hpp"

namespace kpid::collectors::http {
namespace {

namespace chr = std::chrono;

constexpr std::size_t kMinSecretLength = 4;  // shorter values cannot be credentials
constexpr long kReceiveBuffer = 4096;
constexpr std::string_view kUserAgent = "kpid/" KPID_VERSION;
constexpr std::string_view kAccept = "Accept: application/json, text/plain;q=0.9, */*;q=0.5";

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

std::string Bytes(std::uint64_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n >= (1u << 10) && n % (1u << 10) == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}

bool IEquals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string Info(CURL* easy, CURLINFO info) {
  const char* text = nullptr;
  if (curl_easy_getinfo(easy, info, &text) != CURLE_OK || text == nullptr) return {};
  return text;
}

}  // namespace

std::string DisplayUrl(const std::string& url) {
  const Url parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return "<invalid URL>";
  }
  std::string out =
      UrlPart(parsed.get(), CURLUPART_SCHEME) + "://" + UrlPart(parsed.get(), CURLUPART_HOST);
  if (std::string port = UrlPart(parsed.get(), CURLUPART_PORT); !port.empty()) {
    out += ":" + port;
  }
  out += UrlPart(parsed.get(), CURLUPART_PATH);
  return out;
}

struct HttpCollector::Response {
  std::string body;
  std::uint64_t limit = 0;
  bool too_large = false;
  chr::milliseconds timeout{0};
  std::array<char, CURL_ERROR_SIZE> error{};
};

HttpCollector::HttpCollector(const config::Source& source, boost::asio::io_context& io)
    : name_(source.name),
      settings_(std::dynamic_pointer_cast<const SourceSettings>(source.settings)),
      default_timeout_(source.timeout),
      io_(io),
      multi_(SharedCurlMulti(io)) {
  if (!settings_) return;  // every Collect() reports it
  const SourceSettings& s = *settings_;
  display_url_ = DisplayUrl(s.url.Reveal());

  secrets_.push_back(s.url.Reveal());
  if (const Url url(curl_url());
      url && curl_url_set(url.get(), CURLUPART_URL, s.url.Reveal().c_str(), 0) == CURLUE_OK) {
    const std::string password = UrlPart(url.get(), CURLUPART_PASSWORD);
    secrets_.push_back(password);
    secrets_.push_back(UrlPart(url.get(), CURLUPART_PASSWORD, CURLU_URLDECODE));
    if (!password.empty()) {  // curl sends URL credentials as basic auth
      secrets_.push_back(Base64(UrlPart(url.get(), CURLUPART_USER, CURLU_URLDECODE) + ":" +
                                UrlPart(url.get(), CURLUPART_PASSWORD, CURLU_URLDECODE)));
    }
    secrets_.push_back(UrlPart(url.get(), CURLUPART_FRAGMENT));
    const std::string query = UrlPart(url.get(), CURLUPART_QUERY);
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
  }
  if (s.password) {
    secrets_.push_back(s.password->Reveal());
    secrets_.push_back(Base64(s.username + ":" + s.password->Reveal()));  // the header's value
  }
  if (s.bearer_token) secrets_.push_back(s.bearer_token->Reveal());

  bool has_accept = false;
  curl_slist* list = nullptr;
  const auto append = [&list](const std::string& line) {
    if (curl_slist* grown = curl_slist_append(list, line.c_str())) list = grown;
  };
  for (const auto& [header, value] : s.headers) {
    secrets_.push_back(value.Reveal());
    has_accept = has_accept || IEquals(header, "Accept");
    // "Name;" is curl's way to send a header with an empty value.
    append(value.empty() ? header + ";" : header + ": " + value.Reveal());
  }
  if (s.bearer_token) append("Authorization: Bearer " + s.bearer_token->Reveal());
  if (!has_accept) append(std::string(kAccept));
  headers_.reset(list);

  std::erase_if(secrets_, [](const std::string& x) { return x.size() < kMinSecretLength; });
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  excerpt_ = [this](std::string_view text) { return SafeExcerpt(text); };
}

HttpCollector::~HttpCollector() { Stop(); }

void HttpCollector::Stop() {
  *live_ = false;
  waiters_.clear();
  if (in_flight_) multi_.Cancel(*in_flight_);
  in_flight_.reset();
}

CollectError HttpCollector::Error(ErrorKind kind, const std::string& what) const {
  return CollectError{kind, "source \"" + name_ + "\" (http): " + what};
}

std::string HttpCollector::Redact(std::string text) const {
  return config::RedactSecrets(std::move(text), secrets_);
}

std::string HttpCollector::SafeExcerpt(std::string_view text) const {
  constexpr std::size_t kLength = 80;
  // Every secret that starts inside the excerpt ends inside this window.
  const std::size_t window = kLength + (secrets_.empty() ? 0 : secrets_.front().size());
  std::string out = Excerpt(Redact(std::string(text.substr(0, window))), kLength);
  if (text.size() > window && !out.ends_with("...")) out += "...";
  return out;
}

void HttpCollector::Fail(Done done, CollectError error) {
  boost::asio::post(io_,
                    [live = live_, done = std::move(done), error = std::move(error)]() mutable {
                      if (*live) done(std::move(error));
                    });
}

void HttpCollector::Collect(const Target& target, chr::milliseconds timeout, Done done) {
  if (!*live_) return;
  if (!settings_) {
    Fail(std::move(done), Error(ErrorKind::kInternal, "source has no http settings"));
    return;
  }
  if (dynamic_cast<const KpiSettings*>(target.settings.get()) == nullptr) {
    Fail(std::move(done),
         Error(ErrorKind::kInternal, "KPI \"" + target.kpi + "\" has no http settings"));
    return;
  }
  waiters_.push_back(Waiter{target, std::move(done)});
  if (!in_flight_) Start(timeout);
}

bool HttpCollector::HasHistory(const Target&) const { return false; }

void HttpCollector::CollectHistory(const Target& target, chr::milliseconds, HistoryDone done) {
  boost::asio::post(io_, [live = live_, done = std::move(done),
                          error = Error(ErrorKind::kQuery, "KPI \"" + target.kpi +
                                                               "\": an http source has no "
                                                               "history to backfill")]() mutable {
    if (*live) done(std::move(error));
  });
}

void HttpCollector::Start(chr::milliseconds timeout) {
  if (timeout <= chr::milliseconds::zero()) timeout = default_timeout_;
  const SourceSettings& s = *settings_;
  EasyHandle easy(curl_easy_init());
  if (!easy) {
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& waiter : waiters) {
      Fail(std::move(waiter.done), Error(ErrorKind::kInternal, "cannot create a curl handle"));
    }
    return;
  }
  auto response = std::make_shared<Response>();
  response->limit = s.max_response_bytes;
  response->timeout = timeout;

  CURL* h = easy.get();
  curl_easy_setopt(h, CURLOPT_URL, s.url.Reveal().c_str());
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, static_cast<long>(s.max_redirects));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // every encoding curl decodes
  curl_easy_setopt(h, CURLOPT_USERAGENT, kUserAgent.data());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(s.max_response_bytes));
  if (!s.username.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(h, CURLOPT_USERNAME, s.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, s.password ? s.password->Reveal().c_str() : "");
  }
  if (!s.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, s.ca_file.c_str());
  if (s.insecure_skip_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  // curl's receive buffer, per request in flight: its 16 KiB default is most of the memory
  // of a thousand concurrent requests; KPI bodies are small and larger ones just take more
  // reads.
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, kReceiveBuffer);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, response->error.data());
  curl_easy_setopt(h, CURLOPT_WRITEDATA, response.get());
  // The limit applies to the decoded body; MAXFILESIZE catches a large Content-Length early.
  curl_write_callback write = [](char* data, std::size_t size, std::size_t count,
                                 void* user) -> std::size_t {
    auto& r = *static_cast<Response*>(user);
    const std::size_t n = size * count;
    if (r.body.size() + n > r.limit) {
      r.too_large = true;
      return 0;  // curl aborts with CURLE_WRITE_ERROR
    }
    r.body.append(data, n);
    return n;
  };
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write);

  ++requests_;
  in_flight_ = multi_.Add(std::move(easy), [this, response](CURLcode code, EasyHandle done) {
    Finish(code, done.get(), *response);
  });
}

std::optional<CollectError> HttpCollector::TransportError(CURLcode code, CURL* easy,
                                                          const Response& response) const {
  std::string where = display_url_;
  if (const std::string effective = DisplayUrl(Info(easy, CURLINFO_EFFECTIVE_URL));
      !effective.empty() && effective != "<invalid URL>" && effective != where) {
    where += " (redirected to " + effective + ")";
  }
  const std::string detail =
      Redact(response.error[0] != '\0' ? response.error.data() : curl_easy_strerror(code));
  const SourceSettings& s = *settings_;
  switch (code) {
    case CURLE_OK:
      break;
    case CURLE_OPERATION_TIMEDOUT: {
      long sent = 0;  // request bytes sent: zero while connecting or in the TLS handshake
      curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
      const std::string after = "timeout after " + config::FormatDuration(response.timeout);
      if (sent == 0) return Error(ErrorKind::kTimeout, after + " connecting to " + where);
      return Error(ErrorKind::kTimeout, after + " waiting for the response from " + where + " (" +
                                            Bytes(response.body.size()) + " received)");
    }
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (code == CURLE_FILESIZE_EXCEEDED || response.too_large) {
        return Error(ErrorKind::kTooLarge, "response from " + where + " is larger than " +
                                               Bytes(s.max_response_bytes) +
                                               " (max_response_bytes)");
      }
      return Error(ErrorKind::kInternal, "cannot store the response from " + where);
    case CURLE_TOO_MANY_REDIRECTS:
      return Error(ErrorKind::kQuery, "more than " + std::to_string(s.max_redirects) +
                                          " redirects from " + where + " (max_redirects)");
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Error(ErrorKind::kQuery,
                   where + " redirected to a scheme other than http or https: " + detail);
    case CURLE_URL_MALFORMAT:
      return Error(ErrorKind::kQuery, "bad URL: " + detail);
    case CURLE_PEER_FAILED_VERIFICATION:
      return Error(ErrorKind::kConnect,
                   "TLS certificate of " + where + " not trusted: " + detail +
                       " (set ca_file to the CA that signed it, or insecure_skip_verify = true)");
    case CURLE_SSL_CACERT_BADFILE:
      return Error(ErrorKind::kConnect, "cannot use ca_file \"" + s.ca_file + "\": " + detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
      return Error(ErrorKind::kConnect, "TLS handshake with " + where + " failed: " + detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Error(ErrorKind::kConnect, "cannot resolve the host of " + where + ": " + detail);
    case CURLE_COULDNT_CONNECT:
      return Error(ErrorKind::kConnect, "cannot connect to " + where + ": " + detail);
    case CURLE_BAD_CONTENT_ENCODING:
      return Error(ErrorKind::kParse, "cannot decode the response from " + where + ": " + detail);
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
      return Error(ErrorKind::kAuth, "authentication with " + where + " failed: " + detail);
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
      return Error(ErrorKind::kInternal, "request to " + where + " failed: " + detail);
    default:
      return Error(ErrorKind::kConnect, "request to " + where + " failed: " + detail);
  }

  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (status == 401 || status == 403 || status == 407) {
    return Error(ErrorKind::kAuth,
                 "HTTP " + std::to_string(status) + " from " + where +
                     (status == 403 ? " (access denied)" : " (credentials missing or rejected)"));
  }
  if (status < 200 || status > 299) {
    std::string what = "HTTP " + std::to_string(status) + " from " + where;
    if (!response.body.empty()) what += ": \"" + SafeExcerpt(response.body) + "\"";
    return Error(ErrorKind::kQuery, what);
  }
  return std::nullopt;
}

CollectResult HttpCollector::ValueFor(const Target& target, const Response& response,
                                      const nlohmann::json* document,
                                      const std::optional<ValueError>& json_error,
                                      Clock::time_point completed) const {
  const auto& kpi = dynamic_cast<const KpiSettings&>(*target.settings);
  ValueResult value;
  if (kpi.format == Format::kText) {
    value = TextNumber(response.body, excerpt_);
  } else if (json_error) {
    value = *json_error;
  } else {
    value = NumberAt(*document, kpi.json_pointer, excerpt_);
  }
  if (const auto* error = std::get_if<ValueError>(&value)) {
    return Error(error->kind, "KPI \"" + target.kpi + "\": " + Redact(error->message));
  }
  return Sample{std::get<double>(value), completed};
}

void HttpCollector::Finish(CURLcode code, CURL* easy, Response& response) {
  const Clock::time_point completed = Clock::now();
  in_flight_.reset();
  std::vector<Waiter> waiters = std::move(waiters_);
  waiters_.clear();
  std::vector<CollectResult> results;
  results.reserve(waiters.size());
  if (auto failure = TransportError(code, easy, response)) {
    results.assign(waiters.size(), *failure);
  } else {
    // One parse per response, only if a KPI reads JSON.
    std::optional<nlohmann::json> document;
    std::optional<ValueError> json_error;
    const bool wants_json = std::any_of(waiters.begin(), waiters.end(), [](const Waiter& w) {
      return dynamic_cast<const KpiSettings&>(*w.target.settings).format == Format::kJson;
    });
    if (wants_json) {
      JsonResult parsed = ParseJson(response.body, excerpt_);
      if (auto* error = std::get_if<ValueError>(&parsed)) {
        const std::string type = Info(easy, CURLINFO_CONTENT_TYPE);
        if (error->kind == ErrorKind::kParse && !type.empty()) {
          error->message += " (Content-Type: " + Excerpt(type) + ")";
        }
        json_error = std::move(*error);
      } else {
        document = std::move(std::get<nlohmann::json>(parsed));
      }
    }
    for (const Waiter& waiter : waiters) {
      results.push_back(ValueFor(waiter.target, response, document ? &*document : nullptr,
                                 json_error, completed));
    }
  }
  // A callback may Stop() or destroy this collector, or Collect() again.
  const std::shared_ptr<bool> live = live_;
  for (std::size_t i = 0; i < waiters.size() && *live; ++i) {
    waiters[i].done(std::move(results[i]));
  }
}

std::unique_ptr<Collector> Make(const config::Source& source, boost::asio::io_context& io) {
  return std::make_unique<HttpCollector>(source, io);
}

}  // namespace kpid::collectors::http
