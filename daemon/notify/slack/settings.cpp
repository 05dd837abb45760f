#include "daemon/notify/slack/settings.hpp"

#include "daemon/config/reader.hpp"

namespace kpid::notify::slack {
namespace {

std::shared_ptr<const config::KindSettings> Parse(config::TableReader& r) {
  auto s = std::make_shared<Settings>();
  if (auto url = r.SecretOrFile("webhook_url", "webhook_url_file", config::Need::kRequired)) {
    const std::string& u = url->Reveal();
    if (!u.starts_with("https://") && !u.starts_with("http://")) {
      r.Error(r.Has("webhook_url") ? "webhook_url" : "webhook_url_file",
              "the Slack webhook URL must start with https:// (or http:// for a local test)");
    }
    s->webhook_url = std::move(*url);
  }
  return s;
}

}  // namespace

config::ReceiverKind Kind() { return {Parse}; }

}  // namespace kpid::notify::slack
