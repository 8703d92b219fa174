#pragma once
// The registry's own config.yml, read for what regsweep needs: where the storage is, and
// what tells whether a registry may be serving it.
#include <optional>
#include <string>

#include "regsweep/storage/s3_config.h"

namespace regsweep::storage {

struct RegistryConfig {
  std::string path;                 // the config file
  std::string root;                 // storage.filesystem.rootdirectory (env override applied)
  std::string http_addr;            // http.addr (env override applied), may be empty
  bool readonly = false;            // storage.maintenance.readonly.enabled
  bool delete_enabled = false;      // storage.delete.enabled
  std::string blobdescriptor_cache; // storage.cache.blobdescriptor ("inmemory", "redis", ""), or its old name layerinfo
  std::string redis_addr;           // redis.addr (host:port)
  int redis_db = 0;                 // redis.db
  bool redis_password_set = false;  // redis.password is not empty (the password itself is never kept)
  std::optional<S3Config> s3;       // storage.s3, when that is the driver
};

// Throws Error (naming the file) when it cannot be read or parsed, or when its storage is
// not the filesystem driver, or names more than one driver (the registry refuses that too). Environment overrides are applied as the registry applies them
// (REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY, REGISTRY_HTTP_ADDR, ...). A redis.db that is
// not a database number is an Error too (the registry refuses to start with it).
// `env` looks a variable up (default: this process's environment; the live-registry check
// passes the environment of the registry process it inspects).
using EnvLookup = std::optional<std::string> (*)(const char* name, const void* context);
RegistryConfig load_registry_config(const std::string& path, EnvLookup env = nullptr, const void* env_context = nullptr);

inline constexpr const char* kDefaultRoot = "/var/lib/registry";

// --root wins; else --config's root; else /var/lib/registry. The root from a config is
// used as written there, the way the registry would.
std::string resolve_root(const std::optional<std::string>& root_option, const std::optional<RegistryConfig>& config);

}  // namespace regsweep::storage
