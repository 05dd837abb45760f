// The explicit list of collector kinds. Adding a kind: its folder, and one line in
// registry.cpp.
#pragma once

#include <string>
#include <vector>

#include "collectors/collector.hpp"
#include "daemon/config/config.hpp"

namespace kpid::collectors {

struct Kind {
  std::string name;           // the [[source]] type
  config::SourceKind config;  // parses its keys
  Factory make;               // builds a collector from a validated source
};

const std::vector<Kind>& Kinds();
const Kind* FindKind(std::string_view name);

// Config parsers of every collector kind, by `type` name, for config::Load().
std::vector<std::pair<std::string, config::SourceKind>> ConfigKinds();

}  // namespace kpid::collectors
