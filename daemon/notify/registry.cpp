#include "daemon/notify/registry.hpp"

#include "daemon/notify/alertmanager/settings.hpp"
#include "daemon/notify/email/settings.hpp"
#include "daemon/notify/file/settings.hpp"
#include "daemon/notify/slack/settings.hpp"
#include "daemon/notify/webhook/settings.hpp"

namespace kpid::notify {

std::vector<std::pair<std::string, config::ReceiverKind>> ConfigKinds() {
  return {
      {"email", email::Kind()},     {"slack", slack::Kind()},
      {"webhook", webhook::Kind()}, {"alertmanager", alertmanager::Kind()},
      {"file", file::Kind()},
  };
}

}  // namespace kpid::notify
