#include "listed_dir.h"

#include <algorithm>
#include <mutex>

#include "regsweep/error.h"
#include "regsweep/storage/layout.h"
#include "regsweep/util/parallel.h"

namespace regsweep::storage::detail {

namespace {

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

// One flat listing (a blobs/sha256/<xx>/ prefix, a top-level folder of repositories/): its
// keys relative to the folder, back to back in one string, and per key 24 bytes. A million
// keys take about a hundred bytes each instead of a string and an entry apiece.
struct Listing {
  struct Item {
    std::uint64_t offset : 40;  // into names
    std::uint64_t length : 16;  // an S3 key is at most 1,024 bytes
    std::uint64_t type : 8;     // FileType; Directory: a "folder/" marker object
    std::uint64_t size;
    std::int64_t mtime_ns;
  };

  std::string prefix;       // the folder's key, without a trailing '/'
  std::string names;        // each key's part after "prefix/" ("" for the folder's own marker)
  std::vector<Item> items;  // sorted by path_less of their names

  std::string_view name(const Item& i) const { return std::string_view(names).substr(i.offset, i.length); }

  void add(std::string_view key, FileType type, std::uint64_t size, std::int64_t mtime_ns) {
    std::string_view rel = key.size() > prefix.size() ? key.substr(prefix.size() + 1) : std::string_view();
    if (rel.size() > 0xffff) throw Error("a key longer than 65,535 bytes", std::string(key));
    items.push_back(Item{names.size(), rel.size(), static_cast<std::uint8_t>(type), size, mtime_ns});
    names += rel;
  }
  void finish() {
    std::sort(items.begin(), items.end(), [&](const Item& a, const Item& b) { return path_less(name(a), name(b)); });
    items.shrink_to_fit();
    names.shrink_to_fit();
  }

  // The items below the folder `rel` ("" for the listed folder itself).
  std::pair<std::size_t, std::size_t> below(std::string_view rel) const {
    if (rel.empty()) return {0, items.size()};
    std::string prefix_of(rel);
    prefix_of += '/';
    auto lo = std::lower_bound(items.begin(), items.end(), prefix_of,
                               [&](const Item& i, const std::string& p) { return path_less(name(i), p); });
    auto hi = lo;
    while (hi != items.end() && name(*hi).starts_with(prefix_of)) ++hi;
    return {static_cast<std::size_t>(lo - items.begin()), static_cast<std::size_t>(hi - items.begin())};
  }
  const Item* exact(std::string_view rel) const {
    auto it = std::lower_bound(items.begin(), items.end(), rel, [&](const Item& i, std::string_view k) { return path_less(name(i), k); });
    return it != items.end() && name(*it) == rel ? &*it : nullptr;
  }
};

// What is above the flat listings: the few keys found while looking for them, and for each
// listing that holds a key, its folder (as a "folder/" marker would be).
struct Entry {
  std::string key;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  FileType type = FileType::Regular;  // Directory: a "folder/" marker object, or a listed folder
  bool listed = false;                // a listing's folder (after a key of the same name)
};

// A folder's children as the old single list of keys gave them: each key below `folder` in
// path order, its first component after the folder; a "name/" marker and the keys below it
// are one folder, a key "name" beside keys below "name/" a file and a folder.
template <typename Key, typename Type>
void list_children_of(std::size_t lo, std::size_t hi, std::size_t skip, Key&& key, Type&& type, EntryVisitor visit) {
  std::string_view last;
  FileType last_type = FileType::Missing;
  for (std::size_t i = lo; i < hi; ++i) {
    std::string_view rest = key(i).substr(skip);
    auto slash = rest.find('/');
    std::string_view name = rest.substr(0, slash);
    FileType t = slash == std::string_view::npos ? type(i) : FileType::Directory;
    if (name.empty()) continue;
    if (name == last && (t == FileType::Directory) == (last_type == FileType::Directory)) continue;
    visit(name, t);
    last = name;
    last_type = t;
  }
}

struct Snapshot {
  std::vector<Entry> upper;         // sorted by path_less (and a listed folder after a key of its name)
  std::vector<Listing> listings;    // sorted by path_less of their prefixes; none inside another

  // The listing whose folder holds `key` (with the key relative to it), or none: the key is
  // at or above the listed folders.
  std::pair<const Listing*, std::string_view> inside(std::string_view key) const {
    auto it = std::upper_bound(listings.begin(), listings.end(), key,
                               [](std::string_view k, const Listing& l) { return path_less(k, l.prefix); });
    if (it == listings.begin()) return {nullptr, {}};
    const Listing& l = *--it;
    if (key.size() > l.prefix.size() && key[l.prefix.size()] == '/' && key.starts_with(l.prefix))
      return {&l, key.substr(l.prefix.size() + 1)};
    return {nullptr, {}};
  }

  // The entries of `upper` below the folder `folder` ("" for the root; else without trailing '/').
  std::pair<std::size_t, std::size_t> upper_below(std::string_view folder) const {
    if (folder.empty()) return {0, upper.size()};
    std::string prefix(folder);
    prefix += '/';
    auto lo = std::lower_bound(upper.begin(), upper.end(), prefix,
                               [](const Entry& e, const std::string& p) { return path_less(e.key, p); });
    auto hi = lo;
    while (hi != upper.end() && std::string_view(hi->key).starts_with(prefix)) ++hi;
    return {static_cast<std::size_t>(lo - upper.begin()), static_cast<std::size_t>(hi - upper.begin())};
  }

  FileStat stat(std::string_view key) const {
    FileStat st;
    if (auto [l, rel] = inside(key); l) {
      if (const Listing::Item* i = l->exact(rel)) {
        st.type = static_cast<FileType>(i->type);
        st.size = i->size;
        st.mtime_ns = i->mtime_ns;
        if (st.type == FileType::Regular) return st;
      }
      auto [lo, hi] = l->below(rel);
      if (lo < hi) st.type = FileType::Directory;
      return st;
    }
    auto it = std::lower_bound(upper.begin(), upper.end(), key, [](const Entry& e, std::string_view k) { return path_less(e.key, k); });
    if (it != upper.end() && it->key == key) {
      st.type = it->type;
      st.size = it->size;
      st.mtime_ns = it->mtime_ns;
      if (it->type == FileType::Regular) return st;
    }
    auto [lo, hi] = upper_below(key);
    if (lo < hi) st.type = FileType::Directory;
    return st;
  }

  void list(std::string_view folder, EntryVisitor visit) const {
    if (auto [l, rel] = inside(folder); l) {
      auto [lo, hi] = l->below(rel);
      list_children_of(lo, hi, rel.empty() ? 0 : rel.size() + 1, [&](std::size_t i) { return l->name(l->items[i]); },
                       [&](std::size_t i) { return static_cast<FileType>(l->items[i].type); }, visit);
      return;
    }
    // A listed folder itself: its keys are all in its listing.
    auto it = std::lower_bound(listings.begin(), listings.end(), folder,
                               [](const Listing& l, std::string_view k) { return path_less(l.prefix, k); });
    if (it != listings.end() && it->prefix == folder) {
      list_children_of(0, it->items.size(), 0, [&](std::size_t i) { return it->name(it->items[i]); },
                       [&](std::size_t i) { return static_cast<FileType>(it->items[i].type); }, visit);
      return;
    }
    auto [lo, hi] = upper_below(folder);
    list_children_of(lo, hi, folder.empty() ? 0 : folder.size() + 1, [&](std::size_t i) { return std::string_view(upper[i].key); },
                     [&](std::size_t i) { return upper[i].type; }, visit);
  }
};

class ListedDir final : public ReadOnlyDirBase {
 public:
  ListedDir(Store& store, std::shared_ptr<const Snapshot> snapshot, std::string key)
      : ReadOnlyDirBase(store.locate(key), "internal error: a listing of the store was written to"),
        store_(store),
        snapshot_(std::move(snapshot)),
        key_(std::move(key)) {}

  void list(EntryVisitor visit) override { snapshot_->list(key_, visit); }

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

  auto snapshot = std::make_shared<Snapshot>();
  snapshot->listings.resize(flat.size());
  util::parallel_for(flat.size(), std::max(1u, jobs), [&](unsigned, std::size_t i) {
    Listing& l = snapshot->listings[i];
    l.prefix = std::move(flat[i]);
    store.list(l.prefix, [&](const KeyInfo& k) { l.add(k.key, k.type, k.size, k.mtime_ns); });
    l.finish();
    progress.advance(l.items.size());
  });
  std::sort(snapshot->listings.begin(), snapshot->listings.end(),
            [](const Listing& a, const Listing& b) { return path_less(a.prefix, b.prefix); });
  snapshot->upper = std::move(shallow);
  for (const Listing& l : snapshot->listings) {
    if (l.items.empty()) continue;  // nothing below it: no such folder
    Entry folder{l.prefix, 0, 0, FileType::Directory, true};
    if (l.name(l.items.front()).empty()) {  // the folder's own "folder/" marker
      folder.size = l.items.front().size;
      folder.mtime_ns = l.items.front().mtime_ns;
    }
    snapshot->upper.push_back(std::move(folder));
  }
  std::sort(snapshot->upper.begin(), snapshot->upper.end(), [](const Entry& a, const Entry& b) {
    return path_less(a.key, b.key) || (a.key == b.key && !a.listed && b.listed);
  });
  return std::make_unique<ListedDir>(store, std::move(snapshot), std::string());
}

}  // namespace regsweep::storage::detail
