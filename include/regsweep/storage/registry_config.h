#pragma once
// The registry's own config.yml, read for what regsweep needs: where the storage is (a
// folder, or an S3 bucket), and what tells whether a registry may be serving it.
#include <optional>
#include <string>

#include "regsweep/storage/env_lookup.h"
#include "regsweep/storage/s3_config.h"

namespace regsweep::storage {

struct RegistryConfig {
  std::string path;                 // the config file
  std::string driver;               // the storage driver: "filesystem", or "s3" / "s3aws" (the s3-aws driver's two names)
  std::string root;                 // filesystem: storage.filesystem.rootdirectory (env override applied); "" otherwise
  std::optional<S3Config> s3;       // s3: storage.s3 (REGISTRY_STORAGE_S3_* applied; no credentials yet: resolve_s3_credentials)
  std::string http_addr;            // http.addr (env override applied), may be empty
  bool readonly = false;            // storage.maintenance.readonly.enabled
  bool delete_enabled = false;      // storage.delete.enabled
  std::string blobdescriptor_cache; // storage.cache.blobdescriptor ("inmemory", "redis", ""), or its old name layerinfo
  std::string redis_addr;           // redis.addr (host:port)
  int redis_db = 0;                 // redis.db
  bool redis_password_set = false;  // redis.password is not empty (the password itself is never kept)
};

// Throws Error (naming the file) when it cannot be read or parsed; when its storage driver
// is neither filesystem nor s3 (gcs, azure, swift, inmemory, oss...); when it names more
// than one driver, in the file or through the environment (the registry refuses that too);
// and when its storage.s3 section is one the registry refuses to start with (s3_config.h,
// docs/s3-config.md), or asks for what regsweep does not do (v4auth: false).
// Environment overrides are applied as the registry applies them: REGISTRY_STORAGE (the
// whole storage), REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY, REGISTRY_STORAGE_S3 and
// REGISTRY_STORAGE_S3_<KEY> (which make an s3 section even where the file has none),
// REGISTRY_HTTP_ADDR, ... A redis.db that is not a database number is an Error too (the
// registry refuses to start with it).
// `env` looks a variable up (default: this process's environment; the live-registry check
// passes the environment of the registry process it inspects).
RegistryConfig load_registry_config(const std::string& path, EnvLookup env = nullptr, const void* env_context = nullptr);

inline constexpr const char* kDefaultRoot = "/var/lib/registry";

// --root wins; else --config's root; else /var/lib/registry. The root from a config is
// used as written there, the way the registry would. A config whose storage is S3 gives its
// s3://bucket/rootdirectory; a --root naming anything else beside it is an Error (the config
// would describe another storage than the root).
std::string resolve_root(const std::optional<std::string>& root_option, const std::optional<RegistryConfig>& config);

}  // namespace regsweep::storage
