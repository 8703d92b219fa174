#include "regsweep/apply/registry_gc.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "regsweep/error.h"

extern char** environ;

namespace regsweep::apply {

namespace {

constexpr const char* kRootVariable = "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY";
constexpr const char* kLogLevelVariable = "REGISTRY_LOG_LEVEL";

std::string errno_text(int error) { return std::strerror(error); }

// A temporary config file, removed when this goes out of scope: by return or by exception.
class TemporaryConfig {
 public:
  explicit TemporaryConfig(const std::string& root) {
    std::error_code ec;
    std::filesystem::path folder = std::filesystem::temp_directory_path(ec);
    if (ec) throw Error("no folder for a temporary registry config: " + ec.message(), std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "");
    std::string pattern = (folder / "regsweep-gc-XXXXXX.yml").string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    // mkstemps: O_CREAT|O_EXCL with a random name, so an existing file or symbolic link there
    // is never opened; mode 0600.
    int fd = ::mkstemps(name.data(), 4);
    if (fd < 0) throw Error("cannot create a temporary registry config: " + errno_text(errno), pattern);
    path_ = name.data();
    // The root is also given through the environment (exact bytes); here it is for whoever
    // reads the file, so bytes that are not UTF-8 are replaced rather than refused.
    std::string text = "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: " +
                       nlohmann::json(root).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                       "\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n";
    std::size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int saved = errno;
        ::close(fd);
        throw Error("cannot write the temporary registry config: " + errno_text(saved), path_);
      }
      done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) throw Error("cannot write the temporary registry config: " + errno_text(errno), path_);
  }
  ~TemporaryConfig() { ::unlink(path_.c_str()); }
  TemporaryConfig(const TemporaryConfig&) = delete;
  TemporaryConfig& operator=(const TemporaryConfig&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// This process's environment with `overrides` ("NAME=value") replacing any same-named entry.
std::vector<std::string> child_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const std::string& o : overrides)
      if (entry.starts_with(std::string_view(o).substr(0, o.find('=') + 1))) replaced = true;
    if (!replaced) env.emplace_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// posix_spawn_file_actions_t with its destroy on every path.
class FileActions {
 public:
  FileActions() { ::posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

}  // namespace

RegistryGcRun run_registry_gc(const std::string& bin, const std::string& root, const std::string& config, bool dry_run,
                              util::FunctionRef<void(std::string_view)> echo, std::ostream& log) {
  std::optional<TemporaryConfig> temporary;
  if (config.empty()) temporary.emplace(root);
  const std::string& config_path = temporary ? temporary->path() : config;

  std::vector<std::string> args = {bin, "garbage-collect"};
  if (dry_run) args.emplace_back("--dry-run");
  args.push_back(config_path);
  RegistryGcRun run;
  for (const std::string& a : args) run.command += (run.command.empty() ? "" : " ") + a;
  std::vector<std::string> env = child_environment({std::string(kRootVariable) + "=" + root, std::string(kLogLevelVariable) + "=info"});

  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw Error("cannot make a pipe for the registry's garbage-collect: " + errno_text(errno), bin);
  Fd read_end(ends[0]), write_end(ends[1]);
  FileActions actions;
  ::posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(actions.get(), write_end.get(), STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(actions.get(), write_end.get(), STDERR_FILENO);

  log << "regsweep: running " << run.command << "\n" << std::flush;
  std::vector<char*> argv = pointers(args), envp = pointers(env);
  pid_t pid = 0;
  int error = ::posix_spawn(&pid, bin.c_str(), actions.get(), nullptr, argv.data(), envp.data());
  if (error != 0) throw Error("cannot start the registry's garbage-collect: " + errno_text(error), bin);
  write_end.reset();  // the child holds the only write end now: EOF when it exits

  char buf[4096];
  while (true) {
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::string_view chunk(buf, static_cast<std::size_t>(n));
    run.output.append(chunk);
    echo(chunk);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error("cannot wait for the registry's garbage-collect: " + errno_text(errno), bin);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) run.failure = "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) run.failure = "killed by signal " + std::to_string(WTERMSIG(status));
  return run;
}

}  // namespace regsweep::apply
