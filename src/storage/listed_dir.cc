#include "listed_dir.h"

#include <algorithm>
#include <mutex>

#include "regsweep/error.h"
#include "regsweep/storage/layout.h"
#include "regsweep/util/parallel.h"

namespace regsweep::storage::detail {

namespace {

struct Entry {
  std::string key;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  FileType type = FileType::Regular;  // Directory: a "folder/" marker object
};

// Keys ordered as paths: '/' before every other byte, so that what is below a folder comes
// right after it and before its siblings ("a/b", "a/b/c", "a/b-x"): a folder's children are
// one run of the sorted keys, each child's keys one run inside it.
bool path_less(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

struct Snapshot {
  std::vector<Entry> entries;  // sorted by path_less

  // The entries below the folder `folder` ("" for the root; else without trailing '/').
  std::pair<std::size_t, std::size_t> below(std::string_view folder) const {
    if (folder.empty()) return {0, entries.size()};
    std::string prefix(folder);
    prefix += '/';
    auto lo = std::lower_bound(entries.begin(), entries.end(), prefix,
                               [](const Entry& e, const std::string& p) { return path_less(e.key, p); });
    auto hi = lo;
    while (hi != entries.end() && std::string_view(hi->key).starts_with(prefix)) ++hi;
    return {static_cast<std::size_t>(lo - entries.begin()), static_cast<std::size_t>(hi - entries.begin())};
  }

  const Entry* exact(std::string_view key) const {
    auto it = std::lower_bound(entries.begin(), entries.end(), key,
                               [](const Entry& e, std::string_view k) { return path_less(e.key, k); });
    return it != entries.end() && it->key == key ? &*it : nullptr;
  }

  FileStat stat(std::string_view key) const {
    FileStat st;
    if (const Entry* e = exact(key)) {
      st.type = e->type;
      st.size = e->size;
      st.mtime_ns = e->mtime_ns;
      if (e->type == FileType::Regular) return st;
    }
    auto [lo, hi] = below(key);
    if (lo < hi) st.type = FileType::Directory;
    return st;
  }
};

class ListedDir final : public ReadOnlyDirBase {
 public:
  ListedDir(Store& store, std::shared_ptr<const Snapshot> snapshot, std::string key)
      : ReadOnlyDirBase(store.locate(key), "internal error: a listing of the store was written to"),
        store_(store),
        snapshot_(std::move(snapshot)),
        key_(std::move(key)) {}

  void list(EntryVisitor visit) override {
    auto [lo, hi] = snapshot_->below(key_);
    const std::size_t skip = key_.empty() ? 0 : key_.size() + 1;
    std::string_view last;
    FileType last_type = FileType::Missing;
    for (std::size_t i = lo; i < hi; ++i) {
      std::string_view rest = std::string_view(snapshot_->entries[i].key).substr(skip);
      auto slash = rest.find('/');
      std::string_view name = rest.substr(0, slash);
      FileType type = slash == std::string_view::npos ? snapshot_->entries[i].type : FileType::Directory;
      if (name.empty()) continue;
      // A marker "name/" and the keys below it are one folder; a key "name" beside keys
      // below "name/" is a file and a folder (both are there).
      if (name == last && (type == FileType::Directory) == (last_type == FileType::Directory)) continue;
      visit(name, type);
      last = name;
      last_type = type;
    }
  }

  FileStat stat(std::string_view rel) override { return snapshot_->stat(full(rel)); }

  std::unique_ptr<Dir> open_dir(std::string_view rel) override {
    std::string key = full(rel);
    if (snapshot_->stat(key).type != FileType::Directory) return nullptr;
    return std::make_unique<ListedDir>(store_, snapshot_, std::move(key));
  }

  ReadResult read_file(std::string_view rel, std::size_t max_bytes, std::string& out) override {
    return store_.read(full(rel), max_bytes, out);
  }
  ReadResult read_chunks(std::string_view rel, char* buffer, std::size_t size,
                         util::FunctionRef<void(std::string_view)> chunk) override {
    return store_.read_chunks(full(rel), buffer, size, chunk);
  }

  std::uint64_t device_of(std::string_view) override { return 0; }

 private:
  std::string full(std::string_view rel) const {
    std::string k = key_;
    if (!k.empty() && !rel.empty()) k += '/';
    k += rel;
    return k;
  }

  Store& store_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::string key_;
};

}  // namespace

std::unique_ptr<Dir> list_store(Store& store, unsigned jobs, util::Progress& progress, bool with_blobs) {
  progress.phase("listing keys");
  const std::string v2(layout::kV2);

  // The folders listed flat, each by one worker: every blobs/sha256/<xx>/ and every top-level
  // folder of repositories/. The levels above are listed by name only (a delimiter listing),
  // so that whatever else is there is seen too.
  std::vector<std::string> flat;
  std::vector<Entry> shallow;
  auto children = [&](const std::string& folder, auto&& on_folder) {
    store.list_children(folder, [&](std::string_view name, FileType type) {
      std::string key = folder + "/" + std::string(name);
      if (type == FileType::Directory) {
        on_folder(std::move(key), name);
      } else {
        FileStat st = store.stat(key);
        shallow.push_back(Entry{std::move(key), st.size, st.mtime_ns, FileType::Regular});
      }
    });
  };
  auto below_v2 = [&](std::string key, std::string_view name) {
    if (name == layout::kBlobsFolder && !with_blobs) {
      return;
    } else if (name == layout::kBlobsFolder) {
      children(key, [&](std::string k, std::string_view n) {
        if (n == layout::kAlgorithm)
          children(k, [&](std::string prefix, std::string_view) { flat.push_back(std::move(prefix)); });
        else
          flat.push_back(std::move(k));
      });
    } else if (name == layout::kRepositories) {
      children(key, [&](std::string k, std::string_view) { flat.push_back(std::move(k)); });
    } else {
      flat.push_back(std::move(key));
    }
  };
  children(v2, below_v2);

  std::vector<std::vector<Entry>> found(std::max(1u, jobs));
  util::parallel_for(flat.size(), static_cast<unsigned>(found.size()), [&](unsigned w, std::size_t i) {
    std::size_t before = found[w].size();
    store.list(flat[i], [&](const KeyInfo& k) { found[w].push_back(Entry{std::string(k.key), k.size, k.mtime_ns, k.type}); });
    progress.advance(found[w].size() - before);
  });
  auto snapshot = std::make_shared<Snapshot>();
  std::size_t total = shallow.size();
  for (auto& v : found) total += v.size();
  snapshot->entries.reserve(total);
  for (Entry& e : shallow) snapshot->entries.push_back(std::move(e));
  for (auto& v : found)
    for (Entry& e : v) snapshot->entries.push_back(std::move(e));
  std::sort(snapshot->entries.begin(), snapshot->entries.end(), [](const Entry& a, const Entry& b) { return path_less(a.key, b.key); });
  return std::make_unique<ListedDir>(store, std::move(snapshot), std::string());
}

}  // namespace regsweep::storage::detail
