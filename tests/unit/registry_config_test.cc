// storage/registry_config: the registry's config.yml, from real temporary files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "regsweep/error.h"
#include "regsweep/storage/registry_config.h"

namespace regsweep::storage {
namespace {

namespace fs = std::filesystem;

// Every variable load_registry_config honours: cleared for each test, restored after.
const char* const kEnv[] = {
    "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "REGISTRY_HTTP_ADDR",
    "REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED", "REGISTRY_STORAGE_DELETE_ENABLED",
    "REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR", "REGISTRY_REDIS_ADDR",
};

class RegistryConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kEnv) {
      if (const char* v = std::getenv(name)) saved_[name] = v;
      ::unsetenv(name);
    }
    dir_ = fs::temp_directory_path() / ("regsweep-config-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    for (const char* name : kEnv) ::unsetenv(name);
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& content, const std::string& name = "config.yml") {
    fs::path p = dir_ / name;
    std::ofstream(p) << content;
    return p.string();
  }

  fs::path dir_;
  std::map<std::string, std::string> saved_;
};

const char* const kMinimal = R"(version: 0.1
storage:
  filesystem:
    rootdirectory: /srv/registry
http:
  addr: 127.0.0.1:5000
)";

TEST_F(RegistryConfigTest, RootDirectory) {
  std::string path = write(kMinimal);
  RegistryConfig c = load_registry_config(path);
  EXPECT_EQ(c.path, path);
  EXPECT_EQ(c.root, "/srv/registry");
  EXPECT_EQ(c.http_addr, "127.0.0.1:5000");
  EXPECT_FALSE(c.readonly);
  EXPECT_FALSE(c.delete_enabled);
  EXPECT_EQ(c.blobdescriptor_cache, "");
  EXPECT_EQ(c.redis_addr, "");
}

TEST_F(RegistryConfigTest, EnvironmentOverridesRoot) {
  std::string path = write(kMinimal);
  ::setenv("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/from/env", 1);
  ::setenv("REGISTRY_HTTP_ADDR", "0.0.0.0:6000", 1);
  RegistryConfig c = load_registry_config(path);
  EXPECT_EQ(c.root, "/from/env");
  EXPECT_EQ(c.http_addr, "0.0.0.0:6000");
  ::unsetenv("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY");
  EXPECT_EQ(load_registry_config(path).root, "/srv/registry");
}

TEST_F(RegistryConfigTest, ReadonlyDeleteCacheRedis) {
  std::string path = write(R"(version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
  maintenance:
    readonly:
      enabled: true
    uploadpurging:
      enabled: false
  cache:
    blobdescriptor: redis
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
redis:
  addr: localhost:6379
  db: 0
)");
  RegistryConfig c = load_registry_config(path);
  EXPECT_EQ(c.root, "/var/lib/docker-registry");
  EXPECT_TRUE(c.readonly);
  EXPECT_TRUE(c.delete_enabled);
  EXPECT_EQ(c.blobdescriptor_cache, "redis");
  EXPECT_EQ(c.http_addr, ":5000");
  EXPECT_EQ(c.redis_addr, "localhost:6379");
}

TEST_F(RegistryConfigTest, EnvironmentOverridesTheRest) {
  std::string path = write(kMinimal);
  ::setenv("REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED", "true", 1);
  ::setenv("REGISTRY_STORAGE_DELETE_ENABLED", "true", 1);
  ::setenv("REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR", "inmemory", 1);
  ::setenv("REGISTRY_REDIS_ADDR", "redis:6379", 1);
  RegistryConfig c = load_registry_config(path);
  EXPECT_TRUE(c.readonly);
  EXPECT_TRUE(c.delete_enabled);
  EXPECT_EQ(c.blobdescriptor_cache, "inmemory");
  EXPECT_EQ(c.redis_addr, "redis:6379");
}

TEST_F(RegistryConfigTest, ReadonlyFalse) {
  std::string path = write(R"(storage:
  filesystem:
    rootdirectory: /x
  maintenance:
    readonly:
      enabled: false
)");
  EXPECT_FALSE(load_registry_config(path).readonly);
}

TEST_F(RegistryConfigTest, YamlBooleansAsTheRegistryReadsThem) {
  for (const char* value : {"on", "On", "Yes", "YES", "y"}) {
    std::string path = write(std::string("storage:\n  filesystem:\n    rootdirectory: /x\n  maintenance:\n"
                                         "    readonly:\n      enabled: ") +
                             value + "\n");
    EXPECT_TRUE(load_registry_config(path).readonly) << value;
  }
}

TEST_F(RegistryConfigTest, DefaultRoot) {
  std::string path = write("version: 0.1\nstorage:\n  filesystem: {}\n");
  EXPECT_EQ(load_registry_config(path).root, kDefaultRoot);
  EXPECT_EQ(std::string(kDefaultRoot), "/var/lib/registry");
}

TEST_F(RegistryConfigTest, OtherDriverIsRefused) {
  std::string path = write(R"(version: 0.1
storage:
  s3:
    region: us-east-1
    bucket: images
  delete:
    enabled: true
)");
  try {
    load_registry_config(path);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find("s3"), std::string::npos) << e.what();
  }
}

TEST_F(RegistryConfigTest, MissingFile) {
  std::string path = (dir_ / "does-not-exist.yml").string();
  try {
    load_registry_config(path);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.path(), path);
  }
}

TEST_F(RegistryConfigTest, InvalidYaml) {
  std::string path = write("storage:\n  filesystem:\n    rootdirectory: [unclosed\n");
  try {
    load_registry_config(path);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.path(), path);
  }
}

TEST_F(RegistryConfigTest, NotAMapping) {
  for (const char* content : {"- storage\n- http\n", "just text\n"}) {
    std::string path = write(content);
    EXPECT_THROW(load_registry_config(path), Error) << content;
  }
}

TEST_F(RegistryConfigTest, WrongShapesDoNotCrash) {
  // storage.filesystem.rootdirectory as a list: not a root, and not a crash either.
  std::string path = write("storage:\n  filesystem:\n    rootdirectory: [a, b]\nhttp: 5000\n");
  RegistryConfig c;
  try {
    c = load_registry_config(path);
  } catch (const Error& e) {
    EXPECT_EQ(e.path(), path);
    return;
  }
  EXPECT_NE(c.root, "[a, b]");
  EXPECT_EQ(c.http_addr, "");
}

TEST(ResolveRoot, Precedence) {
  RegistryConfig c;
  c.root = "/from/config";
  EXPECT_EQ(resolve_root(std::string("/from/option"), c), "/from/option");
  EXPECT_EQ(resolve_root(std::nullopt, c), "/from/config");
  EXPECT_EQ(resolve_root(std::nullopt, std::nullopt), kDefaultRoot);
  EXPECT_EQ(resolve_root(std::string("/from/option"), std::nullopt), "/from/option");
}

}  // namespace
}  // namespace regsweep::storage
