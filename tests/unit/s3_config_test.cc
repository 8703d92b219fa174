// storage/s3_config: the registry's storage.s3 section (read through load_registry_config,
// from real temporary files, with a made-up environment), s3:// URLs, and credentials.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "regsweep/error.h"
#include "regsweep/storage/registry_config.h"
#include "regsweep/storage/s3_config.h"

namespace regsweep::storage {
namespace {

namespace fs = std::filesystem;

using Env = std::map<std::string, std::string>;

std::optional<std::string> lookup(const char* name, const void* context) {
  const Env& env = *static_cast<const Env*>(context);
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

class S3ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("regsweep-s3-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& content, const std::string& name = "config.yml") {
    fs::path p = dir_ / name;
    std::ofstream(p) << content;
    return p.string();
  }

  // A config whose storage.s3 holds `keys` (lines "key: value", indented here).
  std::string config(const std::string& keys) {
    std::string indented;
    std::string line;
    for (char ch : keys + "\n") {
      if (ch == '\n') {
        if (!line.empty()) indented += "    " + line + "\n";
        line.clear();
      } else {
        line += ch;
      }
    }
    return write("version: 0.1\nstorage:\n  s3:\n" + indented + "  delete:\n    enabled: true\n");
  }

  S3Config load(const std::string& path) {
    RegistryConfig c = load_registry_config(path, lookup, &env_);
    EXPECT_TRUE(c.s3.has_value()) << path;
    return c.s3.value_or(S3Config{});
  }

  // The Error that loading `path` throws (its path checked to be the file); "" when none.
  std::string refusal(const std::string& path) {
    try {
      load_registry_config(path, lookup, &env_);
    } catch (const Error& e) {
      EXPECT_EQ(e.path(), path);
      return e.what();
    }
    return "";
  }

  fs::path dir_;
  Env env_;
};

// --- every key ---

TEST_F(S3ConfigTest, MinimalDefaults) {
  std::string path = config("bucket: images\nregion: eu-west-1");
  RegistryConfig rc = load_registry_config(path, lookup, &env_);
  EXPECT_EQ(rc.driver, "s3");
  EXPECT_EQ(rc.root, "");
  EXPECT_TRUE(rc.delete_enabled);
  ASSERT_TRUE(rc.s3);
  const S3Config& c = *rc.s3;
  EXPECT_EQ(c.source, path);
  EXPECT_EQ(c.section, "storage.s3");
  EXPECT_EQ(c.bucket, "images");
  EXPECT_EQ(c.region, "eu-west-1");
  EXPECT_EQ(c.regionendpoint, "");
  EXPECT_EQ(c.rootdirectory, "");
  EXPECT_EQ(c.accesskey, "");
  EXPECT_EQ(c.secretkey, "");
  EXPECT_TRUE(c.secure);
  EXPECT_TRUE(c.v4auth);
  EXPECT_FALSE(c.skipverify);
  EXPECT_FALSE(c.path_style);
  EXPECT_EQ(c.chunksize, 10u << 20);
  EXPECT_EQ(c.multipartcopychunksize, 32u << 20);
  EXPECT_EQ(c.multipartcopymaxconcurrency, 100u);
  EXPECT_EQ(c.multipartcopythresholdsize, 32u << 20);
  EXPECT_FALSE(c.encrypt);
  EXPECT_EQ(c.keyid, "");
  EXPECT_EQ(c.storageclass, "STANDARD");
  EXPECT_EQ(c.objectacl, "private");
  EXPECT_EQ(c.endpoint_url(), "https://images.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(c.url(), "s3://images");
  EXPECT_EQ(c.object_key("docker/registry/v2/blobs"), "docker/registry/v2/blobs");
}

TEST_F(S3ConfigTest, EveryKey) {
  std::string path = config(R"(accesskey: AKIAEXAMPLE
secretkey: wJalrXUtnFEMI/K7MDENG
region: us-west-2
regionendpoint: http://minio.internal:9000
forcepathstyle: true
bucket: registry-data
encrypt: true
keyid: arn:aws:kms:us-west-2:111122223333:key/abcd
secure: false
skipverify: "true"
v4auth: true
chunksize: 20971520
multipartcopychunksize: "33554432"
multipartcopymaxconcurrency: 7
multipartcopythresholdsize: 0
rootdirectory: /srv/registry/
storageclass: reduced_redundancy
useragent: my-registry/1.0
objectacl: bucket-owner-full-control
usedualstack: false
accelerate: false
usefipsendpoint: false
loglevel: debug
redirectendpoint: https://cdn.example.com
sessiontoken: ignored-by-every-registry)");
  S3Config c = load(path);
  EXPECT_EQ(c.accesskey, "AKIAEXAMPLE");
  EXPECT_EQ(c.secretkey, "wJalrXUtnFEMI/K7MDENG");
  EXPECT_EQ(c.sessiontoken, "");
  EXPECT_EQ(c.region, "us-west-2");
  EXPECT_EQ(c.regionendpoint, "http://minio.internal:9000");
  EXPECT_TRUE(c.path_style);
  EXPECT_EQ(c.bucket, "registry-data");
  EXPECT_TRUE(c.encrypt);
  EXPECT_EQ(c.keyid, "arn:aws:kms:us-west-2:111122223333:key/abcd");
  EXPECT_FALSE(c.secure);
  EXPECT_TRUE(c.skipverify);
  EXPECT_EQ(c.chunksize, 20971520u);
  EXPECT_EQ(c.multipartcopychunksize, 33554432u);
  EXPECT_EQ(c.multipartcopymaxconcurrency, 7u);
  EXPECT_EQ(c.multipartcopythresholdsize, 0u);
  EXPECT_EQ(c.rootdirectory, "srv/registry");
  EXPECT_EQ(c.storageclass, "REDUCED_REDUNDANCY");
  EXPECT_EQ(c.objectacl, "bucket-owner-full-control");
  EXPECT_EQ(c.credentials_from, "storage.s3 in " + path);
  EXPECT_EQ(c.endpoint_url(), "http://minio.internal:9000");
  EXPECT_EQ(c.url(), "s3://registry-data/srv/registry");
  EXPECT_EQ(c.object_key("docker/registry/v2/repositories"), "srv/registry/docker/registry/v2/repositories");
}

TEST_F(S3ConfigTest, S3awsIsTheSameDriver) {
  std::string path = write("version: 0.1\nstorage:\n  s3aws:\n    bucket: b-1\n    region: us-east-1\n");
  RegistryConfig rc = load_registry_config(path, lookup, &env_);
  EXPECT_EQ(rc.driver, "s3aws");
  ASSERT_TRUE(rc.s3);
  EXPECT_EQ(rc.s3->section, "storage.s3aws");
  EXPECT_EQ(rc.s3->bucket, "b-1");
}

TEST_F(S3ConfigTest, RootDirectoryAsTheDriverUsesIt) {
  const std::pair<const char*, const char*> cases[] = {
      {"/", ""}, {"\"\"", ""}, {"//a//", "a"}, {"a/b", "a/b"}, {"/a//b/", "a//b"}, {"registry", "registry"}, {"123", "123"},
  };
  for (const auto& [written, used] : cases) {
    S3Config c = load(config(std::string("bucket: b12\nregion: us-east-1\nrootdirectory: ") + written));
    EXPECT_EQ(c.rootdirectory, used) << written;
  }
}

TEST_F(S3ConfigTest, BooleansAsTheRegistryReadsThem) {
  // YAML booleans (yaml.v2: YAML 1.1 words), and strings that strconv.ParseBool takes
  for (const char* yes : {"true", "True", "yes", "on", "Y", "\"true\"", "\"1\"", "\"t\"", "'TRUE'"})
    EXPECT_TRUE(load(config(std::string("bucket: b12\nregion: us-east-1\nencrypt: ") + yes)).encrypt) << yes;
  for (const char* no : {"false", "no", "off", "N", "\"false\"", "\"0\"", "\"F\""})
    EXPECT_TRUE(load(config(std::string("bucket: b12\nregion: us-east-1\nsecure: ") + no)).secure == false) << no;
  // what the registry refuses: a number, a string ParseBool does not take, a list
  for (const char* bad : {"1", "0", "\"yes\"", "\"on\"", "maybe", "[true]", "1.0"}) {
    std::string what = refusal(config(std::string("bucket: b12\nregion: us-east-1\nskipverify: ") + bad));
    EXPECT_NE(what.find("storage.s3.skipverify is not a boolean"), std::string::npos) << bad << ": " << what;
  }
}

TEST_F(S3ConfigTest, ChunkSize) {
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-1\nchunksize: 5242880")).chunksize, 5242880u);
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-1\nchunksize: \"5242880\"")).chunksize, 5242880u);
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-1\nchunksize: 0x500000")).chunksize, 5242880u);  // a YAML integer
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-1\nchunksize: 5_242_880")).chunksize, 5242880u);
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-1\nchunksize: 5368709120")).chunksize, 5368709120u);
  for (const char* small : {"5242879", "1000", "0", "-1", "\"1000\""}) {
    std::string what = refusal(config(std::string("bucket: b12\nregion: us-east-1\nchunksize: ") + small));
    EXPECT_NE(what.find("storage.s3.chunksize is"), std::string::npos) << small << ": " << what;
    EXPECT_NE(what.find("5242880 (5 MiB) to 5368709120 (5 GiB)"), std::string::npos) << what;
  }
  EXPECT_NE(refusal(config("bucket: b12\nregion: us-east-1\nchunksize: 5368709121")).find("5 GiB"), std::string::npos);
  for (const char* bad : {"10MiB", "\"0x500000\"", "\"010485760\"", "1.5e7", "true", "[1]", "\"\""}) {
    std::string what = refusal(config(std::string("bucket: b12\nregion: us-east-1\nchunksize: ") + bad));
    EXPECT_NE(what.find("storage.s3.chunksize"), std::string::npos) << bad << ": " << what;
  }
  EXPECT_NE(refusal(config("bucket: b12\nregion: us-east-1\nmultipartcopymaxconcurrency: 0")).find("multipartcopymaxconcurrency"),
            std::string::npos);
  EXPECT_NE(refusal(config("bucket: b12\nregion: us-east-1\nmultipartcopychunksize: 100")).find("multipartcopychunksize"),
            std::string::npos);
}

TEST_F(S3ConfigTest, StorageClassAndObjectAcl) {
  for (const char* sc : {"NONE", "standard", "STANDARD_IA", "onezone_ia", "INTELLIGENT_TIERING", "GLACIER_IR", "OUTPOSTS"})
    EXPECT_NE(load(config(std::string("bucket: b12\nregion: us-east-1\nstorageclass: ") + sc)).storageclass, "") << sc;
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-1\nstorageclass: standard_ia")).storageclass, "STANDARD_IA");
  for (const char* bad : {"GLACIER", "DEEP_ARCHIVE", "cheap", "yes", "1"}) {
    std::string what = refusal(config(std::string("bucket: b12\nregion: us-east-1\nstorageclass: ") + bad));
    EXPECT_NE(what.find("storage.s3.storageclass"), std::string::npos) << what;
    EXPECT_NE(what.find("REDUCED_REDUNDANCY"), std::string::npos) << what;
  }
  for (const char* acl : {"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read",
                          "bucket-owner-full-control"})
    EXPECT_EQ(load(config(std::string("bucket: b12\nregion: us-east-1\nobjectacl: ") + acl)).objectacl, acl);
  for (const char* bad : {"Private", "log-delivery-write", "none"}) {
    std::string what = refusal(config(std::string("bucket: b12\nregion: us-east-1\nobjectacl: ") + bad));
    EXPECT_NE(what.find("storage.s3.objectacl is \"" + std::string(bad) + "\""), std::string::npos) << what;
  }
}

TEST_F(S3ConfigTest, StringKeysAsTheDriverPrintsThem) {
  // fmt.Sprint of what YAML made of them: 0x10 is the integer 16, yes is true
  S3Config c = load(config("bucket: 0x10g\nregion: us-east-1\nkeyid: 0755\nrootdirectory: yes\nregionendpoint: 0x10"));
  EXPECT_EQ(c.bucket, "0x10g");  // not an integer: a string
  EXPECT_EQ(c.keyid, "493");     // octal, as Go reads it
  EXPECT_EQ(c.regionendpoint, "16");
  EXPECT_EQ(c.rootdirectory, "true");
  EXPECT_NE(refusal(config("bucket: [a, b]\nregion: us-east-1")).find("storage.s3.bucket is not a single value"), std::string::npos);
  EXPECT_NE(refusal(config("bucket: 1.5\nregion: us-east-1")).find("quote it"), std::string::npos);
}

// --- what the registry refuses to start with ---

TEST_F(S3ConfigTest, MissingBucketOrRegion) {
  EXPECT_NE(refusal(config("region: us-east-1")).find("storage.s3.bucket is not set"), std::string::npos);
  EXPECT_NE(refusal(config("bucket: \"\"\nregion: us-east-1")).find("storage.s3.bucket is not set"), std::string::npos);
  EXPECT_NE(refusal(config("bucket: b12")).find("storage.s3.region is not set"), std::string::npos);
  EXPECT_NE(refusal(config("bucket: b12\nregion: ~")).find("storage.s3.region is not set"), std::string::npos);
  std::string what = refusal(config("bucket: b12\nregion: mars-1"));
  EXPECT_NE(what.find("storage.s3.region is \"mars-1\""), std::string::npos) << what;
  // with an endpoint any region goes
  EXPECT_EQ(load(config("bucket: b12\nregion: mars-1\nregionendpoint: s3.example.com")).region, "mars-1");
  // s3: with nothing under it, `storage: s3`
  EXPECT_NE(refusal(write("version: 0.1\nstorage:\n  s3:\n")).find("storage.s3.bucket is not set"), std::string::npos);
  EXPECT_NE(refusal(write("version: 0.1\nstorage: s3\n")).find("storage.s3.bucket is not set"), std::string::npos);
  EXPECT_NE(refusal(write("version: 0.1\nstorage:\n  s3: images\n")).find("not a mapping"), std::string::npos);
}

TEST_F(S3ConfigTest, RegionWithAnEndpoint) {
  // absent: 2.8 refuses, 3.x would sign for "<nil>": refused
  std::string what = refusal(config("bucket: b12\nregionendpoint: http://127.0.0.1:9000"));
  EXPECT_NE(what.find("storage.s3.region is not set"), std::string::npos) << what;
  // empty: 3.x's AWS SDK takes AWS_REGION
  std::string path = config("bucket: b12\nregion: \"\"\nregionendpoint: http://127.0.0.1:9000");
  EXPECT_NE(refusal(path).find("AWS_REGION"), std::string::npos);
  env_["AWS_DEFAULT_REGION"] = "eu-central-1";
  EXPECT_NE(refusal(path).find("AWS_REGION"), std::string::npos);  // only with AWS_SDK_LOAD_CONFIG
  env_["AWS_SDK_LOAD_CONFIG"] = "1";
  EXPECT_EQ(load(path).region, "eu-central-1");
  env_["AWS_REGION"] = "minio-1";
  EXPECT_EQ(load(path).region, "minio-1");
  // an AWS region is never taken from AWS_REGION
  EXPECT_NE(refusal(config("bucket: b12")).find("storage.s3.region is not set"), std::string::npos);
}

TEST_F(S3ConfigTest, V4AuthFalseIsRefused) {
  for (const char* keys : {"bucket: b12\nregion: us-east-1\nv4auth: false",
                           "bucket: b12\nregion: us-east-1\nregionendpoint: http://ceph:7480\nv4auth: \"false\""}) {
    std::string path = config(keys);
    std::string what = refusal(path);
    EXPECT_NE(what.find("regsweep signs with AWS Signature Version 4 only; v4auth: false (SigV2) is not supported"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("storage.s3.v4auth"), std::string::npos) << what;  // and refusal() checks the Error names the file
  }
  env_["REGISTRY_STORAGE_S3_V4AUTH"] = "false";
  std::string what = refusal(config("bucket: b12\nregion: us-east-1"));
  EXPECT_NE(what.find("REGISTRY_STORAGE_S3_V4AUTH"), std::string::npos) << what;
}

TEST_F(S3ConfigTest, RegionEndpointShapes) {
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-1\nregionendpoint: minio:9000")).endpoint_url(), "https://minio:9000");
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-1\nregionendpoint: minio:9000\nsecure: false")).endpoint_url(), "http://minio:9000");
  // a scheme in the endpoint wins over secure, as in the AWS SDK
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-1\nregionendpoint: https://minio:9000/\nsecure: false")).endpoint_url(),
            "https://minio:9000");
  for (const char* bad : {"ftp://minio", "http://minio:9000/s3", "http://minio/?x=1", "http://"}) {
    std::string what = refusal(config(std::string("bucket: b12\nregion: us-east-1\nregionendpoint: \"") + bad + "\""));
    EXPECT_NE(what.find("storage.s3.regionendpoint"), std::string::npos) << bad << ": " << what;
  }
  std::string what = refusal(config("bucket: b12\nregion: us-east-1\nregionendpoint: http://user:hunter2@minio:9000"));
  EXPECT_NE(what.find("user information"), std::string::npos) << what;
  EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
}

// --- path style and the endpoint ---

TEST_F(S3ConfigTest, PathStyle) {
  // 2.8: a regionendpoint means path style
  S3Config c = load(config("bucket: b12\nregion: us-east-1\nregionendpoint: http://minio:9000"));
  EXPECT_TRUE(c.path_style);
  EXPECT_EQ(c.endpoint_url(), "http://minio:9000");
  // 3.x: forcepathstyle says, endpoint or not
  c = load(config("bucket: b12\nregion: us-east-1\nregionendpoint: http://minio:9000\nforcepathstyle: false"));
  EXPECT_FALSE(c.path_style);
  EXPECT_EQ(c.endpoint_url(), "http://b12.minio:9000");
  c = load(config("bucket: b12\nregion: eu-west-1\nforcepathstyle: true"));
  EXPECT_TRUE(c.path_style);
  EXPECT_EQ(c.endpoint_url(), "https://s3.eu-west-1.amazonaws.com");
  EXPECT_NE(refusal(config("bucket: b12\nregion: us-east-1\nforcepathstyle: sometimes")).find("forcepathstyle"), std::string::npos);
}

TEST_F(S3ConfigTest, AwsEndpoints) {
  EXPECT_EQ(load(config("bucket: b12\nregion: cn-north-1")).endpoint_url(), "https://b12.s3.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(load(config("bucket: b12\nregion: us-gov-west-1")).endpoint_url(), "https://b12.s3.us-gov-west-1.amazonaws.com");
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-1\nsecure: false")).endpoint_url(), "http://b12.s3.us-east-1.amazonaws.com");
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-2\nusedualstack: true")).endpoint_url(),
            "https://b12.s3.dualstack.us-east-2.amazonaws.com");
  EXPECT_EQ(load(config("bucket: b12\nregion: us-east-2\nusefipsendpoint: true")).endpoint_url(),
            "https://b12.s3-fips.us-east-2.amazonaws.com");
  // a bucket with dots over https, or one that cannot be a host name: path style, as the SDK does
  EXPECT_EQ(load(config("bucket: my.bucket\nregion: us-east-1")).endpoint_url(), "https://s3.us-east-1.amazonaws.com");
  EXPECT_EQ(load(config("bucket: my.bucket\nregion: us-east-1\nsecure: false")).endpoint_url(),
            "http://my.bucket.s3.us-east-1.amazonaws.com");
  EXPECT_EQ(load(config("bucket: Legacy_Bucket\nregion: us-east-1")).endpoint_url(), "https://s3.us-east-1.amazonaws.com");
}

// --- the environment ---

TEST_F(S3ConfigTest, EnvironmentOverridesEveryKey) {
  std::string path = config("bucket: from-file\nregion: us-east-1\naccesskey: file-key\nsecretkey: file-secret");
  env_ = {
      {"REGISTRY_STORAGE_S3_BUCKET", "from-env"},
      {"REGISTRY_STORAGE_S3_REGION", "eu-west-2"},
      {"REGISTRY_STORAGE_S3_REGIONENDPOINT", "s3.internal:8443"},
      {"REGISTRY_STORAGE_S3_ROOTDIRECTORY", "/env/root"},
      {"REGISTRY_STORAGE_S3_ACCESSKEY", "env-key"},
      {"REGISTRY_STORAGE_S3_SECRETKEY", "env-secret"},
      {"REGISTRY_STORAGE_S3_SECURE", "false"},
      {"REGISTRY_STORAGE_S3_V4AUTH", "true"},
      {"REGISTRY_STORAGE_S3_SKIPVERIFY", "true"},
      {"REGISTRY_STORAGE_S3_CHUNKSIZE", "8388608"},
      {"REGISTRY_STORAGE_S3_ENCRYPT", "yes"},
      {"REGISTRY_STORAGE_S3_KEYID", "alias/registry"},
      {"REGISTRY_STORAGE_S3_STORAGECLASS", "STANDARD_IA"},
      {"REGISTRY_STORAGE_S3_OBJECTACL", "bucket-owner-read"},
      {"REGISTRY_STORAGE_S3_FORCEPATHSTYLE", "false"},
      {"REGISTRY_STORAGE_S3_SESSIONTOKEN", "ignored"},
  };
  S3Config c = load(path);
  EXPECT_EQ(c.bucket, "from-env");
  EXPECT_EQ(c.region, "eu-west-2");
  EXPECT_EQ(c.regionendpoint, "s3.internal:8443");
  EXPECT_EQ(c.rootdirectory, "env/root");
  EXPECT_EQ(c.accesskey, "env-key");
  EXPECT_EQ(c.secretkey, "env-secret");
  EXPECT_EQ(c.sessiontoken, "");
  EXPECT_FALSE(c.secure);
  EXPECT_TRUE(c.skipverify);
  EXPECT_EQ(c.chunksize, 8388608u);
  EXPECT_TRUE(c.encrypt);
  EXPECT_EQ(c.keyid, "alias/registry");
  EXPECT_EQ(c.storageclass, "STANDARD_IA");
  EXPECT_EQ(c.objectacl, "bucket-owner-read");
  EXPECT_FALSE(c.path_style);
  EXPECT_EQ(c.endpoint_url(), "http://from-env.s3.internal:8443");
  EXPECT_NE(c.credentials_from.find("REGISTRY_STORAGE_S3_"), std::string::npos) << c.credentials_from;
}

TEST_F(S3ConfigTest, EnvironmentValuesAreYaml) {
  std::string path = config("bucket: b12\nregion: us-east-1");
  env_["REGISTRY_STORAGE_S3_SECURE"] = "1";  // YAML makes it the integer 1: refused, as by the registry
  std::string what = refusal(path);
  EXPECT_NE(what.find("REGISTRY_STORAGE_S3_SECURE is not a boolean"), std::string::npos) << what;
  env_ = {{"REGISTRY_STORAGE_S3_CHUNKSIZE", "100"}};
  what = refusal(path);
  EXPECT_NE(what.find("REGISTRY_STORAGE_S3_CHUNKSIZE is 100"), std::string::npos) << what;
  env_ = {{"REGISTRY_STORAGE_S3_REGION", ""}};  // an empty value is YAML's null
  EXPECT_NE(refusal(path).find("REGISTRY_STORAGE_S3_REGION is not set"), std::string::npos);
  env_ = {{"REGISTRY_STORAGE_S3_SECRETKEY", "{unclosed"}};
  what = refusal(path);
  EXPECT_NE(what.find("REGISTRY_STORAGE_S3_SECRETKEY"), std::string::npos) << what;
  EXPECT_EQ(what.find("unclosed"), std::string::npos) << what;
}

TEST_F(S3ConfigTest, EnvironmentMakesTheSection) {
  // `s3:` with nothing under it, no storage at all, `storage: s3`: the variables fill it
  env_ = {{"REGISTRY_STORAGE_S3_BUCKET", "b12"}, {"REGISTRY_STORAGE_S3_REGION", "us-east-1"}};
  for (const char* content : {"version: 0.1\nstorage:\n  s3:\n", "version: 0.1\n", "version: 0.1\nstorage: s3\n",
                              "version: 0.1\nstorage:\n  delete:\n    enabled: true\n"}) {
    std::string path = write(content);
    RegistryConfig rc = load_registry_config(path, lookup, &env_);
    ASSERT_TRUE(rc.s3) << content;
    EXPECT_EQ(rc.s3->bucket, "b12") << content;
  }
  // REGISTRY_STORAGE_S3 replaces the section (the file's bucket is gone), its keys after it
  std::string path = config("bucket: from-file\nregion: us-east-1");
  env_ = {{"REGISTRY_STORAGE_S3", "{region: eu-west-1}"}};
  EXPECT_NE(refusal(path).find("storage.s3.bucket (from REGISTRY_STORAGE_S3) is not set"), std::string::npos) << refusal(path);
  env_["REGISTRY_STORAGE_S3_BUCKET"] = "b12";
  EXPECT_EQ(load(path).region, "eu-west-1");
  // REGISTRY_STORAGE replaces the whole storage
  path = write("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv\n  delete:\n    enabled: true\n");
  env_ = {{"REGISTRY_STORAGE", "s3"}, {"REGISTRY_STORAGE_S3_BUCKET", "b12"}, {"REGISTRY_STORAGE_S3_REGION", "us-east-1"}};
  RegistryConfig rc = load_registry_config(path, lookup, &env_);
  ASSERT_TRUE(rc.s3);
  EXPECT_FALSE(rc.delete_enabled);  // gone with the file's storage
  // and the other way: REGISTRY_STORAGE=filesystem over the file's s3
  path = config("bucket: b12\nregion: us-east-1");
  env_ = {{"REGISTRY_STORAGE", "filesystem"}};
  rc = load_registry_config(path, lookup, &env_);
  EXPECT_FALSE(rc.s3);
  EXPECT_EQ(rc.root, kDefaultRoot);
}

TEST_F(S3ConfigTest, EnvironmentBesideAnotherDriverMakesTwo) {
  // the registry panics: "multiple storage drivers specified in configuration or environment"
  std::string path = write("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv\n");
  env_ = {{"REGISTRY_STORAGE_S3_BUCKET", "b12"}};
  std::string what = refusal(path);
  EXPECT_NE(what.find("2 storage drivers"), std::string::npos) << what;
  EXPECT_NE(what.find("REGISTRY_STORAGE_S3_*"), std::string::npos) << what;
  path = config("bucket: b12\nregion: us-east-1");
  env_ = {{"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/srv"}};
  EXPECT_NE(refusal(path).find("2 storage drivers"), std::string::npos);
  env_ = {{"REGISTRY_STORAGE_S3AWS_BUCKET", "b12"}};
  EXPECT_NE(refusal(path).find("\"s3aws\""), std::string::npos);
}

TEST_F(S3ConfigTest, OtherDriversAreStillRefused) {
  for (const char* driver : {"gcs", "azure", "swift", "inmemory", "oss", "S3"}) {
    std::string what = refusal(write(std::string("version: 0.1\nstorage:\n  ") + driver + ":\n    bucket: x\n"));
    EXPECT_NE(what.find("filesystem and s3 storage drivers only"), std::string::npos) << what;
    EXPECT_NE(what.find(std::string("\"") + driver + "\""), std::string::npos) << what;
  }
}

// The root of an S3 config is its bucket and prefix; a --root naming another storage beside
// it is refused, naming the config and the bucket.
TEST_F(S3ConfigTest, AnS3ConfigsRootIsItsBucketAndAnotherRootBesideItIsRefused) {
  std::string path = config("bucket: b12\nregion: us-east-1\nrootdirectory: reg");
  std::optional<RegistryConfig> rc = load_registry_config(path, lookup, &env_);
  EXPECT_EQ(resolve_root(std::nullopt, rc), "s3://b12/reg");
  EXPECT_EQ(resolve_root(std::string("s3://b12/reg"), rc), "s3://b12/reg");
  try {
    resolve_root(std::string("/srv/registry"), rc);
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find("s3://b12/reg"), std::string::npos) << e.what();
  }
}

// --- secrets never shown ---

TEST_F(S3ConfigTest, SecretsNeverInMessages) {
  const std::string secret = "SuperSecretValue42";
  const std::string with_keys = "bucket: b12\nregion: us-east-1\naccesskey: AKIA" + secret + "\nsecretkey: " + secret + "\n";
  std::vector<std::string> whats;
  auto collect = [&](const std::string& path) { whats.push_back(refusal(path)); };
  collect(config(with_keys + "chunksize: 1"));
  collect(config(with_keys + "v4auth: false"));
  collect(config(with_keys + "storageclass: nope"));
  collect(config("bucket: b12\nregion: us-east-1\naccesskey: [" + secret + "]\nsecretkey: x"));
  collect(config("bucket: b12\nregion: us-east-1\nsecretkey: 1.5e+7"));
  collect(config("bucket: b12\nregion: us-east-1\nregionendpoint: http://" + secret + ":" + secret + "@host"));
  env_ = {{"REGISTRY_STORAGE_S3_SECRETKEY", "[" + secret}};
  collect(config("bucket: b12\nregion: us-east-1"));
  env_.clear();
  // a half pair, and credentials not found
  S3Config half;
  half.source = "/etc/registry.yml";
  half.section = "storage.s3";
  half.bucket = "b12";
  half.secretkey = secret;
  try {
    resolve_s3_credentials(half, lookup, &env_);
  } catch (const Error& e) {
    whats.push_back(std::string(e.what()) + e.hint());
  }
  Env env = {{"AWS_ACCESS_KEY_ID", secret}, {"AWS_SESSION_TOKEN", secret}, {"HOME", dir_.string()}};
  S3Config none = half;
  none.secretkey.clear();
  try {
    resolve_s3_credentials(none, lookup, &env);
  } catch (const Error& e) {
    whats.push_back(std::string(e.what()) + e.hint());
  }
  ASSERT_EQ(whats.size(), 9u);
  for (const std::string& what : whats) {
    EXPECT_FALSE(what.empty());
    EXPECT_EQ(what.find(secret), std::string::npos) << what;
  }
}

// --- credentials ---

class S3CredentialsTest : public S3ConfigTest {
 protected:
  S3Config bare() {
    S3Config c;
    c.source = "/etc/docker/registry/config.yml";
    c.section = "storage.s3";
    c.bucket = "b12";
    c.region = "us-east-1";
    return c;
  }
  std::string failure(S3Config c) {
    try {
      resolve_s3_credentials(c, lookup, &env_);
    } catch (const Error& e) {
      EXPECT_EQ(e.path(), c.source);
      return e.what();
    }
    ADD_FAILURE() << "no exception; credentials from " << c.credentials_from;
    return "";
  }
};

TEST_F(S3CredentialsTest, FromTheConfig) {
  S3Config c = bare();
  c.accesskey = "AKIA1";
  c.secretkey = "s1";
  env_ = {{"AWS_ACCESS_KEY_ID", "AKIA2"}, {"AWS_SECRET_ACCESS_KEY", "s2"}, {"AWS_SESSION_TOKEN", "tok"}};
  resolve_s3_credentials(c, lookup, &env_);
  EXPECT_EQ(c.accesskey, "AKIA1");
  EXPECT_EQ(c.secretkey, "s1");
  EXPECT_EQ(c.sessiontoken, "");  // the registry signs the config's keys without the environment's token
  EXPECT_EQ(c.credentials_from, "storage.s3 in /etc/docker/registry/config.yml");
}

TEST_F(S3CredentialsTest, HalfAPairIsRefused) {
  S3Config c = bare();
  c.accesskey = "AKIA1";
  env_ = {{"AWS_ACCESS_KEY_ID", "AKIA2"}, {"AWS_SECRET_ACCESS_KEY", "s2"}};
  std::string what = failure(c);
  EXPECT_NE(what.find("accesskey but not secretkey"), std::string::npos) << what;
  c = bare();
  c.secretkey = "s1";
  EXPECT_NE(failure(c).find("secretkey but not accesskey"), std::string::npos);
}

TEST_F(S3CredentialsTest, FromTheEnvironment) {
  S3Config c = bare();
  env_ = {{"AWS_ACCESS_KEY_ID", "AKIA2"}, {"AWS_SECRET_ACCESS_KEY", "s2"}, {"AWS_SESSION_TOKEN", "tok"}};
  resolve_s3_credentials(c, lookup, &env_);
  EXPECT_EQ(c.accesskey, "AKIA2");
  EXPECT_EQ(c.secretkey, "s2");
  EXPECT_EQ(c.sessiontoken, "tok");
  EXPECT_EQ(c.credentials_from, "the environment (AWS_ACCESS_KEY_ID)");
  // the AWS SDK's older names
  c = bare();
  env_ = {{"AWS_ACCESS_KEY", "AKIA3"}, {"AWS_SECRET_KEY", "s3"}};
  resolve_s3_credentials(c, lookup, &env_);
  EXPECT_EQ(c.accesskey, "AKIA3");
  EXPECT_EQ(c.secretkey, "s3");
  EXPECT_EQ(c.sessiontoken, "");
  EXPECT_EQ(c.credentials_from, "the environment (AWS_ACCESS_KEY)");
}

TEST_F(S3CredentialsTest, FromTheSharedCredentialsFile) {
  fs::create_directories(dir_ / ".aws");
  write("# comment\n[default]\naws_access_key_id = AKIADEF\naws_secret_access_key=sdef\n\n"
        "[ci]\r\n  aws_access_key_id = AKIACI  \r\naws_secret_access_key = sci\r\naws_session_token = tci\r\n"
        "[half]\naws_access_key_id = AKIAHALF\n"
        "[role]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n",
        ".aws/credentials");
  env_ = {{"HOME", dir_.string()}, {"AWS_ACCESS_KEY_ID", "AKIA-no-secret"}};
  S3Config c = bare();
  resolve_s3_credentials(c, lookup, &env_);
  EXPECT_EQ(c.accesskey, "AKIADEF");
  EXPECT_EQ(c.secretkey, "sdef");
  EXPECT_EQ(c.sessiontoken, "");
  EXPECT_EQ(c.credentials_from, "the shared credentials file " + (dir_ / ".aws/credentials").string() + ", profile default");

  env_["AWS_PROFILE"] = "ci";
  c = bare();
  resolve_s3_credentials(c, lookup, &env_);
  EXPECT_EQ(c.accesskey, "AKIACI");
  EXPECT_EQ(c.secretkey, "sci");
  EXPECT_EQ(c.sessiontoken, "tci");
  EXPECT_NE(c.credentials_from.find("profile ci"), std::string::npos);

  env_["AWS_PROFILE"] = "half";
  std::string what = failure(bare());
  EXPECT_NE(what.find("profile \"half\" has no aws_secret_access_key"), std::string::npos) << what;
  EXPECT_NE(what.find("AWS_ACCESS_KEY_ID is set, but not AWS_SECRET_ACCESS_KEY"), std::string::npos) << what;
  EXPECT_EQ(what.find("AKIAHALF"), std::string::npos) << what;

  env_["AWS_PROFILE"] = "role";
  what = failure(bare());
  EXPECT_NE(what.find("role_arn, which regsweep does not support"), std::string::npos) << what;

  env_["AWS_PROFILE"] = "nobody";
  what = failure(bare());
  EXPECT_NE(what.find("no profile \"nobody\""), std::string::npos) << what;

  // AWS_SHARED_CREDENTIALS_FILE wins over HOME
  std::string other = write("[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = sother\n", "creds");
  env_ = {{"HOME", dir_.string()}, {"AWS_SHARED_CREDENTIALS_FILE", other}};
  c = bare();
  resolve_s3_credentials(c, lookup, &env_);
  EXPECT_EQ(c.accesskey, "AKIAOTHER");
  EXPECT_EQ(c.credentials_from, "the shared credentials file " + other + ", profile default");
}

TEST_F(S3CredentialsTest, NoneFoundSaysWhereItLooked) {
  env_ = {{"HOME", dir_.string()}};
  std::string what = failure(bare());
  EXPECT_NE(what.find("storage.s3 in /etc/docker/registry/config.yml"), std::string::npos) << what;
  EXPECT_NE(what.find("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"), std::string::npos) << what;
  EXPECT_NE(what.find((dir_ / ".aws/credentials").string()), std::string::npos) << what;
  EXPECT_NE(what.find("instance metadata service (IMDS)"), std::string::npos) << what;
  EXPECT_NE(what.find("web identity"), std::string::npos) << what;
  EXPECT_NE(what.find("ECS container credentials"), std::string::npos) << what;
  EXPECT_EQ(what.find("is set here"), std::string::npos) << what;

  env_ = {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token"}, {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"}};
  what = failure(bare());
  EXPECT_NE(what.find("AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set here, and regsweep does not use them"), std::string::npos)
      << what;
  EXPECT_NE(what.find("neither AWS_SHARED_CREDENTIALS_FILE nor HOME is set"), std::string::npos) << what;

  env_ = {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x"}};
  what = failure(bare());
  EXPECT_NE(what.find("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is set here, and regsweep does not use it"), std::string::npos) << what;
}

TEST_F(S3CredentialsTest, ForAUrl) {
  S3Config c = s3_config_from_url("s3://b12/prefix", "", "eu-west-1");
  std::string what;
  try {
    resolve_s3_credentials(c, lookup, &env_);
  } catch (const Error& e) {
    what = e.what();
    EXPECT_EQ(e.path(), "s3://b12/prefix");
  }
  EXPECT_NE(what.find("no S3 credentials for s3://b12/prefix"), std::string::npos) << what;
  env_ = {{"AWS_ACCESS_KEY_ID", "AKIA2"}, {"AWS_SECRET_ACCESS_KEY", "s2"}};
  resolve_s3_credentials(c, lookup, &env_);
  EXPECT_EQ(c.accesskey, "AKIA2");
}

// --- s3:// URLs ---

TEST(S3Url, BucketAndPrefix) {
  S3Config c = s3_config_from_url("s3://registry-data/mirror/v2/", "", "eu-west-1");
  EXPECT_EQ(c.source, "s3://registry-data/mirror/v2/");
  EXPECT_EQ(c.section, "");
  EXPECT_EQ(c.bucket, "registry-data");
  EXPECT_EQ(c.rootdirectory, "mirror/v2");
  EXPECT_EQ(c.region, "eu-west-1");
  EXPECT_FALSE(c.path_style);
  EXPECT_EQ(c.endpoint_url(), "https://registry-data.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(c.url(), "s3://registry-data/mirror/v2");
  EXPECT_EQ(s3_config_from_url("s3://abc", "", "us-east-1").rootdirectory, "");
  EXPECT_EQ(s3_config_from_url("s3://abc/", "", "us-east-1").rootdirectory, "");
  EXPECT_EQ(s3_config_from_url("s3://abc//x//", "", "us-east-1").rootdirectory, "x");
  EXPECT_TRUE(is_s3_url("s3://x"));
  EXPECT_FALSE(is_s3_url("/var/lib/registry"));
  EXPECT_FALSE(is_s3_url("S3://x"));
}

TEST(S3Url, WithAnEndpoint) {
  S3Config c = s3_config_from_url("s3://b12/p", "http://127.0.0.1:9000", "");
  EXPECT_TRUE(c.path_style);
  EXPECT_FALSE(c.secure);
  EXPECT_EQ(c.region, "us-east-1");
  EXPECT_EQ(c.endpoint_url(), "http://127.0.0.1:9000");
  c = s3_config_from_url("s3://b12", "minio.example.com", "home-1");
  EXPECT_TRUE(c.secure);
  EXPECT_EQ(c.region, "home-1");
  EXPECT_EQ(c.endpoint_url(), "https://minio.example.com");
  EXPECT_THROW(s3_config_from_url("s3://b12", "http://minio/path", ""), UsageError);
}

TEST(S3Url, Refusals) {
  const std::string bad[] = {
      "s3://",           "s3:///prefix",     "s3://ab",          "s3://Upper-Case", "s3://under_score", "s3://-start",
      "s3://end-",       "s3://two..dots",   "s3://192.168.1.1", "s3://b12?x=1",    "gs://b12",         "/var/lib/registry",
      "s3://" + std::string(64, 'a'),
  };
  for (const std::string& url : bad) {
    try {
      s3_config_from_url(url, "", "us-east-1");
      ADD_FAILURE() << "no exception for " << url;
    } catch (const UsageError& e) {
      EXPECT_EQ(e.path(), url);
    }
  }
  EXPECT_NO_THROW(s3_config_from_url("s3://" + std::string(63, 'a'), "", "us-east-1"));
  EXPECT_NO_THROW(s3_config_from_url("s3://a.b-c.d1", "", "us-east-1"));
  // AWS without a region: refused rather than guessed
  try {
    s3_config_from_url("s3://b12", "", "");
    ADD_FAILURE() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_EQ(e.path(), "s3://b12");
    EXPECT_NE(std::string(e.what()).find("region"), std::string::npos) << e.what();
  }
  EXPECT_THROW(s3_config_from_url("s3://b12", "", "Not A Region"), UsageError);
}

}  // namespace
}  // namespace regsweep::storage
