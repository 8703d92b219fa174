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

// The keys of one flat folder (a blobs/sha256/<xx>/ prefix, a top-level folder of
// repositories/) relative to it, back to back in one string, and per key 24 bytes: a million
// keys take about a hundred bytes each instead of a string and an entry apiece.
struct Keys {
  struct Item {
    std::uint64_t offset : 40;  // into names
    std::uint64_t length : 16;  // an S3 key is at most 1,024 bytes
    std::uint64_t type : 7;     // FileType; Directory: a "folder/" marker object
    // A ".../<64 hex>/link" whose ETag proves it holds "sha256:<that hex>": read without a GET.
    std::uint64_t canonical_link : 1;
    std::uint64_t size;
    std::int64_t mtime_ns;
  };

  std::string names;        // each key's part after "prefix/" ("" for the folder's own marker)
  std::vector<Item> items;  // sorted by path_less of their names

  std::string_view name(const Item& i) const { return std::string_view(names).substr(i.offset, i.length); }

  void add(std::string_view prefix, const KeyInfo& k) {
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

// One flat folder. Its keys are listed when the walk first looks inside it, kept while a Dir
// at or below it is open, and then dropped: the walk takes a folder at a time, so on a bucket
// only the folders being walked are in memory, never the whole listing beside the model.
struct Listing {
  std::string prefix;  // the folder's key, without a trailing '/'
  std::mutex mutex;
  std::weak_ptr<const Keys> keys;
  std::optional<Digest> hash;  // of the keys as first listed (ListingHash)
  bool changed = false;        // listed again, and not the same
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
  for (const Entry& e : shallow)
    if (!e.listed) above.push_back(&e);
  std::sort(above.begin(), above.end(), [](const Entry* a, const Entry* b) { return path_less(a->key, b->key); });
  for (const Entry* e : above) all.add(KeyInfo{e->key, e->type, e->size, e->mtime_ns, {}});
  return all.finish();
}

struct Snapshot {
  Store& store;
  unsigned jobs = 1;
  std::vector<Entry> upper;                        // sorted by path_less (and a listed folder after a key of its name)
  std::vector<std::unique_ptr<Listing>> listings;  // sorted by path_less of their prefixes; none inside another

  // The listing whose folder holds `key` (with the key relative to it), or none: the key is
  // at or above the listed folders.
  std::pair<Listing*, std::string_view> inside(std::string_view key) const {
    auto it = std::upper_bound(listings.begin(), listings.end(), key,
                               [](std::string_view k, const std::unique_ptr<Listing>& l) { return path_less(k, l->prefix); });
    if (it == listings.begin()) return {nullptr, {}};
    Listing& l = **--it;
    if (key.size() > l.prefix.size() && key[l.prefix.size()] == '/' && key.starts_with(l.prefix))
      return {&l, key.substr(l.prefix.size() + 1)};
    return {nullptr, {}};
  }
  // The listing of exactly the folder `key`, or none.
  Listing* at(std::string_view key) const {
    auto it = std::lower_bound(listings.begin(), listings.end(), key,
                               [](const std::unique_ptr<Listing>& l, std::string_view k) { return path_less(l->prefix, k); });
    return it != listings.end() && (*it)->prefix == key ? it->get() : nullptr;
  }

  // The keys of `l`: those in memory, else listed now.
  std::shared_ptr<const Keys> acquire(Listing& l) const {
    std::lock_guard lock(l.mutex);
    if (auto keys = l.keys.lock()) return keys;
    auto keys = std::make_shared<Keys>();
    ListingHash hash;
    store.list(l.prefix, [&](const KeyInfo& k) {
      keys->add(l.prefix, k);
      hash.add(k);
    });
    keys->finish();
    const Digest h = hash.finish();
    if (!l.hash) l.hash = h;
    else if (*l.hash != h) l.changed = true;
    l.keys = keys;
    return keys;
  }
  // The keys of `l` if they are in memory (nothing is listed).
  std::shared_ptr<const Keys> in_memory(Listing& l) const {
    std::lock_guard lock(l.mutex);
    return l.keys.lock();
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

  // `keys_of` gives the keys of a listing for one call (a Dir's own, or listed for the call).
  template <typename KeysOf>
  FileStat stat(std::string_view key, KeysOf&& keys_of) const {
    FileStat st;
    if (auto [l, rel] = inside(key); l) {
      std::shared_ptr<const Keys> keys = keys_of(*l);
      if (const Keys::Item* i = keys->exact(rel)) {
        st.type = static_cast<FileType>(i->type);
        st.size = i->size;
        st.mtime_ns = i->mtime_ns;
        if (st.type == FileType::Regular) return st;
      }
      auto [lo, hi] = keys->below(rel);
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

  template <typename KeysOf>
  void list(std::string_view folder, KeysOf&& keys_of, EntryVisitor visit) const {
    auto [l, rel] = inside(folder);
    if (!l) l = at(folder);  // a listed folder itself: its keys are all in its listing
    if (l) {
      std::shared_ptr<const Keys> keys = keys_of(*l);
      auto [lo, hi] = keys->below(rel);
      list_children_of(lo, hi, rel.empty() ? 0 : rel.size() + 1, [&](std::size_t i) { return keys->name(keys->items[i]); },
                       [&](std::size_t i) { return static_cast<FileType>(keys->items[i].type); }, visit);
      return;
    }
    auto [lo, hi] = upper_below(folder);
    list_children_of(lo, hi, folder.empty() ? 0 : folder.size() + 1, [&](std::size_t i) { return std::string_view(upper[i].key); },
                     [&](std::size_t i) { return upper[i].type; }, visit);
  }
};

class ListedDir final : public ReadOnlyDirBase {
 public:
  ListedDir(std::shared_ptr<const Snapshot> snapshot, std::string key)
      : ReadOnlyDirBase(snapshot->store.locate(key), "internal error: a listing of the store was written to"),
        snapshot_(std::move(snapshot)),
        key_(std::move(key)) {
    // A Dir at or below a listed folder holds its keys for as long as it lives.
    auto [l, rel] = snapshot_->inside(key_);
    if (!l) l = snapshot_->at(key_);
    if (l) {
      lease_of_ = l;
      lease_ = snapshot_->acquire(*l);
    }
  }

  void list(EntryVisitor visit) override { snapshot_->list(key_, keys_of(), visit); }

  FileStat stat(std::string_view rel) override { return snapshot_->stat(full(rel), keys_of()); }

  std::unique_ptr<Dir> open_dir(std::string_view rel) override {
    std::string key = full(rel);
    if (snapshot_->stat(key, keys_of()).type != FileType::Directory) return nullptr;
    return std::make_unique<ListedDir>(snapshot_, std::move(key));
  }

  ReadResult read_file(std::string_view rel, std::size_t max_bytes, std::string& out) override {
    std::string key = full(rel);
    if (auto [l, inner] = snapshot_->inside(key); l && max_bytes >= kLinkFileSize) {
      // Never listed for this alone: a manifest read from the root finds the blob's folder
      // unlisted, and a link is read below a Dir that holds its folder's keys.
      std::shared_ptr<const Keys> keys = l == lease_of_ ? lease_ : snapshot_->in_memory(*l);
      if (const Keys::Item* i = keys ? keys->exact(inner) : nullptr; i && i->canonical_link) {
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
    }
    return snapshot_->store.read(key, max_bytes, out);
  }
  ReadResult read_chunks(std::string_view rel, char* buffer, std::size_t size,
                         util::FunctionRef<void(std::string_view)> chunk) override {
    return snapshot_->store.read_chunks(full(rel), buffer, size, chunk);
  }

  std::uint64_t device_of(std::string_view) override { return 0; }

  // The fingerprint of every listed folder as first listed, with the keys above them; none
  // when a folder listed twice had changed. Folders the walk never looked into are listed now.
  std::optional<Digest> fingerprint() const {
    std::vector<Listing*> unlisted;
    for (const auto& l : snapshot_->listings)
      if (!l->hash) unlisted.push_back(l.get());
    util::parallel_for(unlisted.size(), snapshot_->jobs, [&](unsigned, std::size_t i) { snapshot_->acquire(*unlisted[i]); });
    std::vector<std::pair<std::string_view, Digest>> folders;
    for (const auto& l : snapshot_->listings) {
      if (l->changed) return std::nullopt;
      folders.emplace_back(l->prefix, *l->hash);
    }
    return fingerprint_of(std::move(folders), snapshot_->upper);
  }

 private:
  std::string full(std::string_view rel) const {
    std::string k = key_;
    if (!k.empty() && !rel.empty()) k += '/';
    k += rel;
    return k;
  }
  // The keys of a listing for one call: this Dir's own when it is that listing's.
  struct KeysOf {
    const ListedDir& dir;
    std::shared_ptr<const Keys> operator()(Listing& l) const { return &l == dir.lease_of_ ? dir.lease_ : dir.snapshot_->acquire(l); }
  };
  KeysOf keys_of() const { return KeysOf{*this}; }

  std::shared_ptr<const Snapshot> snapshot_;
  std::string key_;
  Listing* lease_of_ = nullptr;
  std::shared_ptr<const Keys> lease_;
};

}  // namespace

std::unique_ptr<Dir> list_store(Store& store, unsigned jobs, util::Progress& progress, bool with_blobs) {
  progress.phase("listing keys");
  Layout found = find_flat_folders(store, with_blobs);
  auto snapshot = std::make_shared<Snapshot>(store);
  snapshot->jobs = std::max(1u, jobs);
  snapshot->upper = std::move(found.shallow);
  for (std::string& prefix : found.flat) {
    // Each was a common prefix of a listing: it holds keys. Listed when walked into.
    snapshot->upper.push_back(Entry{prefix, 0, 0, FileType::Directory, true});
    snapshot->listings.push_back(std::make_unique<Listing>());
    snapshot->listings.back()->prefix = std::move(prefix);
  }
  std::sort(snapshot->listings.begin(), snapshot->listings.end(),
            [](const auto& a, const auto& b) { return path_less(a->prefix, b->prefix); });
  std::sort(snapshot->upper.begin(), snapshot->upper.end(), [](const Entry& a, const Entry& b) {
    return path_less(a.key, b.key) || (a.key == b.key && !a.listed && b.listed);
  });
  return std::make_unique<ListedDir>(std::move(snapshot), std::string());
}

std::optional<Digest> listing_fingerprint(Dir& root) {
  auto* listed = dynamic_cast<ListedDir*>(&root);
  return listed ? listed->fingerprint() : std::nullopt;
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
