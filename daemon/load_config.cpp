#include "daemon/load_config.hpp"

#include "collectors/registry.hpp"
#include "daemon/notify/registry.hpp"

namespace kpid {

const config::Extensions& BuiltinExtensions() {
  static const config::Extensions extensions{collectors::ConfigKinds(), notify::ConfigKinds()};
  return extensions;
}

config::LoadResult LoadConfig(const std::string& path, const config::EnvLookup& env) {
  return config::Load(path, BuiltinExtensions(), env);
}

}  // namespace kpid
