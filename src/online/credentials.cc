#include "regsweep/online/credentials.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "regsweep/error.h"
#include "regsweep/util/format.h"

extern char** environ;

namespace regsweep::online {

namespace {

std::optional<std::string> env_of(const CredentialSources& s, const char* name) {
  return (s.env ? s.env : storage::process_environment)(name, s.env_context);
}

std::string strip_line_end(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::string read_stdin_line() {
  std::string line;
  std::getline(std::cin, line);
  return strip_line_end(std::move(line));
}

// Asks on the controlling terminal with echo off (as `docker login` does); stdin stays free.
std::string prompt_on_terminal() {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    throw UsageError("-p asks for the password on a terminal, and there is none", "/dev/tty",
                     "give it with --password-stdin or REGISTRY_PASSWORD");
  termios saved{};
  const bool is_tty = ::tcgetattr(fd, &saved) == 0;
  if (is_tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  const char ask[] = "Password: ";
  [[maybe_unused]] ssize_t w = ::write(fd, ask, sizeof ask - 1);
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  if (is_tty) ::tcsetattr(fd, TCSAFLUSH, &saved);
  w = ::write(fd, "\n", 1);
  ::close(fd);
  return strip_line_end(std::move(line));
}

// `program get` with `input` on stdin, no shell; its stdout.
HelperResult spawn_helper(const std::string& program, const std::string& input) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw Error(std::string("cannot run a credential helper: ") + std::strerror(errno), program);
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    throw Error(std::string("cannot run a credential helper: ") + std::strerror(errno), program);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::string get = "get";
  char* argv[] = {const_cast<char*>(program.c_str()), get.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    throw Error("cannot run the credential helper " + program + ": " + std::strerror(rc), program,
                "Docker's config.json names it (credsStore or credHelpers); install it or give -u");
  }
  // The input is one short line: it fits the pipe, so writing it all before reading cannot block.
  [[maybe_unused]] ssize_t w = ::write(in[1], input.data(), input.size());
  ::close(in[1]);
  HelperResult result;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    result.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string docker_config_path(const CredentialSources& s) {
  if (auto dir = env_of(s, "DOCKER_CONFIG"); dir && !dir->empty()) return *dir + "/config.json";
  if (auto home = env_of(s, "HOME"); home && !home->empty()) return *home + "/.docker/config.json";
  return {};
}

std::optional<Credentials> from_helper(const CredentialSources& s, const std::string& name, std::string_view host,
                                       const std::string& config_path) {
  const std::string program = "docker-credential-" + name;
  HelperResult r = s.run_helper ? s.run_helper(program, std::string(host)) : spawn_helper(program, std::string(host));
  if (r.exit_status != 0) {
    // docker-credential-* say "credentials not found in native keychain" for a host they do not know.
    if (r.output.find("credentials not found") != std::string::npos) return std::nullopt;
    throw Error("the credential helper " + program + " failed (exit " + std::to_string(r.exit_status) + ") for " + std::string(host),
                config_path, "run `" + program + " get` by hand, or give -u");
  }
  auto doc = nlohmann::json::parse(r.output, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("Username") || !doc["Username"].is_string() || !doc.contains("Secret") ||
      !doc["Secret"].is_string())
    throw Error("the credential helper " + program + " answered something else than {\"Username\", \"Secret\"} for " + std::string(host),
                config_path);
  Credentials c;
  c.username = doc["Username"].get<std::string>();
  c.password = doc["Secret"].get<std::string>();
  c.source = program + " (" + config_path + ")";
  if (c.username == "<token>")
    throw Error("the credential helper " + program + " holds an identity token for " + std::string(host) +
                    ", which regsweep does not support",
                config_path, "give -u with -p, --password-stdin or REGISTRY_PASSWORD");
  return c;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string_view t = util::trim_space(text);
  if (t.size() % 4 != 0) return std::nullopt;
  std::string out(t.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(t.data()),
                          static_cast<int>(t.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes the padding stands for as zeros: drop them.
  std::size_t len = static_cast<std::size_t>(n);
  if (!t.empty() && t.back() == '=') --len;
  if (t.size() >= 2 && t[t.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

std::string auth_key_host(std::string_view key) {
  std::string_view k = key;
  if (auto scheme = k.find("://"); scheme != std::string_view::npos) k.remove_prefix(scheme + 3);
  if (auto slash = k.find('/'); slash != std::string_view::npos) k = k.substr(0, slash);
  return util::ascii_lower(k);
}

std::optional<Credentials> docker_config_credentials(std::string_view host, const CredentialSources& s) {
  const std::string path = docker_config_path(s);
  if (path.empty()) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw Error(std::string("cannot read Docker's config: ") + std::strerror(errno), path);
  }
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) throw Error("Docker's config is not a JSON object", path);
  const std::string want = util::ascii_lower(host);
  if (auto helpers = doc.find("credHelpers"); helpers != doc.end() && helpers->is_object())
    for (const auto& [key, name] : helpers->items())
      if (auth_key_host(key) == want && name.is_string()) return from_helper(s, name.get<std::string>(), host, path);
  if (auto store = doc.find("credsStore"); store != doc.end() && store->is_string() && !store->get<std::string>().empty())
    return from_helper(s, store->get<std::string>(), host, path);
  auto auths = doc.find("auths");
  if (auths == doc.end() || !auths->is_object()) return std::nullopt;
  for (const auto& [key, entry] : auths->items()) {
    if (auth_key_host(key) != want || !entry.is_object()) continue;
    auto auth = entry.find("auth");
    if (auth == entry.end() || !auth->is_string() || auth->get<std::string>().empty()) continue;
    std::optional<std::string> plain = base64_decode(auth->get<std::string>());
    const std::size_t colon = plain ? plain->find(':') : std::string::npos;
    if (colon == std::string::npos)
      throw Error("Docker's config has an `auth` for " + key + " that is not base64 of user:password", path,
                  "run `docker login " + std::string(host) + "` again, or give -u");
    Credentials c;
    c.username = plain->substr(0, colon);
    c.password = plain->substr(colon + 1);
    c.source = path;
    return c;
  }
  return std::nullopt;
}

Credentials resolve_credentials(const CredentialOptions& o, std::string_view host, const CredentialSources& s) {
  if (o.prompt && o.password_stdin) throw UsageError("-p and --password-stdin both give the password: give one", "");
  if (o.username.empty()) {
    if (o.prompt || o.password_stdin)
      throw UsageError(std::string(o.prompt ? "-p" : "--password-stdin") + " gives a password: it needs -u USER", "");
    if (auto c = docker_config_credentials(host, s)) return *c;
    return {};
  }
  Credentials c;
  c.username = o.username;
  if (o.password_stdin) {
    c.password = s.read_stdin ? s.read_stdin() : read_stdin_line();
    c.source = "-u with --password-stdin";
  } else if (o.prompt) {
    c.password = s.prompt_password ? s.prompt_password() : prompt_on_terminal();
    c.source = "-u with -p";
  } else if (auto env = env_of(s, "REGISTRY_PASSWORD")) {
    c.password = *env;
    c.source = "-u with REGISTRY_PASSWORD";
  } else {
    throw UsageError("-u " + o.username + " needs a password", "",
                     "add -p (asked without echo), --password-stdin, or set REGISTRY_PASSWORD");
  }
  if (c.password.empty()) throw UsageError("the password from " + c.source.substr(8) + " is empty", "");
  return c;
}

}  // namespace regsweep::online
