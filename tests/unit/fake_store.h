#pragma once
// A registry storage tree built by hand in a FakeFileSystem, written the way the registry
// writes it (see /work/shared/registry-storage.md), so tests can damage it one file at a
// time and assert what regsweep makes of it.
//
//   FakeStore s;
//   Image app = s.add_image("team/app", "v1", {"layer one", "layer two"});
//   s.fs.remove(s.at(layout::blob_data(app.layers[0])));   // damage
//   Model m = s.walk();
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fake_filesystem.h"
#include "regsweep/storage/layout.h"
#include "regsweep/storage/manifest.h"
#include "regsweep/storage/model.h"
#include "regsweep/storage/store.h"
#include "regsweep/storage/walker.h"
#include "regsweep/util/sha256.h"

namespace regsweep::test {

namespace layout = storage::layout;
namespace media_type = storage::media_type;
using nlohmann::json;

// Time in unit tests: plan and apply take "now" as a value, so tests pass a fixed one.
inline constexpr std::int64_t kSecond = 1'000'000'000;
inline constexpr std::int64_t kHour = 3600 * kSecond;
inline constexpr std::int64_t kNow = 1795493112LL * kSecond;  // 2026-11-24T04:05:12Z

inline constexpr std::string_view kEmptyConfigType = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view kOciConfigType = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerType = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kDockerConfigType = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerType = "application/vnd.docker.image.rootfs.diff.tar.gzip";

// What one pushed image is made of.
struct Image {
  Digest manifest;
  Digest config;
  std::vector<Digest> layers;
};

struct Platform {
  std::string architecture;
  std::string variant;
};

// Walks the storage at `root` on `fs`, as the command line does (a folder store).
inline storage::Model walk_on(storage::FileSystem& fs, const std::string& root, const storage::WalkOptions& options = {}) {
  std::unique_ptr<storage::Store> store = storage::open_folder_store(fs, root);
  return storage::walk_storage(*store, options);
}

class FakeStore {
 public:
  FakeFileSystem fs;
  const std::string root = "/r";

  FakeStore() {
    fs.add_dir(at(layout::v2("blobs/sha256")));
    fs.add_dir(at(layout::v2("repositories")));
  }

  // The full path of a layout path (layout::blob_data(d), layout::revision_link(...), ...).
  std::string at(const std::string& rel) const { return root + "/" + rel; }

  // --- blobs ---------------------------------------------------------------------------

  // blobs/sha256/<2>/<hex>/data holding `content`; returns its real sha256.
  Digest add_blob(const std::string& content, std::int64_t mtime_ns = 0) {
    Digest d = util::sha256(content);
    add_blob_at(d, content, mtime_ns);
    return d;
  }
  // `content` stored under a digest it does not hash to (for damage).
  void add_blob_at(const Digest& d, const std::string& content, std::int64_t mtime_ns = 0) {
    fs.add_file(at(layout::blob_data(d)), content, mtime_ns);
  }
  // Size of a stored blob (0 when absent).
  std::uint64_t size_of(const Digest& d) const {
    auto it = fs.nodes().find(at(layout::blob_data(d)));
    return it == fs.nodes().end() ? 0 : it->second.content.size();
  }
  std::uint64_t size_of(const std::vector<Digest>& ds) const {
    std::uint64_t n = 0;
    for (const Digest& d : ds) n += size_of(d);
    return n;
  }

  // --- links ---------------------------------------------------------------------------

  void add_link(const std::string& rel, const Digest& d, std::int64_t mtime_ns = 0) {
    fs.add_file(at(rel), d.str(), mtime_ns);
  }
  void add_revision(const std::string& repo, const Digest& d) { add_link(layout::revision_link(repo, d), d); }
  void add_layer_link(const std::string& repo, const Digest& d) { add_link(layout::layer_link(repo, d), d); }
  // current/link and the index/ history entry, as a push of repo:tag does.
  void set_tag(const std::string& repo, const std::string& tag, const Digest& d, std::int64_t mtime_ns = 0) {
    add_link(layout::tag_current_link(repo, tag), d, mtime_ns);
    add_link(layout::tag_index_dir(repo, tag, d) + "/link", d);
  }

  // --- manifests -------------------------------------------------------------------------

  json descriptor(std::string_view type, const Digest& d) const {
    return json{{"mediaType", type}, {"digest", d.str()}, {"size", size_of(d)}};
  }

  // The blobs of an image (layers, config, manifest), linked nowhere. `name` makes the
  // config, and so the manifest, unique.
  Image put_image(const std::string& name, const std::vector<std::string>& layers,
                  std::string_view manifest_type = media_type::kOciManifest) {
    const bool docker = manifest_type == media_type::kDockerManifest;
    Image img;
    json diff_ids = json::array();
    for (const std::string& l : layers) {
      img.layers.push_back(add_blob(l));
      diff_ids.push_back(img.layers.back().str());
    }
    json config{{"architecture", "amd64"},
                {"os", "linux"},
                {"created", "2026-01-01T00:00:00Z"},
                {"config", {{"Labels", {{"image", name}}}}},
                {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    img.config = add_blob(config.dump());
    json layer_list = json::array();
    for (const Digest& l : img.layers) layer_list.push_back(descriptor(docker ? kDockerLayerType : kOciLayerType, l));
    json manifest{{"schemaVersion", 2},
                  {"mediaType", manifest_type},
                  {"config", descriptor(docker ? kDockerConfigType : kOciConfigType, img.config)},
                  {"layers", layer_list}};
    img.manifest = add_blob(manifest.dump());
    return img;
  }

  // What a push leaves in a repository: the revision and a _layers link per blob.
  void link_image(const std::string& repo, const Image& img) {
    add_revision(repo, img.manifest);
    add_layer_link(repo, img.config);
    for (const Digest& l : img.layers) add_layer_link(repo, l);
  }

  // Push of repo:tag: blobs, links, tag.
  Image add_image(const std::string& repo, const std::string& tag, const std::vector<std::string>& layers) {
    Image img = put_image(repo + ":" + tag, layers);
    link_image(repo, img);
    set_tag(repo, tag, img.manifest);
    return img;
  }

  // An index blob naming `children` (manifests), with a platform each (amd64, arm64/v8,
  // arm/v7, ... when not given).
  Digest put_index(const std::vector<Digest>& children, std::string_view index_type = media_type::kOciIndex,
                   std::vector<Platform> platforms = {}) {
    static const std::vector<Platform> kDefault = {{"amd64", ""}, {"arm64", "v8"}, {"arm", "v7"}, {"s390x", ""}};
    if (platforms.empty()) platforms = kDefault;
    const bool docker = index_type == media_type::kDockerList;
    json list = json::array();
    for (std::size_t i = 0; i < children.size(); ++i) {
      json d = descriptor(docker ? media_type::kDockerManifest : media_type::kOciManifest, children[i]);
      const Platform& p = platforms[i % platforms.size()];
      d["platform"] = {{"os", "linux"}, {"architecture", p.architecture}};
      if (!p.variant.empty()) d["platform"]["variant"] = p.variant;
      list.push_back(d);
    }
    return add_blob(json{{"schemaVersion", 2}, {"mediaType", index_type}, {"manifests", list}}.dump());
  }

  // Push of a multi-arch repo:tag: every child's links and revision, then the index.
  Digest add_index(const std::string& repo, const std::string& tag, const std::vector<Image>& children) {
    std::vector<Digest> digests;
    for (const Image& c : children) {
      link_image(repo, c);
      digests.push_back(c.manifest);
    }
    Digest index = put_index(digests);
    add_revision(repo, index);
    set_tag(repo, tag, index);
    return index;
  }

  // An OCI 1.1 referrer (signature, SBOM) of `subject`: an image manifest with artifactType,
  // the empty config, `blobs` as layers and a subject; pushed by digest (no tag).
  Image add_referrer(const std::string& repo, const Digest& subject, const std::string& artifact_type,
                     const std::vector<std::string>& blobs) {
    Image img;
    img.config = add_blob("{}");
    json layers = json::array();
    for (const std::string& b : blobs) {
      img.layers.push_back(add_blob(b));
      layers.push_back(descriptor("application/octet-stream", img.layers.back()));
    }
    json manifest{{"schemaVersion", 2},
                  {"mediaType", media_type::kOciManifest},
                  {"artifactType", artifact_type},
                  {"config", descriptor(kEmptyConfigType, img.config)},
                  {"layers", layers},
                  {"subject", descriptor(media_type::kOciManifest, subject)}};
    img.manifest = add_blob(manifest.dump());
    link_image(repo, img);
    return img;
  }

  // _uploads/<id>/ with data (and startedat when given), both with mtime `mtime_ns`.
  void add_upload(const std::string& repo, const std::string& id, std::optional<std::string> startedat,
                  const std::string& data, std::int64_t mtime_ns) {
    const std::string dir = at(layout::upload_dir(repo, id));
    fs.add_file(dir + "/data", data, mtime_ns);
    if (startedat) fs.add_file(dir + "/startedat", *startedat, mtime_ns);
    fs.add_dir(dir + "/hashstates/sha256");
  }

  // The tree as the product sees it: a folder store on the fake file system.
  storage::Store& store() {
    if (!store_) store_ = storage::open_folder_store(fs, root);
    return *store_;
  }
  storage::Model walk(unsigned jobs = 1) { return storage::walk_storage(store(), storage::WalkOptions{jobs}); }

  // --- looking at the tree (paths relative to the root) ----------------------------------

  bool has(const std::string& rel) const { return fs.exists(at(rel)); }
  // The content of a file ("" when absent).
  std::string content(const std::string& rel) const {
    auto it = fs.nodes().find(at(rel));
    return it == fs.nodes().end() ? std::string() : it->second.content;
  }
  // `rel` and every path below it that exists, sorted.
  std::vector<std::string> below(const std::string& rel) const {
    std::vector<std::string> out;
    const std::string full = at(rel);
    for (auto it = fs.nodes().lower_bound(full); it != fs.nodes().end(); ++it) {
      if (it->first != full && !it->first.starts_with(full + "/")) {
        if (it->first > full + "/") break;
        continue;  // a sibling such as "<rel>-x" sorts between <rel> and <rel>/
      }
      out.push_back(it->first.substr(root.size() + 1));
    }
    return out;
  }
  // Every node as path -> "type mtime content": compare two of these to assert nothing changed.
  std::map<std::string, std::string> snapshot() const {
    std::map<std::string, std::string> out;
    for (const auto& [path, node] : fs.nodes())
      out[path] = std::to_string(static_cast<int>(node.type)) + " " + std::to_string(node.mtime_ns) + " " + node.content;
    return out;
  }

 private:
  std::unique_ptr<storage::Store> store_;
};

// A FileSystem in front of another that counts every read_file by full path, and can make
// chosen reads fail with EIO (to produce Unreadable findings the fake cannot).
class InstrumentedFileSystem : public storage::FileSystem {
 public:
  explicit InstrumentedFileSystem(storage::FileSystem& inner) : inner_(inner) {}

  std::unique_ptr<storage::Dir> open_root(const std::string& path) override {
    auto d = inner_.open_root(path);
    if (!d) return nullptr;
    return std::make_unique<InstrumentedDir>(*this, std::move(d));
  }

  void fail_reads_of(const std::string& path) { failing_.insert(path); }
  int reads_of(const std::string& path) const {
    std::lock_guard lock(mutex_);
    auto it = reads_.find(path);
    return it == reads_.end() ? 0 : it->second;
  }
  std::map<std::string, int> reads() const {
    std::lock_guard lock(mutex_);
    return reads_;
  }

 private:
  class InstrumentedDir : public storage::Dir {
   public:
    InstrumentedDir(InstrumentedFileSystem& fs, std::unique_ptr<storage::Dir> inner)
        : Dir(inner->path()), fs_(fs), inner_(std::move(inner)) {}
    void list(storage::EntryVisitor visit) override { inner_->list(visit); }
    storage::FileStat stat(std::string_view rel) override { return inner_->stat(rel); }
    std::unique_ptr<storage::Dir> open_dir(std::string_view rel) override {
      auto d = inner_->open_dir(rel);
      if (!d) return nullptr;
      return std::make_unique<InstrumentedDir>(fs_, std::move(d));
    }
    storage::ReadResult read_file(std::string_view rel, std::size_t max_bytes, std::string& out) override {
      const std::string p = child_path(rel);
      {
        std::lock_guard lock(fs_.mutex_);
        ++fs_.reads_[p];
      }
      if (fs_.failing_.count(p)) {
        out.clear();
        storage::ReadResult r;
        r.status = storage::ReadStatus::IoError;
        r.stat = inner_->stat(rel);
        r.error = 5;  // EIO
        return r;
      }
      return inner_->read_file(rel, max_bytes, out);
    }
    storage::ReadResult read_chunks(std::string_view rel, char* buffer, std::size_t size,
                                    util::FunctionRef<void(std::string_view)> chunk) override {
      const std::string p = child_path(rel);
      {
        std::lock_guard lock(fs_.mutex_);
        ++fs_.reads_[p];
      }
      if (fs_.failing_.count(p)) {
        storage::ReadResult r;
        r.status = storage::ReadStatus::IoError;
        r.stat = inner_->stat(rel);
        r.error = 5;  // EIO
        return r;
      }
      return inner_->read_chunks(rel, buffer, size, chunk);
    }
    // Writes go straight through (the walk makes none).
    void make_dirs(std::string_view rel) override { inner_->make_dirs(rel); }
    void rename(std::string_view from, std::string_view to) override { inner_->rename(from, to); }
    void remove_tree(std::string_view rel) override { inner_->remove_tree(rel); }
    bool remove_empty_dir(std::string_view rel) override { return inner_->remove_empty_dir(rel); }
    void write_file(std::string_view rel, std::string_view content) override { inner_->write_file(rel, content); }
    void append(std::string_view rel, std::string_view content) override { inner_->append(rel, content); }
    std::uint64_t device_of(std::string_view rel) override { return inner_->device_of(rel); }
    std::unique_ptr<storage::FileLock> lock(std::string_view rel, bool wait) override { return inner_->lock(rel, wait); }

   private:
    InstrumentedFileSystem& fs_;
    std::unique_ptr<storage::Dir> inner_;
  };

  storage::FileSystem& inner_;
  mutable std::mutex mutex_;
  std::map<std::string, int> reads_;
  std::set<std::string> failing_;
};

// "kind path" of every finding: compare with EXPECT_EQ for a readable diff of what was
// reported (and of what was reported twice).
inline std::multiset<std::string> finding_lines(const storage::Model& m) {
  std::multiset<std::string> out;
  for (const storage::Finding& f : m.findings) out.insert(std::string(storage::to_string(f.kind)) + " " + f.path);
  return out;
}

inline std::string line(storage::FindingKind kind, const std::string& path) {
  return std::string(storage::to_string(kind)) + " " + path;
}

// Every blob of an image: manifest, config, layers.
inline std::vector<Digest> image_blobs(const Image& img) {
  std::vector<Digest> out{img.manifest, img.config};
  out.insert(out.end(), img.layers.begin(), img.layers.end());
  return out;
}

inline std::vector<Digest> operator+(std::vector<Digest> a, const std::vector<Digest>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Digests as "sha256:..." strings, sorted: sets compare with readable diffs.
inline std::set<std::string> strs(const std::vector<Digest>& ds) {
  std::set<std::string> out;
  for (const Digest& d : ds) out.insert(d.str());
  return out;
}

}  // namespace regsweep::test
