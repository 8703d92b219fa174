#include "regsweep/storage/registry_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "regsweep/error.h"
#include "regsweep/util/format.h"
#include "s3_config_internal.h"

namespace regsweep::storage {

namespace {

// YAML 1.1 booleans, as the registry's YAML library reads them.
bool truthy(const std::string& s) {
  for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON", "1"})
    if (s == t) return true;
  return false;
}

YAML::Node child(const YAML::Node& n, const char* key) {
  if (!n || !n.IsMap()) return YAML::Node();
  return n[key];
}

std::string scalar(const YAML::Node& n) { return n && n.IsScalar() ? n.as<std::string>() : std::string(); }

// redis.db: a non-negative integer, as the registry reads it into an int.
int database_number(const std::string& text, const char* what, const std::string& path) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    throw Error(std::string(what) + " is not a redis database number: \"" + text + "\"", path);
  return std::stoi(text);
}

// What the registry reads beside the one driver under `storage` (2.8's list, and 3.x's "tag").
bool storage_option(const std::string& key) {
  return key == "delete" || key == "maintenance" || key == "cache" || key == "redirect" || key == "tag";
}

// The drivers `storage` names, in file order: every key of a mapping but the options, or
// the driver of `storage: s3` (a name alone). A list is refused, as the registry refuses it.
std::vector<std::string> storage_drivers(const YAML::Node& storage, const std::string& where, const std::string& path) {
  std::vector<std::string> drivers;
  if (!storage || storage.IsNull()) return drivers;
  if (storage.IsScalar()) {
    drivers.push_back(storage.Scalar());
    return drivers;
  }
  if (!storage.IsMap()) throw Error(where + " is a list, not a storage driver; the registry refuses to start with it", path);
  for (const auto& kv : storage) {
    std::string key = kv.first.as<std::string>();
    if (!storage_option(key)) drivers.push_back(key);
  }
  return drivers;
}

// "filesystem" and "s3" -> "\"filesystem\" and \"s3\""; three or more with commas.
std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + ("\"" + items[i] + "\"");
  return out;
}

}  // namespace

RegistryConfig load_registry_config(const std::string& path, EnvLookup lookup, const void* env_context) {
  if (!lookup) lookup = process_environment;
  auto env = [&](const char* name) { return lookup(name, env_context); };
  RegistryConfig c;
  c.path = path;
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw Error("cannot read the registry config", path);
  } catch (const YAML::Exception& e) {
    throw Error(std::string("the registry config is not valid YAML: ") + e.what(), path);
  }
  if (!doc.IsMap()) throw Error("the registry config is not a YAML mapping", path);
  // REGISTRY_STORAGE replaces the whole storage, options and all.
  const std::optional<std::string> whole_storage = env("REGISTRY_STORAGE");
  const std::string storage_origin = whole_storage ? " (from REGISTRY_STORAGE)" : "";
  const YAML::Node storage =
      whole_storage ? detail::environment_yaml("REGISTRY_STORAGE", *whole_storage, path) : child(doc, "storage");
  bool has_blobdescriptor = false;
  try {
    std::vector<std::string> drivers = storage_drivers(storage, "storage" + storage_origin, path);
    // REGISTRY_STORAGE_<DRIVER>_... makes that driver's section when `storage` has no key of
    // that name (the registry matches the name case-insensitively).
    std::vector<std::string> from_env;
    auto named = [&](const std::string& driver) {
      return std::any_of(drivers.begin(), drivers.end(), [&](const std::string& d) { return util::ascii_upper(d) == util::ascii_upper(driver); });
    };
    if (!named("filesystem") && (env("REGISTRY_STORAGE_FILESYSTEM") || env("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY") ||
                                 env("REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS")))
      from_env.push_back("filesystem");
    for (const char* driver : {"s3", "s3aws"})
      if (!named(driver) && detail::s3_environment_sets(driver, lookup, env_context)) from_env.push_back(driver);
    drivers.insert(drivers.end(), from_env.begin(), from_env.end());
    if (drivers.size() > 1) {  // the registry refuses to start: "must provide exactly one storage type"
      std::string made;
      for (const std::string& d : from_env) made += "; \"" + d + "\" is made by REGISTRY_STORAGE_" + util::ascii_upper(d) + "_* in the environment";
      throw Error("the registry config names " + std::to_string(drivers.size()) + " storage drivers (" + quoted_list(drivers) + made +
                      "); the registry refuses such a config, and so does regsweep: keep exactly one",
                  path);
    }
    c.driver = drivers.empty() ? "filesystem" : drivers.front();
    if (c.driver == "filesystem") {
      YAML::Node fs = child(storage, "filesystem");
      YAML::Node rootdirectory = child(fs, "rootdirectory");
      if (rootdirectory && !rootdirectory.IsScalar() && !rootdirectory.IsNull())
        throw Error("storage.filesystem.rootdirectory is not a single path", path);
      c.root = scalar(rootdirectory);
      if (auto v = env("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY")) c.root = *v;
      if (c.root.empty()) c.root = kDefaultRoot;  // the filesystem driver's own default
    } else if (detail::is_s3_driver(c.driver)) {
      c.s3 = detail::read_s3_section(child(storage, c.driver.c_str()), c.driver, path, lookup, env_context, storage_origin);
    } else {
      throw Error("regsweep works on the filesystem and s3 storage drivers only; this config uses \"" + c.driver + "\"", path);
    }
    c.delete_enabled = truthy(scalar(child(child(storage, "delete"), "enabled")));
    c.readonly = truthy(scalar(child(child(child(storage, "maintenance"), "readonly"), "enabled")));
    YAML::Node cache = child(storage, "cache");
    YAML::Node blobdescriptor = child(cache, "blobdescriptor");
    has_blobdescriptor = blobdescriptor && !blobdescriptor.IsNull();
    c.blobdescriptor_cache = scalar(child(cache, has_blobdescriptor ? "blobdescriptor" : "layerinfo"));  // layerinfo: its old name
    c.http_addr = scalar(child(child(doc, "http"), "addr"));
    YAML::Node redis = child(doc, "redis");
    c.redis_addr = scalar(child(redis, "addr"));
    if (YAML::Node db = child(redis, "db"); db && !db.IsNull()) c.redis_db = database_number(scalar(db), "redis.db", path);
    c.redis_password_set = !scalar(child(redis, "password")).empty();
  } catch (const YAML::Exception& e) {
    throw Error(std::string("unexpected shape in the registry config: ") + e.what(), path);
  }
  if (auto v = env("REGISTRY_HTTP_ADDR")) c.http_addr = *v;
  if (auto v = env("REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED")) c.readonly = truthy(*v);
  if (auto v = env("REGISTRY_STORAGE_DELETE_ENABLED")) c.delete_enabled = truthy(*v);
  if (auto v = env("REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR")) c.blobdescriptor_cache = *v;
  else if (auto old = env("REGISTRY_STORAGE_CACHE_LAYERINFO"); old && !has_blobdescriptor) c.blobdescriptor_cache = *old;
  if (auto v = env("REGISTRY_REDIS_ADDR")) c.redis_addr = *v;
  if (auto v = env("REGISTRY_REDIS_DB")) c.redis_db = database_number(*v, "REGISTRY_REDIS_DB", path);
  if (auto v = env("REGISTRY_REDIS_PASSWORD")) c.redis_password_set = !v->empty();
  return c;
}

std::string resolve_root(const std::optional<std::string>& root_option, const std::optional<RegistryConfig>& config) {
  if (config && config->s3) {
    // The config describes a bucket: a --root naming anything else would be another storage.
    if (root_option && *root_option != config->s3->url())
      throw Error("--root " + *root_option + " and the config's storage (" + config->s3->url() + ") differ; give one of them",
                  config->path);
    return config->s3->url();  // where the storage is, for messages
  }
  if (root_option) return *root_option;
  if (config) return config->root;
  return kDefaultRoot;
}

}  // namespace regsweep::storage
