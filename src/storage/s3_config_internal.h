#pragma once
// What storage/registry_config.cc needs from storage/s3_config.cc: reading the storage.s3
// section out of the parsed config file.
#include <yaml-cpp/yaml.h>

#include <string>

#include "regsweep/storage/s3_config.h"

namespace regsweep::storage::detail {

// The names the s3-aws driver registers itself under: "s3" and "s3aws".
bool is_s3_driver(const std::string& name);

// Whether the environment sets REGISTRY_STORAGE_<DRIVER> or one of its keys that regsweep
// knows (REGISTRY_STORAGE_S3_BUCKET, ...): the registry then makes that driver's section,
// even where the file names another driver or none.
bool s3_environment_sets(const std::string& driver, EnvLookup env, const void* env_context);

// An environment variable's value as the registry reads it: a YAML document. Throws Error
// naming `path` (the config file) and the variable when it is not YAML.
YAML::Node environment_yaml(const std::string& variable, const std::string& value, const std::string& path);

// storage.<driver> (`params` may be null or missing: `s3:` with nothing under it) with the
// registry's environment overrides applied: REGISTRY_STORAGE_<DRIVER> replaces the section,
// then REGISTRY_STORAGE_<DRIVER>_<KEY> each key. `origin` follows key names in messages when
// the section does not come from the file itself (" (from REGISTRY_STORAGE)"). Throws Error
// naming `path` where the registry refuses to start, and where regsweep refuses (v4auth: false).
S3Config read_s3_section(const YAML::Node& params, const std::string& driver, const std::string& path, EnvLookup env,
                         const void* env_context, const std::string& origin = {});

}  // namespace regsweep::storage::detail
