#include "regsweep/storage/store.h"
#include "regsweep/util/sha256.h"

#include "regsweep/error.h"

namespace regsweep::storage {

bool etag_proves(const KeyInfo& info, std::string_view content) {
  return info.etag.size() == 32 && info.size == content.size() && info.etag == util::md5_hex(content);
}

std::string join_key(std::string_view folder, std::string_view name) {
  std::string out;
  out.reserve(folder.size() + 1 + name.size());
  out += folder;
  if (!folder.empty()) out += '/';
  out += name;
  return out;
}

std::string_view parent_key(std::string_view key) {
  auto slash = key.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : key.substr(0, slash);
}

void Store::rename(std::string_view from, std::string_view) {
  throw Error("internal error: this store cannot rename (it has no atomic rename)", locate(from));
}

bool Store::remove_empty_folder(std::string_view prefix) {
  bool empty = true;
  list(prefix, [&](const KeyInfo&) { empty = false; });
  return empty;
}

void Store::make_folder(std::string_view) {}

void ReadOnlyDirBase::refuse(std::string_view rel) const { throw Error(why_, child_path(rel)); }

Store::PutNew Store::put_new(std::string_view, std::string_view) { return PutNew::Unsupported; }

std::uint64_t Store::volume_of(std::string_view) { return 0; }

namespace {

// --- A local folder ---

class FolderStore : public Store {
 public:
  FolderStore(std::unique_ptr<Dir> root, unsigned connections) : root_(std::move(root)), location_(root_->path()) {
    traits_.atomic_rename = true;
    traits_.folders = true;
    traits_.symlinks = true;
    traits_.append = true;
    traits_.locks = true;
    traits_.registries_visible = true;
    traits_.connections = connections ? connections : 1;
  }

  StoreTraits traits() const override { return traits_; }
  const std::string& location() const override { return location_; }
  std::string locate(std::string_view key) const override { return key.empty() ? location_ : root_->child_path(key); }

  void list(std::string_view prefix, KeyVisitor visit) override {
    std::unique_ptr<Dir> dir = prefix.empty() ? nullptr : root_->open_dir(prefix);
    if (!prefix.empty() && !dir) return;
    std::string key(prefix);
    list_below(dir ? *dir : *root_, key, visit, 0);
  }

  void list_children(std::string_view prefix, ChildVisitor visit) override {
    if (prefix.empty()) return root_->list(visit);
    if (auto dir = root_->open_dir(prefix)) dir->list(visit);
  }

  FileStat stat(std::string_view key) override { return root_->stat(key); }
  ReadResult read(std::string_view key, std::size_t max_bytes, std::string& out) override {
    return root_->read_file(key, max_bytes, out);
  }
  ReadResult read_chunks(std::string_view key, char* buffer, std::size_t size,
                         util::FunctionRef<void(std::string_view)> chunk) override {
    return root_->read_chunks(key, buffer, size, chunk);
  }

  void put(std::string_view key, std::string_view content) override {
    make_parent(key);
    root_->write_file(key, content);
  }
  void remove(const std::vector<std::string>& keys) override {
    for (const std::string& k : keys) root_->remove_tree(k);
  }
  void remove_prefix(std::string_view prefix) override { root_->remove_tree(prefix); }
  void copy(std::string_view from, std::string_view to, const KeyInfo*) override {
    std::string content;
    ReadResult r = root_->read_file(from, std::size_t(1) << 40, content);
    if (!r.ok()) throw Error("cannot copy: it cannot be read", locate(from));
    put(to, content);
  }
  void rename(std::string_view from, std::string_view to) override {
    make_parent(to);
    root_->rename(from, to);
  }
  bool remove_empty_folder(std::string_view prefix) override { return root_->remove_empty_dir(prefix); }
  void make_folder(std::string_view prefix) override { root_->make_dirs(prefix); }
  std::uint64_t volume_of(std::string_view key) override { return root_->device_of(key); }
  Dir* directory() override { return root_.get(); }

 private:
  void make_parent(std::string_view key) {
    std::string_view parent = parent_key(key);
    if (!parent.empty() && root_->stat(parent).type != FileType::Directory) root_->make_dirs(parent);
  }

  // Depth-first below `dir` (at key `key`); symlinks are reported, never entered.
  void list_below(Dir& dir, std::string& key, KeyVisitor visit, int depth) {
    std::vector<std::pair<std::string, FileType>> entries;
    dir.list([&](std::string_view name, FileType type) { entries.emplace_back(std::string(name), type); });
    for (const auto& [name, type] : entries) {
      const std::size_t before = key.size();
      if (!key.empty()) key += '/';
      key += name;
      if (type == FileType::Directory) {
        if (depth > 64) throw Error("folders nested too deep to list", locate(key));
        if (auto sub = dir.open_dir(name)) list_below(*sub, key, visit, depth + 1);
      } else {
        FileStat st = dir.stat(name);
        visit(KeyInfo{key, st.exists() ? st.type : type, st.size, st.mtime_ns, {}});
      }
      key.resize(before);
    }
  }

  std::unique_ptr<Dir> root_;
  std::string location_;
  StoreTraits traits_;
};

// --- Dry-run: reads pass, writes are refused ---

class ReadOnlyDir : public ReadOnlyDirBase {
 public:
  explicit ReadOnlyDir(Dir& inner, std::unique_ptr<Dir> owned = nullptr)
      : ReadOnlyDirBase(inner.path(), "internal error: a write was attempted in dry-run mode (refused)"),
        owned_(std::move(owned)),
        inner_(inner) {}

  void list(EntryVisitor visit) override { inner_.list(visit); }
  FileStat stat(std::string_view rel) override { return inner_.stat(rel); }
  std::unique_ptr<Dir> open_dir(std::string_view rel) override {
    auto d = inner_.open_dir(rel);
    if (!d) return nullptr;
    Dir& ref = *d;
    return std::make_unique<ReadOnlyDir>(ref, std::move(d));
  }
  ReadResult read_file(std::string_view rel, std::size_t max_bytes, std::string& out) override {
    return inner_.read_file(rel, max_bytes, out);
  }
  ReadResult read_chunks(std::string_view rel, char* buffer, std::size_t size,
                         util::FunctionRef<void(std::string_view)> chunk) override {
    return inner_.read_chunks(rel, buffer, size, chunk);
  }
  std::uint64_t device_of(std::string_view rel) override { return inner_.device_of(rel); }

 private:
  std::unique_ptr<Dir> owned_;
  Dir& inner_;
};

class ReadOnlyStore : public Store {
 public:
  explicit ReadOnlyStore(Store& inner) : inner_(inner) {
    if (Dir* d = inner_.directory()) dir_ = std::make_unique<ReadOnlyDir>(*d);
  }
  StoreTraits traits() const override { return inner_.traits(); }
  const std::string& location() const override { return inner_.location(); }
  std::string locate(std::string_view key) const override { return inner_.locate(key); }
  void list(std::string_view prefix, KeyVisitor visit) override { inner_.list(prefix, visit); }
  void list_children(std::string_view prefix, ChildVisitor visit) override { inner_.list_children(prefix, visit); }
  FileStat stat(std::string_view key) override { return inner_.stat(key); }
  ReadResult read(std::string_view key, std::size_t max_bytes, std::string& out) override { return inner_.read(key, max_bytes, out); }
  ReadResult read_chunks(std::string_view key, char* buffer, std::size_t size,
                         util::FunctionRef<void(std::string_view)> chunk) override {
    return inner_.read_chunks(key, buffer, size, chunk);
  }
  std::uint64_t volume_of(std::string_view key) override { return inner_.volume_of(key); }
  Dir* directory() override { return dir_.get(); }

  void put(std::string_view key, std::string_view) override { refuse(key); }
  void remove(const std::vector<std::string>& keys) override { refuse(keys.empty() ? std::string_view() : keys.front()); }
  void remove_prefix(std::string_view prefix) override { refuse(prefix); }
  void copy(std::string_view from, std::string_view, const KeyInfo*) override { refuse(from); }
  PutNew put_new(std::string_view key, std::string_view) override { refuse(key); }
  void rename(std::string_view from, std::string_view) override { refuse(from); }
  bool remove_empty_folder(std::string_view prefix) override { refuse(prefix); }
  void make_folder(std::string_view prefix) override { refuse(prefix); }

 private:
  [[noreturn]] void refuse(std::string_view key) {
    throw Error("internal error: a write was attempted in dry-run mode (refused)", locate(key));
  }
  Store& inner_;
  std::unique_ptr<Dir> dir_;
};

}  // namespace

std::unique_ptr<Store> open_folder_store(FileSystem& fs, const std::string& root, unsigned connections) {
  std::unique_ptr<Dir> dir = fs.open_root(root);
  if (!dir) throw Error("registry root is not a readable folder", root, "give the storage's rootdirectory with --root or --config");
  return std::make_unique<FolderStore>(std::move(dir), connections);
}

std::unique_ptr<Store> read_only(Store& inner) { return std::make_unique<ReadOnlyStore>(inner); }

}  // namespace regsweep::storage
