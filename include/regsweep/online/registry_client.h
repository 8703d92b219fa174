#pragma once
// A client of the registry's HTTP API (distribution's /v2/), on the engine the S3 store uses
// (storage/http_engine.h: libcurl's multi interface on one thread, one pool of keep-alive
// connections, `connections` requests in flight). Thread-safe: the model reader calls it from
// many threads at once.
//
// - Authentication: anonymous, basic, or bearer tokens (distribution's token specification,
//   docker_auth): the challenge of a 401 names the realm and service; a token is asked for per
//   scope (`repository:<name>:pull`, `registry:catalog:*`), kept until shortly before its
//   `expires_in` runs out, and asked for again on a 401 mid-run.
// - Every manifest is asked for with every manifest media type in `Accept` (without the list's
//   type, a registry answers a manifest list's tag with its linux/amd64 child), and checked: its
//   body's SHA-256 against `Docker-Content-Digest` and against the digest asked for.
// - Lists are paged (`n`, then the `Link` header's next page); a Link that loops is an Error.
// - 429, 5xx and lost connections are retried with exponential backoff; every failure is an
//   Error naming the URL and what the status means. No secret is ever part of a message.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "regsweep/online/credentials.h"
#include "regsweep/util/digest.h"

namespace regsweep::online {

// The Accept header of every manifest request.
extern const char* const kManifestAccept;

struct ClientSettings {
  std::string registry;         // "https://host[:port]" or "http://host[:port]" (a path is refused)
  unsigned connections = 16;
  bool insecure = false;        // TLS without verifying the certificate
  std::string ca_cert;          // a CA file trusted (instead of the system's)
  Credentials credentials;
  unsigned page_size = 1000;    // `n` of catalog and tag pages (registry 2.8 answers 400 over its maxentries, 1000)
  int attempts = 6;             // tries of a request that fails with 429, 5xx or no answer
};

// A manifest as the registry served it, checked against its digest.
struct FetchedManifest {
  Digest digest;
  std::string media_type;  // Content-Type, without parameters
  std::string body;
};

// A scope of distribution's token specification: "repository:team/app:pull".
std::string repository_scope(std::string_view repository, std::string_view actions);
inline constexpr std::string_view kCatalogScope = "registry:catalog:*";

// "host:port" of a --registry URL ("https://Registry.example:5000" -> "registry.example:5000");
// UsageError naming it when it is not a scheme (https:// or http://) and a host alone.
std::string registry_host(std::string_view registry_url);

enum class DeleteResult { Deleted, AlreadyGone };

// The registry host a reference starts with, as Docker tells one ("myregistry:5000/team/app:v1",
// "localhost/app:1", "registry.example/app:1": a first component with a '.' or ':', or
// "localhost"), lower case; empty when it has none ("team/app:v1").
std::string reference_host(std::string_view reference);

class RegistryClient {
 public:
  explicit RegistryClient(ClientSettings settings);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // "https://host:port": what messages and the model's root name.
  const std::string& base_url() const;
  // "host:port": the key of Docker's config.json and of the state folder.
  const std::string& host() const;

  // GET /v2/: the registry answers, speaks the API, and accepts who we are (learns the
  // authentication it wants). Error otherwise.
  void check_api();
  // Every repository (`/v2/_catalog`, all pages).
  std::vector<std::string> catalog();
  // The tags of a repository (all pages); nullopt when the registry does not know the name.
  std::optional<std::vector<std::string>> tags(std::string_view repository);
  // A manifest by tag or digest; nullopt on 404.
  std::optional<FetchedManifest> manifest(std::string_view repository, std::string_view reference);
  // A blob's bytes (at most max_bytes), checked against its digest; nullopt on 404.
  std::optional<std::string> blob(std::string_view repository, const Digest& digest, std::size_t max_bytes);

  // The digest a tag (or digest) names now (HEAD with every manifest type in Accept, so that a
  // list's tag gives the list's digest); nullopt on 404.
  std::optional<Digest> manifest_digest(std::string_view repository, std::string_view reference);
  // DELETE /v2/<repository>/manifests/<digest> (scope pull,delete): every tag on it goes too.
  // AlreadyGone on 404. An Error of its own for 401/403 (no `delete` permission: `push` is not
  // enough) and 405 (deletion disabled, or a pull-through cache).
  DeleteResult delete_manifest(std::string_view repository, const Digest& digest);
  // PUT /v2/<repository>/manifests/<reference> with `media_type` as Content-Type (scope pull,push).
  void put_manifest(std::string_view repository, std::string_view reference, std::string_view media_type, std::string_view body);
  // HEAD of a blob: whether the registry still serves it in `repository`.
  bool blob_exists(std::string_view repository, const Digest& digest);

  struct Counters {
    std::uint64_t requests = 0, retries = 0, tokens = 0;
  };
  Counters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace regsweep::online
