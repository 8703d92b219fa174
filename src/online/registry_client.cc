#include "regsweep/online/registry_client.h"

#include <curl/curl.h>

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "regsweep/error.h"
#include "regsweep/online/challenge.h"
#include "regsweep/online/paging.h"
#include "regsweep/storage/manifest.h"
#include "regsweep/util/format.h"
#include "regsweep/util/sha256.h"
#include "storage/http_engine.h"

namespace regsweep::online {

namespace http = storage::http;
using Clock = std::chrono::steady_clock;

const char* const kManifestAccept =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.oci.artifact.manifest.v1+json, application/vnd.docker.distribution.manifest.v1+prettyjws, "
    "application/vnd.docker.distribution.manifest.v1+json";

std::string repository_scope(std::string_view repository, std::string_view actions) {
  return "repository:" + std::string(repository) + ":" + std::string(actions);
}

namespace {

// What a registry's JSON error body says: "NAME_UNKNOWN: repository name not known to registry".
std::string registry_said(const std::string& body) {
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return {};
  auto errors = doc.find("errors");
  if (errors == doc.end() || !errors->is_array()) return {};
  std::string out;
  for (const auto& e : *errors) {
    if (!e.is_object()) continue;
    std::string code = e.value("code", std::string());
    std::string message = e.value("message", std::string());
    if (!out.empty()) out += "; ";
    out += code + (code.empty() || message.empty() ? "" : ": ") + message;
  }
  return out;
}

bool tls_failure(int curl_code) {
  return curl_code == CURLE_PEER_FAILED_VERIFICATION || curl_code == CURLE_SSL_CONNECT_ERROR ||
         curl_code == CURLE_SSL_CACERT_BADFILE || curl_code == CURLE_SSL_CERTPROBLEM;
}

// Failures that another try may heal: throttling, a server's error, a lost connection. Not a
// TLS failure or a name that does not resolve: they stay.
bool retryable(const http::Response& r) {
  if (r.status == 0)
    return !tls_failure(r.curl_code) && r.curl_code != CURLE_COULDNT_RESOLVE_HOST && r.curl_code != CURLE_UNSUPPORTED_PROTOCOL;
  return r.status == 429 || r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504;
}

// "pull" of "repository:team/app:pull", and "team/app".
std::pair<std::string, std::string> scope_parts(std::string_view scope) {
  auto first = scope.find(':');
  auto last = scope.rfind(':');
  if (first == std::string_view::npos || last == first) return {std::string(scope), {}};
  return {std::string(scope.substr(last + 1)), std::string(scope.substr(first + 1, last - first - 1))};
}

std::vector<Challenge> challenges_of(const http::Response& r) {
  std::vector<Challenge> out;
  for (const auto& [name, value] : r.headers)
    if (name == "www-authenticate")
      for (Challenge& c : parse_www_authenticate(value)) out.push_back(std::move(c));
  return out;
}

std::string media_type_of(const http::Response& r) {
  std::string_view type = r.header("content-type");
  if (auto semi = type.find(';'); semi != std::string_view::npos) type = type.substr(0, semi);
  return util::ascii_lower(util::trim_space(type));
}

}  // namespace

std::string registry_host(std::string_view registry_url) {
  std::string_view url = registry_url;
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  const std::string lower = util::ascii_lower(url);
  std::size_t authority = 0;
  if (lower.starts_with("https://")) authority = 8;
  else if (lower.starts_with("http://")) authority = 7;
  else
    throw UsageError("--registry wants a URL that starts with https:// or http://", std::string(registry_url),
                     "https://registry.example:5000 (the scheme decides TLS)");
  std::string host = lower.substr(authority);
  if (host.empty() || host.find_first_of("/?#@ ") != std::string::npos)
    throw UsageError("--registry wants a scheme and a host[:port], nothing more", std::string(registry_url),
                     "https://registry.example:5000 (no path, no user)");
  return host;
}

std::string reference_host(std::string_view reference) {
  const auto slash = reference.find('/');
  if (slash == std::string_view::npos) return {};
  const std::string first = util::ascii_lower(reference.substr(0, slash));
  if (first.find_first_of(".:") == std::string::npos && first != "localhost") return {};
  return first;
}

// Its own types are members, not in the anonymous namespace: Impl has external linkage, and a
// field of a type with internal linkage is -Wsubobject-linkage in a unity build.
struct RegistryClient::Impl {
  enum class AuthMode { Unknown, Anonymous, Basic, Bearer };

  // A token for one scope, asked for again shortly before it expires.
  struct TokenEntry {
    std::mutex mutex;
    std::string token;  // secret
    Clock::time_point renew_at{};
    bool valid = false;
  };

  ClientSettings settings;
  std::string base_url, host;
  http::Engine engine;
  std::atomic<std::uint64_t> retries{0}, tokens_fetched{0};

  std::mutex auth_mutex;
  AuthMode mode = AuthMode::Unknown;
  std::string realm, service;
  std::map<std::string, std::shared_ptr<TokenEntry>, std::less<>> tokens;

  static http::EngineSettings engine_settings(const ClientSettings& s) {
    http::EngineSettings e;
    e.connections = s.connections ? s.connections : 1;
    e.skip_verify = s.insecure;
    e.ca_file = s.ca_cert;
    return e;
  }

  explicit Impl(ClientSettings s) : settings(std::move(s)), host(registry_host(settings.registry)), engine(engine_settings(settings)) {
    base_url = util::ascii_lower(settings.registry.substr(0, settings.registry.find("://") + 3)) + host;
  }

  std::string who() const {
    return settings.credentials.present() ? "user " + settings.credentials.username + " (credentials from " + settings.credentials.source + ")"
                                          : "anonymous";
  }

  std::string basic_header() const {
    return "Authorization: Basic " + base64_encode(settings.credentials.username + ":" + settings.credentials.password);
  }

  void pause_before_retry(int attempt) {
    ++retries;
    thread_local std::minstd_rand rng(static_cast<unsigned>(std::hash<std::thread::id>()(std::this_thread::get_id())));
    const long cap_ms = std::min(2000L, 50L << attempt);
    std::this_thread::sleep_for(std::chrono::milliseconds(cap_ms / 2 + static_cast<long>(rng() % static_cast<unsigned>(cap_ms / 2 + 1))));
  }

  // One request with its retries, as it is (no authentication added).
  http::Response perform_with_retries(http::Request& q) {
    for (int attempt = 0;; ++attempt) {
      http::Response r = engine.perform(q);
      if (!retryable(r) || attempt + 1 >= settings.attempts) return r;
      pause_before_retry(attempt);
    }
  }

  // The token for `scope`, asked for when there is none or it is about to expire.
  std::string token_for(const std::string& scope) {
    std::shared_ptr<TokenEntry> entry;
    std::string token_realm, token_service;
    {
      std::lock_guard lock(auth_mutex);
      auto& slot = tokens[scope];
      if (!slot) slot = std::make_shared<TokenEntry>();
      entry = slot;
      token_realm = realm;
      token_service = service;
    }
    std::lock_guard lock(entry->mutex);
    if (entry->valid && Clock::now() < entry->renew_at) return entry->token;
    fetch_token(*entry, scope, token_realm, token_service);
    return entry->token;
  }

  void forget_token(const std::string& scope) {
    std::shared_ptr<TokenEntry> entry;
    {
      std::lock_guard lock(auth_mutex);
      auto it = tokens.find(scope);
      if (it == tokens.end()) return;
      entry = it->second;
    }
    std::lock_guard lock(entry->mutex);
    entry->valid = false;
  }

  void fetch_token(TokenEntry& entry, const std::string& scope, const std::string& token_realm, const std::string& token_service) {
    std::string url = token_realm;
    char sep = url.find('?') == std::string::npos ? '?' : '&';
    if (!token_service.empty()) {
      url += sep + std::string("service=") + http::uri_encode(token_service, false);
      sep = '&';
    }
    url += sep + std::string("scope=") + http::uri_encode(scope, false);
    http::Request q;
    q.url = url;
    q.keep_headers = true;
    if (settings.credentials.present()) q.headers.push_back(basic_header());
    http::Response r = perform_with_retries(q);
    if (r.status == 401 || r.status == 403) {
      if (settings.credentials.present())
        throw Error("the token server refused the credentials of " + who() + " (HTTP " + std::to_string(r.status) + ")", url,
                    "check the user name and password; the registry " + base_url + " sends clients to this token server");
      throw Error("the token server wants credentials (HTTP " + std::to_string(r.status) + ")", url,
                  "give -u USER with -p, --password-stdin or REGISTRY_PASSWORD, or `docker login` first");
    }
    if (!r.ok()) fail_plain("cannot get a token for " + scope, url, r);
    auto doc = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    std::string token;
    if (doc.is_object()) {
      // distribution's specification says `token`; OAuth2 servers `access_token`.
      if (auto t = doc.find("token"); t != doc.end() && t->is_string()) token = t->get<std::string>();
      if (auto t = doc.find("access_token"); token.empty() && t != doc.end() && t->is_string()) token = t->get<std::string>();
    }
    if (token.empty()) throw Error("the token server's answer holds no `token` nor `access_token`", url);
    // The specification's default lifetime is 60 s; renew a little before the end, so that a
    // request never leaves with a token that expires on the way.
    std::int64_t lifetime_s = 60;
    if (auto e = doc.find("expires_in"); e != doc.end() && e->is_number_integer() && e->get<std::int64_t>() > 0)
      lifetime_s = e->get<std::int64_t>();
    const std::int64_t margin_s = std::min<std::int64_t>(30, lifetime_s / 4);
    entry.token = std::move(token);
    entry.renew_at = Clock::now() + std::chrono::seconds(lifetime_s - margin_s);
    entry.valid = true;
    ++tokens_fetched;
  }

  std::optional<std::string> authorization(const std::string& scope) {
    AuthMode m;
    {
      std::lock_guard lock(auth_mutex);
      m = mode;
    }
    if (m == AuthMode::Basic && settings.credentials.present()) return basic_header();
    if (m == AuthMode::Bearer) return "Authorization: Bearer " + token_for(scope);
    return std::nullopt;
  }

  // A 401's challenge: learns what the registry wants. True when a second try may pass.
  bool learn_challenge(const http::Response& r, const std::string& scope) {
    std::vector<Challenge> all = challenges_of(r);
    if (const Challenge* bearer = find_challenge(all, "bearer"); bearer && !bearer->realm.empty()) {
      {
        std::lock_guard lock(auth_mutex);
        mode = AuthMode::Bearer;
        realm = bearer->realm;
        service = bearer->service;
      }
      forget_token(scope);  // expired, revoked, or never had: ask again
      return true;
    }
    if (find_challenge(all, "basic") && settings.credentials.present()) {
      std::lock_guard lock(auth_mutex);
      if (mode == AuthMode::Basic) return false;  // sent already, and refused
      mode = AuthMode::Basic;
      return true;
    }
    return false;
  }

  // One API request: authenticated for `scope`, retried, renewed once on a 401.
  http::Response send(const std::string& url, const std::string& scope, const char* accept, std::size_t max_body,
                      bool follow_redirects = false, const char* method = "GET", std::string_view body = {},
                      const std::string& content_type = {}) {
    bool challenged = false;
    for (int attempt = 0;;) {
      http::Request q;
      q.method = method;
      q.body = body;
      if (!content_type.empty()) q.headers.push_back("Content-Type: " + content_type);
      q.url = url;
      q.keep_headers = true;
      q.max_body = max_body;
      q.follow_redirects = follow_redirects;
      if (accept) q.headers.emplace_back(accept);
      if (auto auth = authorization(scope)) q.headers.push_back(std::move(*auth));
      http::Response r = engine.perform(q);
      if (r.status == 401 && !challenged) {
        challenged = true;
        if (learn_challenge(r, scope)) continue;
      }
      if (!retryable(r) || attempt + 1 >= settings.attempts) return r;
      pause_before_retry(attempt++);
    }
  }

  // The Error of a failed request that is not the registry's API (the token server).
  [[noreturn]] void fail_plain(const std::string& what, const std::string& url, const http::Response& r) {
    if (r.status == 0) fail_transport(what, url, r);
    throw Error(what + ": HTTP " + std::to_string(r.status), url);
  }

  [[noreturn]] void fail_transport(const std::string& what, const std::string& url, const http::Response& r) {
    if (tls_failure(r.curl_code))
      throw Error(what + ": TLS failed, the server's certificate is not trusted (" + r.transport_error + ")", url,
                  "--ca-cert FILE trusts the CA that signed it; --insecure skips the check (not on a network you do not trust)");
    throw Error(what + ": the registry cannot be reached (" + r.transport_error + ")", url,
                "is it up, and is --registry right? (tried " + std::to_string(retryable(r) ? settings.attempts : 1) +
                    (retryable(r) && settings.attempts != 1 ? " times)" : " time)"));
  }

  // The Error of a failed API request: what the status means here, with the URL.
  [[noreturn]] void fail(const std::string& what, const std::string& url, const std::string& scope, const http::Response& r) {
    if (r.status == 0) fail_transport(what, url, r);
    const std::string said = registry_said(r.body);
    const std::string status = "HTTP " + std::to_string(r.status) + (said.empty() ? "" : ", " + said);
    const auto [actions, resource] = scope_parts(scope);
    const std::string permission = "`" + actions + "` on " + (resource.empty() ? scope : resource);
    switch (r.status) {
      case 401: {
        std::vector<Challenge> all = challenges_of(r);
        const Challenge* bearer = find_challenge(all, "bearer");
        if (bearer && bearer->error == "insufficient_scope")
          throw Error(what + ": " + who() + " lacks the permission " + permission + " (" + status + ")", url,
                      "the token server granted less than " + scope + "; ask for that permission");
        if (!settings.credentials.present())
          throw Error(what + ": the registry wants credentials (" + status + ")", url,
                      "give -u USER with -p, --password-stdin or REGISTRY_PASSWORD, or `docker login` first");
        if (bearer)
          throw Error(what + ": the registry refused the token the token server gave " + who() + " for " + scope + " (" + status + ")",
                      url, "does " + who() + " have the permission " + permission + "?");
        throw Error(what + ": the registry refused the credentials of " + who() + " (" + status + ")", url,
                    "check the user name and password");
      }
      case 403:
        throw Error(what + ": denied: " + who() + " lacks the permission " + permission + " (" + status + ")", url);
      case 404:
        throw Error(what + ": not found (" + status + ")", url);
      case 405:
        throw Error(what + ": the registry does not allow this method (" + status + ")", url,
                    "deletion is disabled on that registry (storage.delete.enabled), or it is a pull-through cache");
      case 429:
        throw Error(what + ": the registry kept answering Too Many Requests (" + status + ", tried " + std::to_string(settings.attempts) + " times)",
                    url, "fewer connections (-j) may help");
      case 400:
        // Go's server answers a plain-HTTP request on a TLS port so.
        if (base_url.starts_with("http://") && r.body.find("HTTPS server") != std::string::npos)
          throw Error(what + ": the server speaks HTTPS (" + status + ")", url, "use https:// in --registry");
        throw Error(what + ": the registry refused the request (" + status + ")", url);
      default:
        if (r.status >= 500)
          throw Error(what + ": the registry failed (" + status + ", tried " + std::to_string(settings.attempts) + " times)", url,
                      "its log says why");
        throw Error(what + ": unexpected answer (" + status + ")", url);
    }
  }

  nlohmann::json json_of(const std::string& what, const std::string& url, const http::Response& r) {
    if (r.truncated) throw Error(what + ": the answer is too large", url);
    auto doc = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) throw Error(what + ": the registry answered with something else than a JSON object", url);
    return doc;
  }

  // Every page of a list; nullopt on 404 of the first page.
  std::optional<std::vector<std::string>> list_pages(const std::string& what, const std::string& path, const char* field,
                                                     const std::string& scope) {
    PageTrail trail(base_url + path + "?n=" + std::to_string(settings.page_size ? settings.page_size : 1000));
    std::vector<std::string> out;
    for (;;) {
      const std::string url = trail.current();
      http::Response r = send(url, scope, nullptr, 16u << 20);
      if (r.status == 404 && trail.pages() == 1) return std::nullopt;
      if (!r.ok()) fail(what, url, scope, r);
      nlohmann::json doc = json_of(what, url, r);
      auto list = doc.find(field);
      if (list != doc.end() && !list->is_null()) {
        if (!list->is_array()) throw Error(what + ": `" + field + "` is not a list", url);
        for (const auto& item : *list) {
          if (!item.is_string()) throw Error(what + ": `" + field + "` holds something else than names", url);
          out.push_back(item.get<std::string>());
        }
      }
      std::optional<std::string> next = next_link_target(r.header("link"));
      if (!next) return out;
      trail.advance(resolve_link(base_url, *next));
    }
  }
};

RegistryClient::RegistryClient(ClientSettings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {}
RegistryClient::~RegistryClient() = default;

const std::string& RegistryClient::base_url() const { return impl_->base_url; }
const std::string& RegistryClient::host() const { return impl_->host; }

void RegistryClient::check_api() {
  const std::string url = impl_->base_url + "/v2/";
  http::Response r = impl_->send(url, std::string(kCatalogScope), nullptr, 1u << 16);
  // A token registry may refuse a token for the catalog scope at /v2/ and accept ours for
  // repositories: what /v2/ needs is any valid token, which any scope gives.
  if (!r.ok()) impl_->fail("cannot use the registry's API", url, "", r);
  std::lock_guard lock(impl_->auth_mutex);
  if (impl_->mode == Impl::AuthMode::Unknown) impl_->mode = Impl::AuthMode::Anonymous;
}

std::vector<std::string> RegistryClient::catalog() {
  auto names = impl_->list_pages("cannot list the repositories", "/v2/_catalog", "repositories", std::string(kCatalogScope));
  if (!names)
    throw Error("cannot list the repositories: the registry has no catalog (HTTP 404)", impl_->base_url + "/v2/_catalog",
                "name the repositories on the command line");
  return *names;
}

std::optional<std::vector<std::string>> RegistryClient::tags(std::string_view repository) {
  return impl_->list_pages("cannot list the tags of " + std::string(repository), "/v2/" + std::string(repository) + "/tags/list",
                           "tags", repository_scope(repository, "pull"));
}

std::optional<FetchedManifest> RegistryClient::manifest(std::string_view repository, std::string_view reference) {
  const std::string url = impl_->base_url + "/v2/" + std::string(repository) + "/manifests/" + std::string(reference);
  const std::string scope = repository_scope(repository, "pull");
  const std::string what = "cannot read the manifest " + std::string(repository) + (reference.starts_with("sha256:") ? "@" : ":") +
                           std::string(reference);
  http::Response r = impl_->send(url, scope, kManifestAccept, storage::kMaxManifestBytes);
  if (r.status == 404) return std::nullopt;
  if (!r.ok()) impl_->fail(what, url, scope, r);
  if (r.truncated) throw Error(what + ": it is over the registry's limit of 4 MiB", url);
  FetchedManifest m;
  m.media_type = media_type_of(r);
  m.body = std::move(r.body);
  const Digest body_digest = util::sha256(m.body);
  const std::string_view header = r.header("docker-content-digest");
  std::optional<Digest> said = header.empty() ? std::nullopt : Digest::parse(header);
  if (!header.empty() && !said) throw Error(what + ": its Docker-Content-Digest is not a sha256 digest: " + std::string(header), url);
  const std::optional<Digest> asked = Digest::parse(reference);
  // A signed schema1 manifest's digest is that of its payload without the signatures: only the
  // registry's word is there to take.
  const bool schema1 = m.media_type == storage::media_type::kSchema1Signed || m.media_type == storage::media_type::kSchema1;
  if (schema1) {
    m.digest = said ? *said : asked ? *asked : body_digest;
    return m;
  }
  if (said && *said != body_digest)
    throw Error(what + ": Docker-Content-Digest says " + said->str() + " but the body hashes to " + body_digest.str(), url,
                "the registry or something between it and regsweep altered the manifest");
  if (asked && *asked != body_digest)
    throw Error(what + ": the body hashes to " + body_digest.str() + ", not to the digest asked for", url,
                "the registry or something between it and regsweep altered the manifest");
  m.digest = body_digest;
  return m;
}

std::optional<std::string> RegistryClient::blob(std::string_view repository, const Digest& digest, std::size_t max_bytes) {
  const std::string url = impl_->base_url + "/v2/" + std::string(repository) + "/blobs/" + digest.str();
  const std::string scope = repository_scope(repository, "pull");
  http::Response r = impl_->send(url, scope, nullptr, max_bytes, /*follow_redirects=*/true);
  const std::string what = "cannot read the blob " + std::string(repository) + "@" + digest.str();
  if (r.status == 404) return std::nullopt;
  if (!r.ok()) impl_->fail(what, url, scope, r);
  if (r.truncated) throw Error(what + ": it is over " + std::to_string(max_bytes) + " bytes", url);
  if (util::sha256(r.body) != digest)
    throw Error(what + ": the body hashes to " + util::sha256(r.body).str(), url,
                "the registry or something between it and regsweep altered the blob");
  return std::move(r.body);
}

std::optional<Digest> RegistryClient::manifest_digest(std::string_view repository, std::string_view reference) {
  const std::string url = impl_->base_url + "/v2/" + std::string(repository) + "/manifests/" + std::string(reference);
  const std::string scope = repository_scope(repository, "pull");
  http::Response r = impl_->send(url, scope, kManifestAccept, 1u << 16, false, "HEAD");
  if (r.status == 404) return std::nullopt;
  const std::string what = "cannot check the manifest " + std::string(repository) + (reference.starts_with("sha256:") ? "@" : ":") +
                           std::string(reference);
  if (!r.ok()) impl_->fail(what, url, scope, r);
  if (auto said = Digest::parse(r.header("docker-content-digest"))) return said;
  // No digest header: the body says it.
  if (auto m = manifest(repository, reference)) return m->digest;
  return std::nullopt;
}

DeleteResult RegistryClient::delete_manifest(std::string_view repository, const Digest& digest) {
  const std::string url = impl_->base_url + "/v2/" + std::string(repository) + "/manifests/" + digest.str();
  const std::string scope = repository_scope(repository, "pull,delete");
  const std::string what = "cannot delete the manifest " + std::string(repository) + "@" + digest.str();
  http::Response r = impl_->send(url, scope, nullptr, 1u << 16, false, "DELETE");
  if (r.ok()) return DeleteResult::Deleted;
  if (r.status == 404) return DeleteResult::AlreadyGone;
  if (r.status == 401 || r.status == 403) {
    const std::string said = registry_said(r.body);
    throw Error(what + ": " + impl_->who() + " lacks the permission `delete` on " + std::string(repository) + " (HTTP " +
                    std::to_string(r.status) + (said.empty() ? "" : ", " + said) + ")",
                url, "deleting needs `delete` on the repository; `push` is not enough (ask for " + scope + ")");
  }
  if (r.status == 405)
    throw Error(what + ": the registry does not allow deleting (HTTP 405" +
                    (registry_said(r.body).empty() ? "" : ", " + registry_said(r.body)) + ")",
                url, "deletion is disabled on that registry (storage.delete.enabled: false), or it is a pull-through cache");
  impl_->fail(what, url, scope, r);
}

void RegistryClient::put_manifest(std::string_view repository, std::string_view reference, std::string_view media_type,
                                  std::string_view body) {
  const std::string url = impl_->base_url + "/v2/" + std::string(repository) + "/manifests/" + std::string(reference);
  const std::string scope = repository_scope(repository, "pull,push");
  http::Response r = impl_->send(url, scope, nullptr, 1u << 16, false, "PUT", body, std::string(media_type));
  if (!r.ok())
    impl_->fail("cannot put the manifest " + std::string(repository) + (reference.starts_with("sha256:") ? "@" : ":") + std::string(reference),
                url, scope, r);
}

bool RegistryClient::blob_exists(std::string_view repository, const Digest& digest) {
  const std::string url = impl_->base_url + "/v2/" + std::string(repository) + "/blobs/" + digest.str();
  const std::string scope = repository_scope(repository, "pull");
  http::Response r = impl_->send(url, scope, nullptr, 1u << 16, /*follow_redirects=*/true, "HEAD");
  if (r.status == 404) return false;
  if (!r.ok()) impl_->fail("cannot check the blob " + std::string(repository) + "@" + digest.str(), url, scope, r);
  return true;
}

RegistryClient::Counters RegistryClient::counters() const {
  return Counters{impl_->engine.counters().requests, impl_->retries.load(), impl_->tokens_fetched.load()};
}

}  // namespace regsweep::online
