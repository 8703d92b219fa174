#include "listed_dir.h"

#include <algorithm>
#include <mutex>

#include "regsweep/error.h"
#include "regsweep/storage/layout.h"
#include "regsweep/util/hex.h"
#include "regsweep/util/parallel.h"
#include "regsweep/util/sha256.h"

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

// What a listing said, hashed key by key in the order it came (a bucket lists in key order):
// the key, its size, its time and its ETag. Two listings with equal hashes saw the same keys
// with the same contents (an ETag is the content's MD5, or changes with every write).
class ListingHash {
 public:
  void add(const KeyInfo& k) {
    buffer_.assign(k.key);
    buffer_ += '\0';
    append_number(static_cast<std::uint64_t>(k.size));
    append_number(static_cast<std::uint64_t>(k.mtime_ns));
    buffer_ += static_cast<char>(k.type);
    buffer_ += k.etag;
    buffer_ += '\0';
    sha_.update(buffer_);
  }
  Digest finish() { return sha_.finish(); }

 private:
  void append_number(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) buffer_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  util::Sha256Stream sha_;
  std::string buffer_;
};

// One flat listing (a blobs/sha256/<xx>/ prefix, a top-level folder of repositories/): its
// keys relative to the folder, back to back in one string, and per key 24 bytes. A million
// keys take about a hundred bytes each instead of a string and an entry apiece.
struct Listing {
  struct Item {
    std::uint64_t offset : 40;  // into names
    std::uint64_t length : 16;  // an S3 key is at most 1,024 bytes
    std::uint64_t type : 7;     // FileType; Directory: a "folder/" marker object
    // A ".../<64 hex>/link" whose ETag proves it holds "sha256:<that hex>": read without a GET.
    std::uint64_t canonical_link : 1;
    std::uint64_t size;
    std::int64_t mtime_ns;
  };

  std::string prefix;       // the folder's key, without a trailing '/'
  std::string names;        // each key's part after "prefix/" ("" for the folder's own marker)
  std::vector<Item> items;  // sorted by path_less of their names
  Digest hash;              // of every key as listed (ListingHash)

  std::string_view name(const Item& i) const { return std::string_view(names).substr(i.offset, i.length); }

  void add(const KeyInfo& k) {
    std::string_view rel = k.key.size() > prefix.size() ? k.key.substr(prefix.size() + 1) : std::string_view();
    if (rel.size() > 0xffff) throw Error("a key longer than 65,535 bytes", std::string(k.key));
    items.push_back(Item{names.size(), rel.size(), static_cast<std::uint8_t>(k.type), proves_canonical_link(k), k.size, k.mtime_ns});
    names += rel;
  }

  // Revision, layer and tag-index links name the digest of their folder: when the listing's
  // ETag is the MD5 of exactly that, the content is known and the walk need not GET it.
  static bool proves_canonical_link(const KeyInfo& k) {
    constexpr std::string_view kLink = "/link";
    if (k.type != FileType::Regular || k.size != kLinkFileSize || k.etag.empty() || !k.key.ends_with(kLink)) return false;
    std::string_view folder = k.key.substr(0, k.key.size() - kLink.size());
    std::string_view hex = folder.substr(folder.rfind('/') + 1);
    if (hex.size() != 64 || !util::is_lower_hex(hex)) return false;
    std::string content(kSha256Prefix);
    content += hex;
    return etag_proves(k, content);
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
    std::string key = full(rel);
    if (auto [l, inner] = snapshot_->inside(key); l && max_bytes >= kLinkFileSize)
      if (const auto* i = l->exact(inner); i && i->canonical_link) {
        std::string_view folder = std::string_view(key).substr(0, key.size() - std::string_view("/link").size());
        out.assign(kSha256Prefix);
        out += folder.substr(folder.size() - 64);  // checked when listed
        ReadResult r;
        r.status = ReadStatus::Ok;
        r.stat.type = FileType::Regular;
        r.stat.size = i->size;
        r.stat.mtime_ns = i->mtime_ns;
        return r;
      }
    return store_.read(key, max_bytes, out);
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

namespace {

// The folders listed flat, each by one worker: every blobs/sha256/<xx>/ and every top-level
// folder of repositories/. The levels above are listed by name only (a delimiter listing),
// so that whatever else is there is seen too (as `shallow` entries).
struct Layout {
  std::vector<std::string> flat;
  std::vector<Entry> shallow;
};
Layout find_flat_folders(Store& store, bool with_blobs) {
  Layout out;
  auto children = [&](const std::string& folder, auto&& on_folder) {
    store.list_children(folder, [&](std::string_view name, FileType type) {
      std::string key = folder + "/" + std::string(name);
      if (type == FileType::Directory) {
        on_folder(std::move(key), name);
      } else {
        FileStat st = store.stat(key);
        out.shallow.push_back(Entry{std::move(key), st.size, st.mtime_ns, FileType::Regular});
      }
    });
  };
  auto below_v2 = [&](std::string key, std::string_view name) {
    if (name == layout::kBlobsFolder && !with_blobs) {
      return;
    } else if (name == layout::kBlobsFolder) {
      children(key, [&](std::string k, std::string_view n) {
        if (n == layout::kAlgorithm)
          children(k, [&](std::string prefix, std::string_view) { out.flat.push_back(std::move(prefix)); });
        else
          out.flat.push_back(std::move(k));
      });
    } else if (name == layout::kRepositories) {
      children(key, [&](std::string k, std::string_view) { out.flat.push_back(std::move(k)); });
    } else {
      out.flat.push_back(std::move(key));
    }
  };
  children(std::string(layout::kV2), below_v2);
  return out;
}

// The whole listing's fingerprint: each flat folder's hash in path order, then the keys above.
Digest fingerprint_of(std::vector<std::pair<std::string_view, Digest>> folders, const std::vector<Entry>& shallow) {
  std::sort(folders.begin(), folders.end(), [](const auto& a, const auto& b) { return path_less(a.first, b.first); });
  ListingHash all;
  for (const auto& [prefix, hash] : folders) all.add(KeyInfo{prefix, FileType::Directory, 0, 0, hash.hex()});
  std::vector<const Entry*> above;
  for (const Entry& e : shallow) above.push_back(&e);
  std::sort(above.begin(), above.end(), [](const Entry* a, const Entry* b) { return path_less(a->key, b->key); });
  for (const Entry* e : above) all.add(KeyInfo{e->key, e->type, e->size, e->mtime_ns, {}});
  return all.finish();
}

}  // namespace

std::unique_ptr<Dir> list_store(Store& store, unsigned jobs, util::Progress& progress, bool with_blobs, Digest* fingerprint) {
  progress.phase("listing keys");
  Layout found = find_flat_folders(store, with_blobs);

  auto snapshot = std::make_shared<Snapshot>();
  snapshot->listings.resize(found.flat.size());
  util::parallel_for(found.flat.size(), std::max(1u, jobs), [&](unsigned, std::size_t i) {
    Listing& l = snapshot->listings[i];
    l.prefix = std::move(found.flat[i]);
    ListingHash hash;
    store.list(l.prefix, [&](const KeyInfo& k) {
      l.add(k);
      hash.add(k);
    });
    l.hash = hash.finish();
    l.finish();
    progress.advance(l.items.size());
  });
  std::sort(snapshot->listings.begin(), snapshot->listings.end(),
            [](const Listing& a, const Listing& b) { return path_less(a.prefix, b.prefix); });
  if (fingerprint) {
    std::vector<std::pair<std::string_view, Digest>> folders;
    for (const Listing& l : snapshot->listings) folders.emplace_back(l.prefix, l.hash);
    *fingerprint = fingerprint_of(std::move(folders), found.shallow);
  }
  snapshot->upper = std::move(found.shallow);
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

Digest fingerprint_store(Store& store, unsigned jobs, util::Progress& progress) {
  progress.phase("listing keys");
  Layout found = find_flat_folders(store, /*with_blobs=*/true);
  std::vector<std::pair<std::string_view, Digest>> folders(found.flat.size());
  util::parallel_for(found.flat.size(), std::max(1u, jobs), [&](unsigned, std::size_t i) {
    ListingHash hash;
    std::size_t keys = 0;
    store.list(found.flat[i], [&](const KeyInfo& k) {
      hash.add(k);
      ++keys;
    });
    folders[i] = {found.flat[i], hash.finish()};
    progress.advance(keys);
  });
  return fingerprint_of(std::move(folders), found.shallow);
}

}  // namespace regsweep::storage::detail
