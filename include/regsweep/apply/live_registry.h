#pragma once
// Is a registry serving this root right now? Deleting under a running registry breaks it
// (its blob descriptor cache goes stale), so mutating commands refuse unless --force.
#include <optional>
#include <string>
#include <vector>

#include "regsweep/storage/registry_config.h"

namespace regsweep::apply {

struct LiveRegistry {
  int pid = 0;                 // 0 when found by its HTTP address
  std::string description;     // "pid 1234: docker-registry serve /etc/docker/registry/config.yml"
  bool readonly = false;       // its config sets storage.maintenance.readonly.enabled
  bool root_unknown = false;   // a registry process whose storage could not be determined
};

// Registry processes (`registry serve`, `docker-registry serve`) whose config resolves to
// `root` (or cannot be read), and, when `config` gives http.addr, a registry answering there.
std::vector<LiveRegistry> find_live_registries(const std::string& root, const std::optional<storage::RegistryConfig>& config);

}  // namespace regsweep::apply
