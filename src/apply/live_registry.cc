#include "regsweep/apply/live_registry.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

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

std::optional<std::string> lookup_in(const char* name, const void* context) {
  const auto& env = *static_cast<const std::map<std::string, std::string>*>(context);
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

// What a `registry serve` process was started with, and how to reach the files it names.
class Process {
 public:
  Process(int pid, std::vector<std::string> argv) : pid_(pid), argv_(std::move(argv)), proc_("/proc/" + std::to_string(pid)) {
    for (const auto& kv : read_nul_separated(proc_ / "environ"))
      if (auto eq = kv.find('='); eq != std::string::npos) env_[kv.substr(0, eq)] = kv.substr(eq + 1);
    std::error_code ec;
    fs::path cwd = fs::read_symlink(proc_ / "cwd", ec);
    if (!ec) cwd_ = cwd.string();
    // /proc/<pid>/root and cwd let us in only for our own processes (or as root); then
    // paths are followed in the process's mount namespace (a registry in a container).
    through_proc_ = !fs::read_symlink(proc_ / "root", ec).empty() && !ec;
  }

  int pid() const { return pid_; }
  const std::map<std::string, std::string>& env() const { return env_; }
  bool exited() const {
    std::error_code ec;
    return !fs::exists(proc_, ec);
  }

  // "pid 1234: docker-registry serve r.yml", with the executable when its name is not the
  // one the process gives itself (a renamed copy, or something posing as a registry).
  std::string description() const {
    std::string cmdline;
    for (const auto& a : argv_) cmdline += (cmdline.empty() ? "" : " ") + a;
    std::string out = "pid " + std::to_string(pid_) + ": " + cmdline;
    std::error_code ec;
    fs::path exe = fs::read_symlink(proc_ / "exe", ec);
    if (!ec && exe.filename() != fs::path(argv_.front()).filename()) out += " [executable " + exe.string() + "]";
    return out;
  }

  // The config it serves with: its argument after `serve`, else REGISTRY_CONFIGURATION_PATH,
  // else the registry's default. As the process names it (relative to its working folder).
  std::string config_path() const {
    for (std::size_t i = 0; i + 1 < argv_.size(); ++i)
      if (argv_[i] == "serve") {
        for (std::size_t j = i + 1; j < argv_.size(); ++j)
          if (!argv_[j].starts_with("-")) return argv_[j];
        break;
      }
    auto it = env_.find("REGISTRY_CONFIGURATION_PATH");
    return it != env_.end() && !it->second.empty() ? it->second : "/etc/docker/registry/config.yml";
  }

  // A path the process names, absolute as it sees it (for messages).
  std::string absolute(const std::string& path) const {
    if (path.starts_with('/') || cwd_.empty()) return path;
    return (fs::path(cwd_) / path).lexically_normal().string();
  }

  // The same path, reachable from here: through /proc when it lets us in, else as written
  // (relative ones from the process's working folder); nullopt when it cannot be told.
  std::optional<std::string> reachable(const std::string& path) const {
    if (through_proc_) return (path.starts_with('/') ? (proc_ / "root").string() + path : (proc_ / "cwd" / path).string());
    if (path.starts_with('/')) return path;
    if (cwd_.empty()) return std::nullopt;
    return absolute(path);
  }

 private:
  int pid_;
  std::vector<std::string> argv_;
  fs::path proc_;
  std::map<std::string, std::string> env_;
  std::string cwd_;
  bool through_proc_ = false;
};

bool is_registry_serve(const std::vector<std::string>& argv) {
  if (argv.empty()) return false;
  std::string exe = fs::path(argv[0]).filename().string();
  if (exe != "registry" && exe != "docker-registry") return false;
  for (const auto& a : argv)
    if (a == "serve") return true;
  return false;
}

// The storage drivers a config names: the keys of `storage` but the options the registry
// reads beside the driver (as storage/registry_config.cc counts them), or the scalar of
// `storage: s3`. nullopt when the file cannot be read or is not YAML.
std::optional<std::vector<std::string>> drivers_named(const std::string& path) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
  std::vector<std::string> drivers;
  if (!doc.IsMap()) return drivers;
  YAML::Node storage = doc["storage"];
  try {
    if (storage && storage.IsScalar()) drivers.push_back(storage.as<std::string>());
    if (storage && storage.IsMap())
      for (const auto& kv : storage) {
        std::string key = kv.first.as<std::string>();
        if (key != "delete" && key != "maintenance" && key != "cache" && key != "redirect" && key != "tag") drivers.push_back(key);
      }
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
  return drivers;
}

// Whether `path` (reachable from here) is the folder `want` (stat'ed by the caller): the
// same device and inode, so a symbolic link, a bind mount or a container's volume counts
// as what it is. nullopt when it cannot be told (no permission on the way).
std::optional<bool> same_folder(const std::string& path, const struct stat& want) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return std::nullopt;
  }
  return st.st_dev == want.st_dev && st.st_ino == want.st_ino;
}

// Why load_registry_config failed, in the words of the system when the file cannot be opened.
std::string why_unreadable(const std::string& path, const Error& e) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  return e.what();
}

std::string canonical_or_same(const std::string& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  return ec ? p : c.string();
}

// Decides whether one `registry serve` process serves `root`; nullopt when it does not.
std::optional<LiveRegistry> inspect(const Process& process, const std::string& root, const struct stat* root_stat) {
  LiveRegistry live{process.pid(), process.description(), false, false, std::nullopt, ""};
  const std::string config_path = process.config_path();
  const std::string shown_config = process.absolute(config_path);
  const std::optional<std::string> config_here = process.reachable(config_path);
  auto unknown = [&](const std::string& why) -> std::optional<LiveRegistry> {
    live.root_unknown = true;  // cannot tell which storage it serves: assume this one
    live.why = why + ", so it may serve this root";
    return live;
  };
  if (!config_here) return unknown("its config " + config_path + " is relative to a working folder that cannot be read");
  storage::RegistryConfig c;
  try {
    c = storage::load_registry_config(*config_here, lookup_in, &process.env());
  } catch (const Error& e) {
    // The environment can choose the driver too (REGISTRY_STORAGE=filesystem, or a
    // filesystem override beside the file's s3): then the file alone does not rule it out.
    const bool env_may_choose_filesystem =
        process.env().count("REGISTRY_STORAGE") || process.env().count("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY");
    if (auto drivers = drivers_named(*config_here);
        drivers && !drivers->empty() && !env_may_choose_filesystem &&
        std::find(drivers->begin(), drivers->end(), "filesystem") == drivers->end())
      return std::nullopt;  // another storage driver (s3, azure, gcs...): not a folder at all
    return unknown("its config " + shown_config + " could not be read (" + why_unreadable(*config_here, e) + ")");
  }
  c.path = shown_config;
  if (c.s3) {
    // Its storage is a bucket (after the environment's say): it serves this storage when
    // that is the same bucket and rootdirectory; never a folder.
    if (c.s3->url() != root) return std::nullopt;
    live.readonly = c.readonly;
    live.why = "its config " + shown_config + " keeps the storage in " + c.s3->url();
    live.config = std::move(c);
    return live;
  }
  const bool from_env = process.env().count("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY") > 0;
  const std::string their_root = c.root;
  live.readonly = c.readonly;
  live.config = std::move(c);
  const std::string source = from_env ? "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=" + their_root + " in its environment"
                                      : "its config " + shown_config + " sets rootdirectory " + their_root;
  std::optional<bool> same;
  if (root_stat)
    if (auto here = process.reachable(their_root)) same = same_folder(*here, *root_stat);
  if (!same) {
    // No way into the process's view of the file system: compare the paths as written.
    if (!their_root.starts_with('/') && process.absolute(their_root) == their_root)
      return unknown(source + ", relative to a working folder that cannot be read");
    same = canonical_or_same(process.absolute(their_root)) == canonical_or_same(root);
    live.why = source + (*same ? ", the same path as this root" : "");
  } else {
    live.why = source + (canonical_or_same(process.absolute(their_root)) == canonical_or_same(root) ? "" : ", which is this root's folder");
  }
  if (!*same) return std::nullopt;
  return live;
}

void scan_processes(const std::string& root, std::vector<LiveRegistry>& out) {
  struct stat root_stat {};
  const bool root_known = ::stat(root.c_str(), &root_stat) == 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    int pid = std::stoi(name);
    if (pid == ::getpid()) continue;
    auto argv = read_nul_separated(entry.path() / "cmdline");
    if (!is_registry_serve(argv)) continue;
    Process process(pid, std::move(argv));
    std::optional<LiveRegistry> live = inspect(process, root, root_known ? &root_stat : nullptr);
    if (!live || (live->root_unknown && process.exited())) continue;  // not this root, or it exited while we looked
    out.push_back(std::move(*live));
  }
  std::sort(out.begin(), out.end(), [](const LiveRegistry& a, const LiveRegistry& b) { return a.pid < b.pid; });
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
  // A registry this host's /proc does not show (another container, another host behind the
  // address): asked at --config's http.addr, unless a process found listens there already.
  const bool listed = config && std::any_of(out.begin(), out.end(), [&](const LiveRegistry& r) {
                        return r.config && r.config->http_addr == config->http_addr;
                      });
  if (config && !config->http_addr.empty() && !listed && registry_answers(config->http_addr))
    out.push_back(LiveRegistry{0, "a registry answering on " + config->http_addr, config->readonly, false, config,
                               "the http.addr of --config " + config->path});
  return out;
}

std::string describe_live_registries(const std::vector<LiveRegistry>& registries) {
  std::string out;
  for (const LiveRegistry& r : registries)
    out += (out.empty() ? "" : "; ") + r.description + (r.why.empty() ? "" : " (" + r.why + ")");
  return out;
}

SafetyRefusal serving_refusal(const std::vector<LiveRegistry>& serving, const std::string& root) {
  // Every registry is named, each with why it counts: a false positive named alone would
  // send the operator to --force while a real registry goes unmentioned.
  const bool several = serving.size() > 1;
  return SafetyRefusal((several ? std::to_string(serving.size()) + " registries appear" : std::string("a registry appears")) +
                           " to be serving this storage: " + describe_live_registries(serving),
                       root,
                       std::string(several ? "stop them" : "stop it") +
                           " first (or, if you are sure that none of these serves this root, use --force)");
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
