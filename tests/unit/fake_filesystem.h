#pragma once
// An in-memory folder tree for unit tests (after ninja's VirtualFileSystem): build a store by hand,
// run storage/plan/apply code on it, and assert which paths were read.
#include <map>
#include <mutex>
#include <set>
#include <vector>
#include <string>

#include "regsweep/storage/filesystem.h"

namespace regsweep::test {

using storage::Dir;
using storage::FileLock;
using storage::FileStat;
using storage::FileSystem;
using storage::FileType;

class FakeFileSystem : public FileSystem {
 public:
  struct Node {
    FileType type = FileType::Regular;
    std::string content;
    std::int64_t mtime_ns = 0;
  };

  // Paths are absolute-looking strings ("/r/docker/..."); parent folders are created.
  void add_file(const std::string& path, std::string content, std::int64_t mtime_ns = 0);
  void add_dir(const std::string& path);
  void add_node(const std::string& path, FileType type);  // symlink, FIFO ("Other")
  void remove(const std::string& path);                   // a file or a whole folder

  bool exists(const std::string& path) const { return nodes_.count(path) != 0; }
  const std::map<std::string, Node>& nodes() const { return nodes_; }
  // Every file read_file was asked for (a set: sorted by path, each once).
  const std::set<std::string>& files_read() const { return files_read_; }
  // Every write, in order ("rename A -> B", "remove A", "write A", ...): what a test asserts.
  const std::vector<std::string>& writes() const { return writes_; }
  // Entries at or below `path` are on device `dev` (default 1): simulates a mount.
  void set_device(const std::string& path, std::uint64_t dev) { devices_[path] = dev; }
  std::uint64_t device_at(const std::string& path) const;
  // The folder at `path` cannot be entered (mode 000 for a user who is not root): it is
  // listed and stat'ed as a folder, but opening it fails and nothing below it can be seen.
  void deny(const std::string& path) { denied_.insert(path); }
  bool denied(const std::string& path) const;  // `path` is a denied folder or below one
  bool below_denied(const std::string& path) const;
  // Makes the next write whose description starts with `prefix` throw (crash tests).
  void fail_writes_matching(std::string prefix) { fail_prefix_ = std::move(prefix); }

  std::unique_ptr<Dir> open_root(const std::string& path) override;

 private:
  friend class FakeDir;
  std::map<std::string, Node> nodes_;
  std::set<std::string> files_read_;
  std::mutex read_mutex_;  // the walk reads from several threads
  std::vector<std::string> writes_;
  std::map<std::string, std::uint64_t> devices_;
  std::set<std::string> locks_held_;
  std::string fail_prefix_;
  std::set<std::string> denied_;
  friend class FakeLock;
};

}  // namespace regsweep::test
