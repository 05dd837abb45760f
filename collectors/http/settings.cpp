#include "collectors/http/settings.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

#include <curl/curl.h>
#include <unistd.h>

#include "daemon/config/reader.hpp"

namespace kpid::collectors::http {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// The whole URL must parse (curl's own parser, the one requests use), so a typo is a config
// error rather than a failure at every collection. Names the problem, never the URL.
std::optional<std::string> CheckUrl(const std::string& url) {
  CURLU* parsed = curl_url();
  if (parsed == nullptr) return std::nullopt;
  const CURLUcode rc = curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0);
  curl_url_cleanup(parsed);
  if (rc == CURLUE_OK) return std::nullopt;
  return curl_url_strerror(rc);
}

std::shared_ptr<const config::KindSettings> ParseSource(config::TableReader& r) {
  auto s = std::make_shared<SourceSettings>();
  if (auto url = r.Url("url", config::Need::kRequired)) {
    if (auto error = CheckUrl(url->Reveal()))
      r.Error("url", "\"url\" is not a valid URL: " + *error);
    s->url = std::move(*url);
  }
  bool has_authorization = false;
  if (auto headers = r.StringTable("headers", true)) {
    for (auto& [name, value] : *headers) {
      has_authorization = has_authorization || IEquals(name, "Authorization");
      s->headers.emplace_back(name, config::Secret(value));
    }
  }
  s->username = r.String("username").value_or("");
  s->password = r.SecretOrFile("password", "password_file");
  if (s->password && s->username.empty()) {
    r.Error(r.Has("password") ? "password" : "password_file",
            "basic auth needs \"username\" with the password");
  }
  s->bearer_token = r.SecretOrFile("bearer_token", "bearer_token_file");
  if (s->bearer_token && s->password) {
    r.Error(r.Has("bearer_token") ? "bearer_token" : "bearer_token_file",
            "use basic auth (username, password) or a bearer token, not both");
  }
  if (has_authorization && (s->bearer_token || s->password)) {
    r.Error("headers",
            "an Authorization header and username/password or bearer_token conflict; keep one");
  }
  s->ca_file = r.String("ca_file").value_or("");
  if (!s->ca_file.empty() && ::access(s->ca_file.c_str(), R_OK) != 0) {
    r.Error("ca_file", "cannot read ca_file \"" + s->ca_file + "\"");
  }
  s->insecure_skip_verify = r.Bool("insecure_skip_verify").value_or(false);
  if (auto n = r.Integer("max_redirects", config::Need::kOptional, 0, 50)) {
    s->max_redirects = static_cast<int>(*n);
  }
  if (auto n = r.Integer("max_response_bytes", config::Need::kOptional, 1, 1LL << 32)) {
    s->max_response_bytes = static_cast<std::uint64_t>(*n);
  }
  return s;
}

std::shared_ptr<const config::KindSettings> ParseKpi(config::TableReader& r,
                                                     const config::Source&) {
  auto k = std::make_shared<KpiSettings>();
  if (auto format = r.Raw("format")) {
    if (*format == "json") {
      k->format = Format::kJson;
    } else if (*format == "text") {
      k->format = Format::kText;
    } else {
      r.Error("format", "unknown format \"" + *format + "\"; expected json or text");
    }
  }
  if (k->format == Format::kJson) {
    if (auto pointer = r.Raw("json_pointer", config::Need::kRequired)) {
      if (auto error = CheckJsonPointer(*pointer)) {
        r.Error("json_pointer", "\"json_pointer\": " + *error);
      }
      k->json_pointer = std::move(*pointer);
    }
  } else if (r.Raw("json_pointer")) {  // read, so it is not also an "unknown key"
    r.Error("json_pointer", "\"json_pointer\" applies to format = \"json\" only");
  }
  return k;
}

}  // namespace

std::optional<std::string> CheckJsonPointer(std::string_view pointer) {
  if (pointer.empty()) return std::nullopt;
  if (pointer.front() != '/') return "must be empty or start with \"/\", like \"/churn/monthly\"";
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] != '~') continue;
    if (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) {
      return "\"~\" must be followed by 0 or 1 (RFC 6901 escapes ~0 and ~1)";
    }
  }
  return std::nullopt;
}

config::SourceKind Kind() { return {ParseSource, ParseKpi}; }

}  // namespace kpid::collectors::http
