#include "regsweep/storage/registry_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <vector>

#include "regsweep/error.h"

namespace regsweep::storage {

namespace {

std::optional<std::string> process_env(const char* name, const void*) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

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

// The keys of `storage` that name a driver, in file order: every key but the options the
// registry reads beside the driver (2.8's list, and 3.x's "tag").
std::vector<std::string> storage_drivers(const YAML::Node& storage) {
  std::vector<std::string> drivers;
  if (!storage || !storage.IsMap()) return drivers;
  for (const auto& kv : storage) {
    std::string key = kv.first.as<std::string>();
    if (key != "delete" && key != "maintenance" && key != "cache" && key != "redirect" && key != "tag") drivers.push_back(key);
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
  if (!lookup) lookup = process_env;
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
  YAML::Node storage = child(doc, "storage");
  bool has_blobdescriptor = false;
  try {
    YAML::Node fs = child(storage, "filesystem");
    YAML::Node rootdirectory = child(fs, "rootdirectory");
    if (rootdirectory && !rootdirectory.IsScalar() && !rootdirectory.IsNull())
      throw Error("storage.filesystem.rootdirectory is not a single path", path);
    c.root = scalar(rootdirectory);
    std::vector<std::string> drivers = storage_drivers(storage);
    if (drivers.size() > 1)  // the registry refuses to start: "must provide exactly one storage type"
      throw Error("the registry config names " + std::to_string(drivers.size()) + " storage drivers (" + quoted_list(drivers) +
                      "); the registry refuses such a config, and so does regsweep: keep exactly one, filesystem",
                  path);
    if (!drivers.empty() && drivers.front() != "filesystem")
      throw Error("regsweep works on the filesystem storage driver only; this config uses \"" + drivers.front() + "\"", path);
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
  if (auto v = env("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY")) c.root = *v;
  if (auto v = env("REGISTRY_HTTP_ADDR")) c.http_addr = *v;
  if (auto v = env("REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED")) c.readonly = truthy(*v);
  if (auto v = env("REGISTRY_STORAGE_DELETE_ENABLED")) c.delete_enabled = truthy(*v);
  if (auto v = env("REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR")) c.blobdescriptor_cache = *v;
  else if (auto old = env("REGISTRY_STORAGE_CACHE_LAYERINFO"); old && !has_blobdescriptor) c.blobdescriptor_cache = *old;
  if (auto v = env("REGISTRY_REDIS_ADDR")) c.redis_addr = *v;
  if (auto v = env("REGISTRY_REDIS_DB")) c.redis_db = database_number(*v, "REGISTRY_REDIS_DB", path);
  if (auto v = env("REGISTRY_REDIS_PASSWORD")) c.redis_password_set = !v->empty();
  if (c.root.empty()) c.root = kDefaultRoot;  // the filesystem driver's own default
  return c;
}

std::string resolve_root(const std::optional<std::string>& root_option, const std::optional<RegistryConfig>& config) {
  if (root_option) return *root_option;
  if (config) return config->root;
  return kDefaultRoot;
}

}  // namespace regsweep::storage
