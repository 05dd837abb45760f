#include "daemon/notify/email/settings.hpp"

#include "daemon/config/reader.hpp"

namespace kpid::notify::email {
namespace {

// A deliberately loose check: one @, something on each side, no spaces or angle brackets
// (those would break the RFC 5322 headers we write).
bool LooksLikeAddress(std::string_view a) {
  std::size_t at = a.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < a.size() &&
         a.find('@', at + 1) == std::string_view::npos &&
         a.find_first_of(" <>,\r\n\t") == std::string_view::npos;
}

std::shared_ptr<const config::KindSettings> Parse(config::TableReader& r) {
  auto s = std::make_shared<Settings>();
  if (auto url = r.Url("smtp_url", config::Need::kRequired, {"smtp://", "smtps://"})) {
    s->smtp_url = std::move(*url);
  }
  if (auto mode = r.Raw("starttls")) {
    if (*mode == "auto") {
      s->starttls = StartTls::kAuto;
    } else if (*mode == "always") {
      s->starttls = StartTls::kAlways;
    } else if (*mode == "never") {
      s->starttls = StartTls::kNever;
    } else {
      r.Error("starttls",
              "unknown starttls mode \"" + *mode + "\"; expected auto, always or never");
    }
  }
  if (auto from = r.String("from", config::Need::kRequired)) {
    if (!LooksLikeAddress(*from)) r.Error("from", "\"from\" is not an email address");
    s->from = std::move(*from);
  }
  if (auto to = r.StringList("to", config::Need::kRequired)) {
    if (to->empty()) r.Error("to", "\"to\" must list at least one address");
    for (const std::string& a : *to) {
      if (!LooksLikeAddress(a)) r.Error("to", "\"to\": \"" + a + "\" is not an email address");
    }
    s->to = std::move(*to);
  }
  s->username = r.String("username").value_or("");
  s->password = r.SecretOrFile("password", "password_file");
  if (s->password && s->username.empty()) {
    r.Error(r.Has("password") ? "password" : "password_file",
            "SMTP AUTH needs \"username\" with the password");
  }
  s->ca_file = r.String("ca_file").value_or("");
  s->insecure_skip_verify = r.Bool("insecure_skip_verify").value_or(false);
  return s;
}

}  // namespace

config::ReceiverKind Kind() { return {Parse}; }

}  // namespace kpid::notify::email
