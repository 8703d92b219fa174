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
  // The config it serves with, its environment overrides applied (for one found by its
  // HTTP address: the --config that named the address). Empty when it could not be read.
  std::optional<storage::RegistryConfig> config;
};

// Registry processes (`registry serve`, `docker-registry serve`) whose config resolves to
// `root` (or cannot be read), and, when `config` gives http.addr, a registry answering there.
std::vector<LiveRegistry> find_live_registries(const std::string& root, const std::optional<storage::RegistryConfig>& config);

// The command that empties the redis database holding a registry's blob descriptor cache,
// `redis-cli -h HOST -p PORT -n DB FLUSHDB` (with --askpass when the config sets a
// password, which is never printed); nullopt when the config does not use the redis cache.
std::optional<std::string> redis_flush_command(const storage::RegistryConfig& config);

// One line telling the operator what to do after blobs were swept under the given
// (read-only) registries: restart them, and first flush their redis cache when they use
// one. `blobs` swept, or -1 when not counted (the registry's own garbage-collect swept).
// `fallback` is the config to read for a registry whose own config is unknown.
std::string restart_advice(const std::vector<LiveRegistry>& registries, long long blobs,
                           const std::optional<storage::RegistryConfig>& fallback);

}  // namespace regsweep::apply
