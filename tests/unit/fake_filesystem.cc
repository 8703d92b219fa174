#include "fake_filesystem.h"

#include "regsweep/error.h"

#include <algorithm>
#include <cerrno>
#include <limits>

namespace regsweep::test {

using namespace storage;

bool FakeFileSystem::below_denied(const std::string& path) const {
  for (const std::string& d : denied_)
    if (path.size() > d.size() && path.starts_with(d) && path[d.size()] == '/') return true;
  return false;
}

bool FakeFileSystem::denied(const std::string& path) const { return denied_.count(path) != 0 || below_denied(path); }

class FakeLock : public FileLock {
 public:
  FakeLock(FakeFileSystem& fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  ~FakeLock() override { fs_.locks_held_.erase(path_); }
  void describe_holder(std::string_view text) override { fs_.nodes_[path_].content = std::string(text); }

 private:
  FakeFileSystem& fs_;
  std::string path_;
};

class FakeDir : public Dir {
 public:
  FakeDir(FakeFileSystem& fs, std::string path) : Dir(std::move(path)), fs_(fs) {}

  void list(EntryVisitor visit) override {
    const std::string prefix = path() + "/";
    for (auto it = fs_.nodes_.lower_bound(prefix); it != fs_.nodes_.end() && it->first.starts_with(prefix); ++it) {
      std::string_view rest = std::string_view(it->first).substr(prefix.size());
      if (rest.find('/') == std::string_view::npos) visit(rest, it->second.type);
    }
  }

  FileStat stat(std::string_view rel) override {
    const std::string p = child_path(rel);
    if (fs_.below_denied(p)) return FileStat{FileType::Missing, 0, 0, EACCES};
    auto it = fs_.nodes_.find(p);
    if (it == fs_.nodes_.end()) return {};
    return FileStat{it->second.type, it->second.content.size(), it->second.mtime_ns};
  }

  std::unique_ptr<Dir> open_dir(std::string_view rel) override {
    if (stat(rel).type != FileType::Directory || fs_.denied(child_path(rel))) return nullptr;
    return std::make_unique<FakeDir>(fs_, child_path(rel));
  }

  ReadResult read_file(std::string_view rel, std::size_t max_bytes, std::string& out) override {
    out.clear();
    ReadResult r;
    std::string p = child_path(rel);
    if (fs_.below_denied(p)) {
      r.status = ReadStatus::IoError;
      r.error = EACCES;
      return r;
    }
    auto it = fs_.nodes_.find(p);
    if (it == fs_.nodes_.end()) return r;
    r.stat = FileStat{it->second.type, it->second.content.size(), it->second.mtime_ns};
    if (it->second.type != FileType::Regular) {
      r.status = ReadStatus::NotRegular;
    } else if (it->second.content.size() > max_bytes) {
      r.status = ReadStatus::TooLarge;
    } else {
      std::lock_guard lock(fs_.read_mutex_);
      fs_.files_read_.insert(p);
      out = it->second.content;
      r.status = ReadStatus::Ok;
    }
    return r;
  }

  ReadResult read_chunks(std::string_view rel, char* buffer, std::size_t size,
                         util::FunctionRef<void(std::string_view)> chunk) override {
    std::string content;
    ReadResult r = read_file(rel, std::numeric_limits<std::size_t>::max(), content);
    for (std::size_t at = 0; r.ok() && at < content.size(); at += size) {
      std::size_t n = std::min(size, content.size() - at);
      std::copy_n(content.data() + at, n, buffer);
      chunk(std::string_view(buffer, n));
    }
    return r;
  }

  void make_dirs(std::string_view rel) override {
    record("mkdir " + child_path(rel));
    fs_.add_dir(child_path(rel));
  }

  void rename(std::string_view from, std::string_view to) override {
    std::string src = child_path(from), dst = child_path(to);
    record("rename " + src + " -> " + dst);
    if (!fs_.exists(src)) throw Error("cannot move: no such file", src);
    auto slash = dst.rfind('/');
    if (slash != std::string::npos && slash > 0 && !fs_.exists(dst.substr(0, slash)))
      throw Error("cannot move: target folder missing", dst);
    if (fs_.device_at(src) != fs_.device_at(dst.substr(0, slash))) throw Error("cannot move across filesystems", src);
    if (fs_.exists(dst)) throw Error("cannot move: target exists", dst);
    std::vector<std::pair<std::string, FakeFileSystem::Node>> moved;
    moved.emplace_back(dst, fs_.nodes_.at(src));
    fs_.nodes_.erase(src);
    const std::string prefix = src + "/";
    for (auto it = fs_.nodes_.lower_bound(prefix); it != fs_.nodes_.end() && it->first.starts_with(prefix);) {
      moved.emplace_back(dst + it->first.substr(src.size()), it->second);
      it = fs_.nodes_.erase(it);
    }
    for (auto& [p, n] : moved) fs_.nodes_[p] = std::move(n);
  }

  void remove_tree(std::string_view rel) override {
    record("remove " + child_path(rel));
    fs_.remove(child_path(rel));
  }

  bool remove_empty_dir(std::string_view rel) override {
    std::string p = child_path(rel);
    auto it = fs_.nodes_.find(p);
    if (it == fs_.nodes_.end() || it->second.type != FileType::Directory) return false;
    auto next = std::next(it);
    if (next != fs_.nodes_.end() && next->first.starts_with(p + "/")) return false;
    record("rmdir " + p);
    fs_.nodes_.erase(it);
    return true;
  }

  void write_file(std::string_view rel, std::string_view content) override {
    record("write " + child_path(rel));
    fs_.add_file(child_path(rel), std::string(content));
  }

  void append(std::string_view rel, std::string_view content) override {
    record("append " + child_path(rel));
    auto& node = fs_.nodes_[child_path(rel)];
    node.type = FileType::Regular;
    node.content += content;
  }

  std::uint64_t device_of(std::string_view rel) override {
    std::string p = child_path(rel);
    return fs_.exists(p) ? fs_.device_at(p) : 0;
  }

  std::unique_ptr<FileLock> lock(std::string_view rel, bool) override {
    std::string p = child_path(rel);
    if (!fs_.locks_held_.insert(p).second) return nullptr;
    if (!fs_.exists(p)) fs_.add_file(p, "");
    return std::make_unique<FakeLock>(fs_, p);
  }

 private:
  void record(std::string what) {
    if (!fs_.fail_prefix_.empty() && what.starts_with(fs_.fail_prefix_)) {
      fs_.fail_prefix_.clear();
      throw Error("injected failure", what);
    }
    fs_.writes_.push_back(std::move(what));
  }

  FakeFileSystem& fs_;
};

namespace {
std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? std::string() : path.substr(0, slash);
}
}  // namespace

void FakeFileSystem::add_dir(const std::string& path) {
  for (std::string p = path; !p.empty(); p = parent_of(p)) {
    auto [it, inserted] = nodes_.try_emplace(p, Node{FileType::Directory, {}, 0});
    if (!inserted) break;
  }
}

void FakeFileSystem::add_file(const std::string& path, std::string content, std::int64_t mtime_ns) {
  add_dir(parent_of(path));
  nodes_[path] = Node{FileType::Regular, std::move(content), mtime_ns};
}

void FakeFileSystem::add_node(const std::string& path, FileType type) {
  add_dir(parent_of(path));
  nodes_[path] = Node{type, {}, 0};
}

void FakeFileSystem::remove(const std::string& path) {
  nodes_.erase(path);
  const std::string prefix = path + "/";
  for (auto it = nodes_.lower_bound(prefix); it != nodes_.end() && it->first.starts_with(prefix);)
    it = nodes_.erase(it);
}

std::uint64_t FakeFileSystem::device_at(const std::string& path) const {
  std::uint64_t dev = 1;
  std::size_t best = 0;
  for (const auto& [prefix, d] : devices_)
    if ((path == prefix || path.starts_with(prefix + "/")) && prefix.size() >= best) {
      best = prefix.size();
      dev = d;
    }
  return dev;
}

std::unique_ptr<Dir> FakeFileSystem::open_root(const std::string& path) {
  auto it = nodes_.find(path);
  if (it == nodes_.end() || it->second.type != FileType::Directory) return nullptr;
  return std::make_unique<FakeDir>(*this, path);
}

}  // namespace regsweep::test
