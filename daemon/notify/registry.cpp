#include "daemon/notify/registry.hpp"

#include <array>
#include <string_view>

#include "daemon/notify/alertmanager/receiver.hpp"
#include "daemon/notify/alertmanager/settings.hpp"
#include "daemon/notify/email/receiver.hpp"
#include "daemon/notify/email/settings.hpp"
#include "daemon/notify/file/receiver.hpp"
#include "daemon/notify/file/settings.hpp"
#include "daemon/notify/slack/receiver.hpp"
#include "daemon/notify/slack/settings.hpp"
#include "daemon/notify/webhook/receiver.hpp"
#include "daemon/notify/webhook/settings.hpp"

namespace kpid::notify {
namespace {

struct Kind {
  std::string_view type;
  config::ReceiverKind (*config)();
  std::unique_ptr<Receiver> (*make)(const config::Receiver&, const ReceiverContext&);
};

constexpr std::array<Kind, 5> kKinds = {{
    {"email", email::Kind, email::MakeReceiver},
    {"slack", slack::Kind, slack::MakeReceiver},
    {"webhook", webhook::Kind, webhook::MakeReceiver},
    {"alertmanager", alertmanager::Kind, alertmanager::MakeReceiver},
    {"file", file::Kind, file::MakeReceiver},
}};

}  // namespace

std::vector<std::pair<std::string, config::ReceiverKind>> ConfigKinds() {
  std::vector<std::pair<std::string, config::ReceiverKind>> kinds;
  kinds.reserve(kKinds.size());
  for (const Kind& kind : kKinds) kinds.emplace_back(kind.type, kind.config());
  return kinds;
}

std::unique_ptr<Receiver> MakeReceiver(const config::Receiver& config,
                                       const ReceiverContext& context) {
  for (const Kind& kind : kKinds) {
    if (kind.type == config.type) return kind.make(config, context);
  }
  return nullptr;
}

}  // namespace kpid::notify
