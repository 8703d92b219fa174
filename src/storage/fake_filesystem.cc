#include "regsweep/storage/fake_filesystem.h"

namespace regsweep::storage {

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
    auto it = fs_.nodes_.find(child_path(rel));
    if (it == fs_.nodes_.end()) return {};
    return FileStat{it->second.type, it->second.content.size(), it->second.mtime_ns};
  }

  std::unique_ptr<Dir> open_dir(std::string_view rel) override {
    if (stat(rel).type != FileType::Directory) return nullptr;
    return std::make_unique<FakeDir>(fs_, child_path(rel));
  }

  ReadResult read_file(std::string_view rel, std::size_t max_bytes, std::string& out) override {
    out.clear();
    ReadResult r;
    std::string p = child_path(rel);
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

 private:
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

std::unique_ptr<Dir> FakeFileSystem::open_root(const std::string& path) {
  auto it = nodes_.find(path);
  if (it == nodes_.end() || it->second.type != FileType::Directory) return nullptr;
  return std::make_unique<FakeDir>(*this, path);
}

}  // namespace regsweep::storage
