#include "regsweep/apply/live_registry.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "regsweep/error.h"

namespace regsweep::apply {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> read_nul_separated(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<std::string> out;
  std::string item;
  while (std::getline(in, item, '\0')) out.push_back(item);
  return out;
}

std::string canonical_or_same(const std::string& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  return ec ? p : c.string();
}

std::optional<std::string> lookup_in(const char* name, const void* context) {
  const auto& env = *static_cast<const std::map<std::string, std::string>*>(context);
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

// The config a `registry serve` process uses: its argument after `serve`, else
// REGISTRY_CONFIGURATION_PATH, else the registry's default.
std::string config_of(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env, int pid) {
  std::string path;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "serve") {
      for (std::size_t j = i + 1; j < argv.size(); ++j)
        if (!argv[j].starts_with("-")) {
          path = argv[j];
          break;
        }
      break;
    }
  if (path.empty()) {
    auto it = env.find("REGISTRY_CONFIGURATION_PATH");
    path = it != env.end() ? it->second : "/etc/docker/registry/config.yml";
  }
  if (!path.empty() && path[0] != '/') {
    std::error_code ec;
    fs::path cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
    if (!ec) path = (cwd / path).string();
  }
  return path;
}

bool is_registry_serve(const std::vector<std::string>& argv) {
  if (argv.empty()) return false;
  std::string exe = fs::path(argv[0]).filename().string();
  if (exe != "registry" && exe != "docker-registry") return false;
  for (const auto& a : argv)
    if (a == "serve") return true;
  return false;
}

void scan_processes(const std::string& root, std::vector<LiveRegistry>& out) {
  std::error_code ec;
  const std::string want = canonical_or_same(root);
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    int pid = std::stoi(name);
    if (pid == ::getpid()) continue;
    auto argv = read_nul_separated(entry.path() / "cmdline");
    if (!is_registry_serve(argv)) continue;
    std::map<std::string, std::string> env;
    for (const auto& kv : read_nul_separated(entry.path() / "environ"))
      if (auto eq = kv.find('='); eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    std::string cmdline;
    for (const auto& a : argv) cmdline += (cmdline.empty() ? "" : " ") + a;
    LiveRegistry live{pid, "pid " + name + ": " + cmdline, false, false, std::nullopt};
    std::string config_path = config_of(argv, env, pid);
    try {
      storage::RegistryConfig c = storage::load_registry_config(config_path, lookup_in, &env);
      if (canonical_or_same(c.root) != want) continue;
      live.readonly = c.readonly;
      live.config = std::move(c);
    } catch (const Error&) {
      std::error_code gone;
      if (!fs::exists(entry.path(), gone)) continue;  // it exited while we looked
      live.root_unknown = true;  // cannot tell which storage it serves: assume this one
      live.description += " (its config " + config_path + " could not be read)";
    }
    out.push_back(std::move(live));
  }
}

// True when something at addr answers GET /v2/ like a registry. Loopback or the operator's
// own configured address only: we never scan.
bool registry_answers(const std::string& addr) {
  std::string host = addr, port = "5000";
  if (auto colon = addr.rfind(':'); colon != std::string::npos) {
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") host = "127.0.0.1";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return false;
  bool answered = false;
  for (addrinfo* ai = res; ai && !answered; ai = ai->ai_next) {
    int s = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (s < 0) continue;
    int rc = ::connect(s, ai->ai_addr, ai->ai_addrlen);
    pollfd p{s, POLLOUT, 0};
    if ((rc == 0 || errno == EINPROGRESS) && ::poll(&p, 1, 1000) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
      const char req[] = "GET /v2/ HTTP/1.0\r\nHost: regsweep\r\n\r\n";
      if (err == 0 && ::send(s, req, sizeof req - 1, MSG_NOSIGNAL) > 0) {
        std::string reply;
        char buf[2048];
        pollfd r{s, POLLIN, 0};
        while (reply.size() < 8192 && ::poll(&r, 1, 1000) == 1) {
          ssize_t n = ::recv(s, buf, sizeof buf, 0);
          if (n <= 0) break;
          reply.append(buf, static_cast<std::size_t>(n));
        }
        for (char& c : reply) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        answered = reply.find("docker-distribution-api-version") != std::string::npos;
      }
    }
    ::close(s);
  }
  ::freeaddrinfo(res);
  return answered;
}

}  // namespace

std::vector<LiveRegistry> find_live_registries(const std::string& root, const std::optional<storage::RegistryConfig>& config) {
  std::vector<LiveRegistry> out;
  scan_processes(root, out);
  if (config && !config->http_addr.empty() && out.empty() && registry_answers(config->http_addr))
    out.push_back(LiveRegistry{0, "a registry answers on http.addr " + config->http_addr + " (from " + config->path + ")",
                               config->readonly, false, config});
  return out;
}

namespace {

// A host or port as one shell word: quoted unless it is plainly safe.
std::string shell_word(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%") == std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::optional<std::string> redis_flush_command(const storage::RegistryConfig& c) {
  if (c.blobdescriptor_cache != "redis") return std::nullopt;
  // redis.addr is host:port, dialled over TCP; [v6]:port for IPv6.
  std::string host = c.redis_addr, port = "6379";
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";  // ":6379" dials the local host
  if (port.empty()) port = "6379";
  std::string cmd = "redis-cli -h " + shell_word(host) + " -p " + shell_word(port) + " -n " + std::to_string(c.redis_db);
  if (c.redis_password_set) cmd += " --askpass";
  return cmd + " FLUSHDB";
}

std::string restart_advice(const std::vector<LiveRegistry>& registries, long long blobs,
                           const std::optional<storage::RegistryConfig>& fallback) {
  std::string who;
  std::vector<std::string> commands;
  bool cached = false;  // some config names a cache (redis or in memory), or is unknown
  for (const LiveRegistry& r : registries) {
    who += (who.empty() ? "" : "; ") + r.description;
    const std::optional<storage::RegistryConfig>& c = r.config ? r.config : fallback;
    if (!c || c->blobdescriptor_cache == "inmemory") cached = true;
    if (!c) continue;
    if (auto cmd = redis_flush_command(*c); cmd && std::find(commands.begin(), commands.end(), *cmd) == commands.end())
      commands.push_back(*cmd);
  }
  const bool several = registries.size() > 1;
  const std::string it = several ? "them" : "it";
  const std::string what = blobs < 0 ? std::string("the swept blobs") : std::to_string(blobs) + (blobs == 1 ? " swept blob" : " swept blobs");
  std::string line = std::string("regsweep: restart the read-only ") + (several ? "registries" : "registry") + " now (" + who + "): ";
  if (!commands.empty()) {
    line += "the redis cache still lists the " + what + " and outlives a restart; stop " + it + ", run `";
    for (std::size_t i = 0; i < commands.size(); ++i) line += (i ? "` and `" : "") + commands[i];
    return line + "`, then start " + it + " (else a push of those blobs is skipped and the image is broken)";
  }
  if (cached)
    return line + (several ? "their" : "its") + " in-memory blob descriptor cache still lists the " + what + ", and " +
           (several ? "they answer" : "it answers") + " for them until restarted";
  return line + (several ? "their configs name" : "its config names") + " no blob descriptor cache, but " +
         (several ? "they" : "it") + " may have started with another; a restart makes sure nothing still lists the " + what;
}

}  // namespace regsweep::apply
