// storage/registry_config: the registry's config.yml, from real temporary files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "regsweep/apply/live_registry.h"
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
    "REGISTRY_STORAGE_CACHE_LAYERINFO", "REGISTRY_REDIS_DB", "REGISTRY_REDIS_PASSWORD", "REGISTRY_STORAGE",
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
  gcs:
    bucket: images
  delete:
    enabled: true
)");
  try {
    load_registry_config(path);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find("\"gcs\""), std::string::npos) << e.what();
  }
}

// s3 is read (tests/unit/s3_config_test.cc has the rest): no folder root.
TEST_F(RegistryConfigTest, S3DriverIsRead) {
  std::string path = write(R"(version: 0.1
storage:
  s3:
    region: us-east-1
    bucket: images
  delete:
    enabled: true
)");
  RegistryConfig c = load_registry_config(path);
  EXPECT_EQ(c.driver, "s3");
  EXPECT_EQ(c.root, "");
  ASSERT_TRUE(c.s3);
  EXPECT_EQ(c.s3->bucket, "images");
  EXPECT_TRUE(c.delete_enabled);
}

// Registry 2.8.2 refuses to start with two drivers ("must provide exactly one storage type.
// Provided: [filesystem s3]"); regsweep must not pick the filesystem one and go on.
TEST_F(RegistryConfigTest, TwoDriversAreRefused) {
  const char* const configs[] = {
      "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry\n  s3:\n    region: us-east-1\n"
      "    bucket: images\n  delete:\n    enabled: true\n",
      "version: 0.1\nstorage:\n  s3:\n    bucket: images\n  cache:\n    blobdescriptor: inmemory\n"
      "  filesystem:\n    rootdirectory: /srv/registry\n",
  };
  for (const char* content : configs) {
    std::string path = write(content);
    try {
      load_registry_config(path);
      ADD_FAILURE() << "no exception for:\n" << content;
    } catch (const Error& e) {
      std::string what = e.what();
      EXPECT_EQ(e.path(), path);
      EXPECT_NE(what.find("\"filesystem\""), std::string::npos) << what;
      EXPECT_NE(what.find("\"s3\""), std::string::npos) << what;
      EXPECT_NE(what.find("2 storage drivers"), std::string::npos) << what;
    }
  }
}

// What the registry reads beside its one driver is not a second driver.
TEST_F(RegistryConfigTest, OptionsBesideTheDriverAreNotDrivers) {
  std::string path = write(R"(version: 0.1
storage:
  filesystem:
    rootdirectory: /srv/registry
  delete:
    enabled: true
  maintenance:
    readonly:
      enabled: false
  cache:
    blobdescriptor: inmemory
  redirect:
    disable: true
  tag:
    concurrencylimit: 8
)");
  EXPECT_EQ(load_registry_config(path).root, "/srv/registry");
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

// --- the blob descriptor cache and its redis database (gc under a read-only registry) ---

TEST_F(RegistryConfigTest, RedisDatabaseAndPassword) {
  std::string path = write(R"(storage:
  filesystem:
    rootdirectory: /x
  cache:
    blobdescriptor: redis
redis:
  addr: redis.internal:6380
  password: s3cret
  db: 3
  dialtimeout: 10ms
)");
  RegistryConfig c = load_registry_config(path);
  EXPECT_EQ(c.blobdescriptor_cache, "redis");
  EXPECT_EQ(c.redis_addr, "redis.internal:6380");
  EXPECT_EQ(c.redis_db, 3);
  EXPECT_TRUE(c.redis_password_set);
}

TEST_F(RegistryConfigTest, RedisDefaults) {
  RegistryConfig c = load_registry_config(write(kMinimal));
  EXPECT_EQ(c.redis_db, 0);
  EXPECT_FALSE(c.redis_password_set);
  std::string path = write("storage:\n  filesystem:\n    rootdirectory: /x\nredis:\n  addr: r:6379\n  password: \"\"\n  db:\n");
  c = load_registry_config(path);
  EXPECT_EQ(c.redis_db, 0);
  EXPECT_FALSE(c.redis_password_set);
}

TEST_F(RegistryConfigTest, RedisEnvironmentOverrides) {
  std::string path = write("storage:\n  filesystem:\n    rootdirectory: /x\nredis:\n  addr: r:6379\n  db: 1\n");
  ::setenv("REGISTRY_REDIS_DB", "7", 1);
  ::setenv("REGISTRY_REDIS_PASSWORD", "from-env", 1);
  RegistryConfig c = load_registry_config(path);
  EXPECT_EQ(c.redis_db, 7);
  EXPECT_TRUE(c.redis_password_set);
  ::setenv("REGISTRY_REDIS_PASSWORD", "", 1);
  EXPECT_FALSE(load_registry_config(path).redis_password_set);
}

TEST_F(RegistryConfigTest, RedisDatabaseNotANumber) {
  for (const char* db : {"two", "-1", "1.5", "[1]"}) {
    std::string path = write(std::string("storage:\n  filesystem:\n    rootdirectory: /x\nredis:\n  db: ") + db + "\n");
    try {
      load_registry_config(path);
      ADD_FAILURE() << "no exception for db " << db;
    } catch (const Error& e) {
      EXPECT_EQ(e.path(), path) << db;
      EXPECT_NE(std::string(e.what()).find("redis"), std::string::npos) << e.what();
    }
  }
  std::string path = write(kMinimal);
  ::setenv("REGISTRY_REDIS_DB", "x", 1);
  EXPECT_THROW(load_registry_config(path), Error);
}

TEST_F(RegistryConfigTest, LayerinfoIsTheOldName) {
  std::string path = write("storage:\n  filesystem:\n    rootdirectory: /x\n  cache:\n    layerinfo: redis\n");
  EXPECT_EQ(load_registry_config(path).blobdescriptor_cache, "redis");
  path = write("storage:\n  filesystem:\n    rootdirectory: /x\n  cache:\n    layerinfo: redis\n    blobdescriptor: inmemory\n");
  EXPECT_EQ(load_registry_config(path).blobdescriptor_cache, "inmemory");
  ::setenv("REGISTRY_STORAGE_CACHE_LAYERINFO", "redis", 1);
  EXPECT_EQ(load_registry_config(path).blobdescriptor_cache, "inmemory");  // blobdescriptor wins
  EXPECT_EQ(load_registry_config(write(kMinimal)).blobdescriptor_cache, "redis");
}

RegistryConfig redis_config(const std::string& addr, int db = 0, bool password = false) {
  RegistryConfig c;
  c.blobdescriptor_cache = "redis";
  c.redis_addr = addr;
  c.redis_db = db;
  c.redis_password_set = password;
  return c;
}

TEST(RedisFlushCommand, HostPortDatabase) {
  EXPECT_EQ(apply::redis_flush_command(redis_config("127.0.0.1:6380", 2)), "redis-cli -h 127.0.0.1 -p 6380 -n 2 FLUSHDB");
  EXPECT_EQ(apply::redis_flush_command(redis_config("redis:6379")), "redis-cli -h redis -p 6379 -n 0 FLUSHDB");
  EXPECT_EQ(apply::redis_flush_command(redis_config("[::1]:7000", 1)), "redis-cli -h ::1 -p 7000 -n 1 FLUSHDB");
  EXPECT_EQ(apply::redis_flush_command(redis_config(":6379")), "redis-cli -h 127.0.0.1 -p 6379 -n 0 FLUSHDB");
  EXPECT_EQ(apply::redis_flush_command(redis_config("")), "redis-cli -h 127.0.0.1 -p 6379 -n 0 FLUSHDB");
  EXPECT_EQ(apply::redis_flush_command(redis_config("cache.example")), "redis-cli -h cache.example -p 6379 -n 0 FLUSHDB");
  // whatever the config says, the command stays one line of shell words
  EXPECT_EQ(apply::redis_flush_command(redis_config("a b;rm -rf x:1")), "redis-cli -h 'a b;rm -rf x' -p 1 -n 0 FLUSHDB");
}

TEST(RedisFlushCommand, PasswordIsAskedNeverPrinted) {
  auto cmd = apply::redis_flush_command(redis_config("r:6379", 0, true));
  ASSERT_TRUE(cmd);
  EXPECT_EQ(*cmd, "redis-cli -h r -p 6379 -n 0 --askpass FLUSHDB");
}

TEST(RedisFlushCommand, NoneWithoutTheRedisCache) {
  RegistryConfig c = redis_config("r:6379");
  for (const char* cache : {"inmemory", "", "Redis"}) {
    c.blobdescriptor_cache = cache;
    EXPECT_EQ(apply::redis_flush_command(c), std::nullopt) << cache;
  }
}

TEST(RestartAdvice, RedisNamesTheCommand) {
  apply::LiveRegistry r{42, "pid 42: docker-registry serve /etc/docker/registry/config.yml", true, false,
                        redis_config("127.0.0.1:6390", 5), ""};
  std::string line = apply::restart_advice({r}, 3, std::nullopt);
  EXPECT_NE(line.find("restart"), std::string::npos) << line;
  EXPECT_NE(line.find("pid 42"), std::string::npos) << line;
  EXPECT_NE(line.find("3 swept blobs"), std::string::npos) << line;
  EXPECT_NE(line.find("`redis-cli -h 127.0.0.1 -p 6390 -n 5 FLUSHDB`"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
}

TEST(RestartAdvice, InMemoryHasNoRedisCommand) {
  RegistryConfig c;
  c.blobdescriptor_cache = "inmemory";
  apply::LiveRegistry r{7, "pid 7: registry serve c.yml", true, false, c, ""};
  std::string line = apply::restart_advice({r}, 1, std::nullopt);
  EXPECT_NE(line.find("restart"), std::string::npos) << line;
  EXPECT_NE(line.find("1 swept blob"), std::string::npos) << line;
  EXPECT_EQ(line.find("swept blobs"), std::string::npos) << line;
  EXPECT_EQ(line.find("redis-cli"), std::string::npos) << line;
}

TEST(RestartAdvice, NoCacheNamedIsStillARestart) {
  RegistryConfig c;  // no storage.cache: the file names none, the process may have started with one
  apply::LiveRegistry r{8, "pid 8: registry serve c.yml", true, false, c, ""};
  std::string line = apply::restart_advice({r}, 2, std::nullopt);
  EXPECT_NE(line.find("restart"), std::string::npos) << line;
  EXPECT_NE(line.find("no blob descriptor cache"), std::string::npos) << line;
  EXPECT_EQ(line.find("in-memory"), std::string::npos) << line;
  EXPECT_EQ(line.find("redis-cli"), std::string::npos) << line;
}

TEST(RestartAdvice, FallbackConfigAndSeveralRegistries) {
  // one found by its HTTP address (no config of its own): --config's redis is used; the same
  // redis database is named once
  apply::LiveRegistry a{0, "a registry answers on http.addr :5000", true, false, std::nullopt, ""};
  apply::LiveRegistry b{9, "pid 9: registry serve x.yml", true, false, redis_config("10.0.0.1:6379", 1), ""};
  std::string line = apply::restart_advice({a, b}, -1, redis_config("10.0.0.1:6379", 1));
  EXPECT_NE(line.find("registries"), std::string::npos) << line;
  EXPECT_NE(line.find("the swept blobs"), std::string::npos) << line;
  auto first = line.find("redis-cli");
  ASSERT_NE(first, std::string::npos) << line;
  EXPECT_EQ(line.find("redis-cli", first + 1), std::string::npos) << line;
}

}  // namespace
}  // namespace regsweep::storage
