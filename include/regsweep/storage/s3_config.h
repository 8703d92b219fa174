#pragma once
// PROVISIONAL (replaced by the s3cfg branch): the registry's storage.s3 settings.
#include <cstdint>
#include <string>

namespace regsweep::storage {

inline constexpr const char* kS3Scheme = "s3://";

struct S3Config {
  std::string bucket, region, regionendpoint, rootdirectory;
  std::string accesskey, secretkey, sessiontoken;
  bool secure = true, v4auth = true, skipverify = false;
  bool path_style = false;
  std::uint64_t chunksize = 10u << 20;
  bool encrypt = false;
  std::string keyid, storageclass = "STANDARD", objectacl = "private";
  std::uint64_t multipartcopychunksize = 32u << 20, multipartcopythresholdsize = 32u << 20;
  std::string credentials_from;
  std::string endpoint_url() const {
    if (regionendpoint.empty()) return "https://s3." + region + ".amazonaws.com";
    if (regionendpoint.find("://") != std::string::npos) return regionendpoint;
    return (secure ? "https://" : "http://") + regionendpoint;
  }
};

}  // namespace regsweep::storage

#include <cstdlib>
#include <stdexcept>
namespace regsweep::storage {
// PROVISIONAL
inline S3Config s3_config_from_url(const std::string& url, const std::string& endpoint, const std::string& region) {
  S3Config c;
  std::string rest = url.substr(5);
  auto slash = rest.find('/');
  c.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) c.rootdirectory = rest.substr(slash + 1);
  while (!c.rootdirectory.empty() && c.rootdirectory.back() == '/') c.rootdirectory.pop_back();
  c.regionendpoint = endpoint;
  c.path_style = !endpoint.empty();
  c.region = region.empty() ? "us-east-1" : region;
  return c;
}
inline void resolve_s3_credentials(S3Config& c) {
  if (c.accesskey.empty()) {
    if (const char* v = std::getenv("AWS_ACCESS_KEY_ID")) c.accesskey = v;
    if (const char* v = std::getenv("AWS_SECRET_ACCESS_KEY")) c.secretkey = v;
    if (const char* v = std::getenv("AWS_SESSION_TOKEN")) c.sessiontoken = v;
    c.credentials_from = "the environment (AWS_ACCESS_KEY_ID)";
  }
}
}  // namespace regsweep::storage
