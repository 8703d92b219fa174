#include "regsweep/storage/read_only_filesystem.h"

#include "regsweep/error.h"

namespace regsweep::storage {

namespace {

class ReadOnlyDir : public Dir {
 public:
  explicit ReadOnlyDir(std::unique_ptr<Dir> inner) : Dir(inner->path()), inner_(std::move(inner)) {}

  void list(EntryVisitor visit) override { inner_->list(visit); }
  FileStat stat(std::string_view rel) override { return inner_->stat(rel); }
  std::unique_ptr<Dir> open_dir(std::string_view rel) override {
    auto d = inner_->open_dir(rel);
    return d ? std::make_unique<ReadOnlyDir>(std::move(d)) : nullptr;
  }
  ReadResult read_file(std::string_view rel, std::size_t max_bytes, std::string& out) override {
    return inner_->read_file(rel, max_bytes, out);
  }
  ReadResult read_chunks(std::string_view rel, char* buffer, std::size_t size,
                         util::FunctionRef<void(std::string_view)> chunk) override {
    return inner_->read_chunks(rel, buffer, size, chunk);
  }
  std::uint64_t device_of(std::string_view rel) override { return inner_->device_of(rel); }

  void make_dirs(std::string_view rel) override { refuse(rel); }
  void rename(std::string_view from, std::string_view) override { refuse(from); }
  void remove_tree(std::string_view rel) override { refuse(rel); }
  bool remove_empty_dir(std::string_view rel) override { refuse(rel); }
  void write_file(std::string_view rel, std::string_view) override { refuse(rel); }
  void append(std::string_view rel, std::string_view) override { refuse(rel); }
  std::unique_ptr<FileLock> lock(std::string_view rel, bool) override { refuse(rel); }

 private:
  [[noreturn]] void refuse(std::string_view rel) {
    throw Error("internal error: a write was attempted in dry-run mode (refused)", child_path(rel));
  }
  std::unique_ptr<Dir> inner_;
};

}  // namespace

std::unique_ptr<Dir> ReadOnlyFileSystem::open_root(const std::string& path) {
  auto d = inner_.open_root(path);
  return d ? std::make_unique<ReadOnlyDir>(std::move(d)) : nullptr;
}

}  // namespace regsweep::storage
