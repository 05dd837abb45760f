#include "daemon/notify/file/settings.hpp"

#include "daemon/config/reader.hpp"

namespace kpid::notify::file {
namespace {

std::shared_ptr<const config::KindSettings> Parse(config::TableReader& r) {
  auto s = std::make_shared<Settings>();
  if (auto path = r.String("path", config::Need::kRequired)) {
    if (path->empty() || path->front() != '/') {
      r.Error("path", "\"path\" must be an absolute file path");
    }
    s->path = std::move(*path);
  }
  return s;
}

}  // namespace

config::ReceiverKind Kind() { return {Parse}; }

}  // namespace kpid::notify::file
