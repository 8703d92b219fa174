#pragma once
// Where an S3 registry keeps its storage, and how to reach it: the registry's `storage.s3`
// section, read as its s3-aws driver reads it (registry 2.8.2, the Debian one, and 3.x:
// FromParameters in registry/storage/driver/s3-aws/s3.go), or an s3://bucket/prefix URL; and
// the credentials for the requests. docs/s3-config.md has every key: what each registry
// version does with it, and what regsweep does.
//
// The section itself is read by load_registry_config (registry_config.h), with the
// registry's REGISTRY_STORAGE_S3_* environment overrides. Credentials are a second step
// (resolve_s3_credentials), so that reading a config never needs them.
#include <cstdint>
#include <string>
#include <string_view>

#include "regsweep/storage/env_lookup.h"

namespace regsweep::storage {

inline constexpr std::uint64_t kS3MinChunkSize = 5ull << 20;  // S3's smallest multipart part (not the last)
inline constexpr std::uint64_t kS3MaxChunkSize = 5ull << 30;  // S3's largest part
inline constexpr std::uint64_t kS3DefaultChunkSize = 2 * kS3MinChunkSize;  // the driver's default

struct S3Config {
  std::string source;   // the registry config file, or the s3:// URL: every Error about it names this
  std::string section;  // "storage.s3" or "storage.s3aws" (the driver's two names); "" for a URL

  std::string bucket;
  std::string region;          // signs the requests; with regionendpoint, any name the endpoint accepts
  std::string regionendpoint;  // as written; "" = AWS's endpoint for the region
  std::string rootdirectory;   // as the driver uses it: no leading or trailing '/' ("" = the bucket's root)

  // Credentials: the config's pair as read (sessiontoken empty: no registry version reads a
  // `sessiontoken` key); then what resolve_s3_credentials chose.
  std::string accesskey, secretkey, sessiontoken;
  std::string credentials_from;  // for messages, never a secret: "storage.s3 in <file>",
                                 // "the environment (AWS_ACCESS_KEY_ID)", "the shared credentials file <path>, profile <p>"

  bool secure = true;       // https to a schemeless regionendpoint and to AWS (a scheme in regionendpoint wins)
  bool v4auth = true;       // always true: false (SigV2) is refused
  bool skipverify = false;  // TLS certificates are not checked
  bool path_style = false;  // https://host/bucket/key, not https://bucket.host/key: forcepathstyle (3.x) when
                            // given, else whether regionendpoint is set (2.8 always forces it with an endpoint)
  bool usedualstack = false;     // 3.x, AWS only: s3.dualstack.<region>...
  bool usefipsendpoint = false;  // 3.x, AWS only: s3-fips.<region>...

  std::uint64_t chunksize = kS3DefaultChunkSize;  // multipart upload part size
  std::uint64_t multipartcopychunksize = 32ull << 20;
  std::uint64_t multipartcopymaxconcurrency = 100;
  std::uint64_t multipartcopythresholdsize = 32ull << 20;

  bool encrypt = false;                   // server-side encryption on writes (AES256, or aws:kms with keyid)
  std::string keyid;                      // KMS key for encrypt
  std::string storageclass = "STANDARD";  // upper case; "NONE": no storage class header
  std::string objectacl = "private";      // canned ACL on writes

  // scheme://host[:port] the requests go to: regionendpoint (https:// or http://, after
  // `secure`, when it has no scheme), else s3[-fips][.dualstack].<region>.<AWS domain>; with
  // the bucket in front of the host unless path_style or the bucket cannot be a host name
  // (as the AWS SDK decides: not DNS-safe, or a '.' over https). Error for a regionendpoint
  // regsweep cannot send to (checked already where a config or URL is read).
  std::string endpoint_url() const;
  // s3://bucket/rootdirectory, for messages.
  std::string url() const;
  // The object key of a registry path ("docker/registry/v2/..."): rootdirectory + "/" + path.
  std::string object_key(std::string_view path) const;
};

// An S3 location without a registry config: s3://bucket[/prefix] (the prefix becomes
// rootdirectory). The bucket must follow S3's naming rules (3-63 of a-z 0-9 . -, starting
// and ending with a letter or digit, no "..", not an IPv4 address). With an endpoint
// (host[:port], or a URL: http:// makes secure false): path style, region "us-east-1" when
// none is given (what MinIO and most S3 servers expect). Without one, AWS: a region is
// required, since a wrong one makes AWS refuse every signed request. Throws UsageError
// naming the URL.
S3Config s3_config_from_url(const std::string& url, const std::string& endpoint, const std::string& region);

// Whether `text` is meant as an s3:// URL.
bool is_s3_url(std::string_view text);

// Chooses the credentials, in the order registry 2.8's driver and 3.x's AWS SDK try them,
// of those regsweep supports:
//   1. accesskey and secretkey from the config (both; one alone is refused: the registry
//      silently passes over a half pair, regsweep will not guess),
//   2. the environment: AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY), AWS_SECRET_ACCESS_KEY (or
//      AWS_SECRET_KEY), AWS_SESSION_TOKEN,
//   3. the shared credentials file: AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials;
//      profile AWS_PROFILE, else "default"; aws_access_key_id, aws_secret_access_key,
//      aws_session_token.
// Sets accesskey, secretkey, sessiontoken and credentials_from. None found: Error (naming
// config.source) that says where it looked, and that the instance metadata service, web
// identity and ECS container credentials are not supported (naming those of their
// variables that are set). No message ever holds a secret.
void resolve_s3_credentials(S3Config& config, EnvLookup env = nullptr, const void* env_context = nullptr);

}  // namespace regsweep::storage
