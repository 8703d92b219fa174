#pragma once
// Is a registry serving this root right now? Deleting under a running registry breaks it
// (its blob descriptor cache goes stale), so mutating commands refuse unless --force.
#include <optional>
#include <string>
#include <vector>

#include "regsweep/error.h"
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
  // Why it is taken to serve this root: "its config /etc/r.yml sets rootdirectory
  // /var/lib/registry", "its config /etc/r.yml cannot be read (...), so it may", ...
  std::string why;
};

// Every registry process (`registry serve`, `docker-registry serve`) whose storage is the
// folder `root` (its config's rootdirectory or its environment's override, seen from the
// process: relative to its working folder, inside its mount namespace), or whose config
// cannot be read; and, when `config` gives http.addr and no process found listens there, a
// registry answering at that address. A process whose config names another storage driver
// (s3, azure...) or another folder is never counted.
std::vector<LiveRegistry> find_live_registries(const std::string& root, const std::optional<storage::RegistryConfig>& config);

// "pid 1234: docker-registry serve r.yml (its config r.yml sets rootdirectory /srv/reg)",
// the registries joined by "; ": every one named, each with why it counts.
std::string describe_live_registries(const std::vector<LiveRegistry>& registries);

// The refusal (exit 3) to change the storage under `serving`, every one named with why, and
// the hint: stop them, or --force when sure.
SafetyRefusal serving_refusal(const std::vector<LiveRegistry>& serving, const std::string& root);

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
