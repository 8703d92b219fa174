#pragma once
// Who regsweep is to the registry, and where that came from. The password (or a credential
// helper's secret) is kept here and sent only in an Authorization header: it never goes into
// a message, an error, the JSON output or a log. Messages name `source` instead.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "regsweep/storage/env_lookup.h"

namespace regsweep::online {

struct Credentials {
  std::string username;
  std::string password;  // secret
  std::string source;    // for messages: "-u with --password-stdin", "REGISTRY_PASSWORD", "/root/.docker/config.json"...
  bool present() const { return !username.empty() || !password.empty(); }
};

// What the command line says about credentials.
struct CredentialOptions {
  std::string username;         // -u/--username
  bool prompt = false;          // -p: ask on the terminal, without echo
  bool password_stdin = false;  // --password-stdin: the first line of stdin
};

// What a credential helper printed, and how it ended.
struct HelperResult {
  int exit_status = 0;
  std::string output;  // stdout
};

// Where credentials are looked up; each part replaceable by the tests.
struct CredentialSources {
  storage::EnvLookup env = storage::process_environment;
  const void* env_context = nullptr;
  std::function<std::string()> read_stdin;       // --password-stdin (default: std::cin, one line)
  std::function<std::string()> prompt_password;  // -p (default: the terminal, no echo)
  // Runs `program get` with `input` on its stdin (default: posix_spawnp, no shell).
  std::function<HelperResult(const std::string& program, const std::string& input)> run_helper;
};

// The credentials for `host` ("registry.example:5000"):
// - `-u` with `-p`, `--password-stdin` or REGISTRY_PASSWORD (that order; `-p` and
//   `--password-stdin` together are a UsageError, as is `-u` with no password from any);
// - `-p` or `--password-stdin` without `-u`: UsageError;
// - otherwise Docker's config.json (`$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`):
//   `credHelpers[host]`, then `credsStore`, then `auths[host].auth` (base64 "user:password");
// - otherwise none (anonymous).
// Error (naming the file, the helper or the variable, never a secret) when a source exists but
// cannot be used.
Credentials resolve_credentials(const CredentialOptions& options, std::string_view host, const CredentialSources& sources = {});

// Docker's config.json alone (the last step above); nullopt when it has nothing for `host`.
std::optional<Credentials> docker_config_credentials(std::string_view host, const CredentialSources& sources = {});

// The host a config.json `auths` key names: "https://host:5000/v1/" -> "host:5000".
std::string auth_key_host(std::string_view key);

// Standard base64 through OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock; decode gives nullopt for
// text that is not base64.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace regsweep::online
