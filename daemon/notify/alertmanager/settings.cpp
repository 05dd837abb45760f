#include "daemon/notify/alertmanager/settings.hpp"

#include "daemon/config/reader.hpp"

namespace kpid::notify::alertmanager {
namespace {

std::shared_ptr<const config::KindSettings> Parse(config::TableReader& r) {
  auto s = std::make_shared<Settings>();
  if (auto url = r.Url("url", config::Need::kRequired)) s->url = std::move(*url);
  s->bearer_token = r.SecretOrFile("bearer_token", "bearer_token_file");
  s->ca_file = r.String("ca_file").value_or("");
  s->insecure_skip_verify = r.Bool("insecure_skip_verify").value_or(false);
  return s;
}

}  // namespace

config::ReceiverKind Kind() { return {Parse}; }

}  // namespace kpid::notify::alertmanager
