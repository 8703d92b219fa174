// The fixture layer: the model on storage trees the real registry (distribution 2.8.2) wrote,
// checked against what that registry said about them (fixtures/*.expected.json,
// fixtures/damaged.json). Every expected value comes from those files, never from our output.
#include <gtest/gtest.h>

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "regsweep/plan/reachability.h"
#include "regsweep/plan/report.h"
#include "regsweep/storage/finding.h"
#include "regsweep/storage/model.h"
#include "regsweep/storage/real_filesystem.h"
#include "regsweep/storage/store.h"
#include "regsweep/storage/walker.h"
#include "fake_key_store.h"
#include "model_dump.h"

#ifndef REGSWEEP_FIXTURES
#error "REGSWEEP_FIXTURES (the fixtures/ folder) must be defined"
#endif

extern char** environ;

namespace regsweep::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using storage::Finding;
using storage::Model;
using storage::Severity;

const fs::path kFixtures = REGSWEEP_FIXTURES;

json load_json(const std::string& file) {
  std::ifstream in(kFixtures / file);
  if (!in) throw std::runtime_error("cannot open " + (kFixtures / file).string());
  return json::parse(in);
}

const json& damaged_json() {
  static const json doc = load_json("damaged.json");
  return doc;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> strings(const json& array) {
  std::vector<std::string> out;
  if (array.is_array())
    for (const auto& x : array) out.push_back(x.get<std::string>());
  return out;
}

// Runs `tar -xzf <tarball> -C <dir>` without a shell.
int run_tar(const fs::path& tarball, const fs::path& dir) {
  std::string a0 = "tar", a1 = "-xzf", a2 = tarball.string(), a3 = "-C", a4 = dir.string();
  char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), nullptr};
  pid_t pid = 0;
  if (int rc = posix_spawnp(&pid, "tar", nullptr, nullptr, argv, environ); rc != 0) return -rc;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -errno;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// One file or folder of a tree: everything that must not change when we read it.
struct Entry {
  char type = '?';
  unsigned mode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::string content;
  bool operator==(const Entry&) const = default;
};
using Snapshot = std::map<std::string, Entry>;

Snapshot snapshot(const fs::path& root) {
  Snapshot out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path& p = it->path();
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) throw std::runtime_error("lstat " + p.string() + ": " + std::strerror(errno));
    Entry e;
    e.mode = st.st_mode & 07777;
    e.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (S_ISDIR(st.st_mode)) {
      e.type = 'd';
    } else if (S_ISREG(st.st_mode)) {
      e.type = 'f';
      e.size = static_cast<std::uint64_t>(st.st_size);
      std::ifstream in(p, std::ios::binary);
      std::ostringstream buf;
      buf << in.rdbuf();
      e.content = buf.str();
    } else if (S_ISLNK(st.st_mode)) {
      e.type = 'l';
      e.content = fs::read_symlink(p).string();
    }
    out[fs::relative(p, root).generic_string()] = std::move(e);
  }
  return out;
}

// Everything in a model, as text; two walks of one tree must give the same text.

// Where the trees go: $TMPDIR when set, else /dev/shm when usable (extracting and removing
// ~30 small trees on a slow disk takes tens of seconds), else the system temp folder.
fs::path temp_base() {
  if (const char* t = std::getenv("TMPDIR"); t && *t) return t;
  std::error_code ec;
  if (fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm";
  return fs::temp_directory_path();
}

// A registry rootdirectory extracted from fixtures/<name>.tar.gz into a fresh temp folder.
class FixtureTree : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  // Extracts the tarball; returns the root (holds docker/registry/v2).
  std::string extract(const std::string& tarball) {
    const fs::path src = kFixtures / tarball;
    if (!fs::exists(src)) throw std::runtime_error("no fixture " + src.string());
    std::string tmpl = (temp_base() / "regsweep-fixture-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
    dir_ = tmpl;
    if (int rc = run_tar(src, dir_); rc != 0)
      throw std::runtime_error("tar -xzf " + src.string() + " failed: " + std::to_string(rc));
    if (!fs::is_directory(dir_ / "docker/registry/v2")) throw std::runtime_error(tarball + " holds no docker/registry/v2");
    return dir_.string();
  }

  Model walk(const std::string& root, unsigned jobs) {
    storage::RealFileSystem real;
    return storage::walk_storage(*storage::open_folder_store(real, root), storage::WalkOptions{jobs});
  }

  // A finding's path relative to the root (its path unchanged when it is not under it).
  std::string rel(const std::string& root, const std::string& path) const {
    const std::string prefix = root + "/";
    if (path.compare(0, prefix.size(), prefix) == 0) return path.substr(prefix.size());
    if (path == root) return "";
    return path;
  }

  fs::path dir_;
};

// ---------------------------------------------------------------------------------------------
// sample, garbage, clean: trees the registry wrote, no damage.

class CleanFixture : public FixtureTree, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    expected_ = load_json(GetParam() + ".expected.json");
    root_ = extract(GetParam() + ".tar.gz");
    model_ = walk(root_, 1);
  }

  const json& api() const { return expected_.at("api"); }

  json expected_;
  std::string root_;
  Model model_;
};

TEST_P(CleanFixture, RepositoriesAreTheCatalog) {
  std::vector<std::string> got;
  for (const auto& r : model_.repositories) got.push_back(r.name);
  EXPECT_EQ(sorted(got), sorted(strings(api().at("catalog"))));
}

TEST_P(CleanFixture, TagsAndTheirDigestsAreWhatTheApiSaid) {
  for (const auto& [repo, info] : api().at("repositories").items()) {
    SCOPED_TRACE("repository " + repo);
    const storage::Repository* r = model_.find_repository(repo);
    ASSERT_NE(r, nullptr);
    std::map<std::string, std::string> want, got;
    for (const auto& [tag, t] : info.at("tags").items()) want[tag] = t.at("digest").get<std::string>();
    for (const auto& t : r->tags) got[t.name] = t.current ? t.current->str() : "(no current)";
    EXPECT_EQ(got, want);
  }
}

TEST_P(CleanFixture, TaggedManifestsHaveTheApiMediaTypeAndSize) {
  for (const auto& [repo, info] : api().at("repositories").items()) {
    for (const auto& [tag, t] : info.at("tags").items()) {
      SCOPED_TRACE(repo + ":" + tag);
      auto d = Digest::parse(t.at("digest").get<std::string>());
      ASSERT_TRUE(d);
      const storage::ManifestRecord* m = model_.find_manifest(*d);
      ASSERT_NE(m, nullptr) << "no manifest record for " << d->str();
      EXPECT_TRUE(m->readable);
      EXPECT_EQ(m->parsed.media_type, t.at("media_type").get<std::string>());
      EXPECT_EQ(m->size, t.at("size").get<std::uint64_t>());
    }
  }
}

TEST_P(CleanFixture, IndexPlatformsAreTheApiPlatforms) {
  int indexes = 0;
  for (const auto& [repo, info] : api().at("repositories").items()) {
    for (const auto& [tag, t] : info.at("tags").items()) {
      SCOPED_TRACE(repo + ":" + tag);
      auto d = Digest::parse(t.at("digest").get<std::string>());
      ASSERT_TRUE(d);
      const storage::ManifestRecord* m = model_.find_manifest(*d);
      ASSERT_NE(m, nullptr);
      if (!t.contains("platforms")) {
        EXPECT_FALSE(storage::is_index(m->parsed.kind)) << storage::to_string(m->parsed.kind);
        continue;
      }
      ++indexes;
      EXPECT_TRUE(storage::is_index(m->parsed.kind)) << storage::to_string(m->parsed.kind);
      std::vector<std::string> got;
      for (const auto& c : m->parsed.children) got.push_back(c.platform);
      EXPECT_EQ(sorted(got), sorted(strings(t.at("platforms"))));
      // Every child of a tagged index is stored, and so is a manifest record for it.
      for (const auto& c : m->parsed.children) {
        EXPECT_TRUE(model_.blob_present(c.digest)) << c.digest.str();
        EXPECT_NE(model_.find_manifest(c.digest), nullptr) << c.digest.str();
      }
    }
  }
  if (GetParam() != "clean") {
    EXPECT_GT(indexes, 0) << "the fixture should have a multi-arch tag";
  }
}

TEST_P(CleanFixture, NoWarningsOrErrors) {
  for (const Finding& f : model_.findings)
    EXPECT_EQ(f.severity, Severity::Info) << storage::to_string(f.kind) << ' ' << rel(root_, f.path) << ": " << f.message;
}

TEST_P(CleanFixture, UnreferencedIsWhatGarbageCollectDryRunListed) {
  const json& dry = expected_.at("gc").at("dry_run");
  ASSERT_EQ(dry.at("returncode").get<int>(), 0);
  plan::StorageReport report = plan::build_report(model_, plan::ReportOptions{});
  std::vector<std::string> got;
  for (const auto& d : report.unreferenced_digests) got.push_back(d.str());
  EXPECT_EQ(sorted(got), sorted(strings(dry.at("eligible"))));
  EXPECT_EQ(report.unreferenced.count, dry.at("count").get<std::uint64_t>());
  EXPECT_EQ(report.unreferenced.bytes, dry.at("bytes").get<std::uint64_t>());
}

TEST_P(CleanFixture, BlobsAndUploadsAreWhatIsOnDisk) {
  const json& disk = expected_.at("disk");
  std::uint64_t count = 0, bytes = 0;
  for (const auto& b : model_.blobs) {
    EXPECT_TRUE(b.has_data) << b.digest.str();
    if (b.has_data) {
      ++count;
      bytes += b.size;
    }
  }
  EXPECT_EQ(count, disk.at("blobs").at("count").get<std::uint64_t>());
  EXPECT_EQ(bytes, disk.at("blobs").at("bytes").get<std::uint64_t>());

  std::vector<std::string> uploads;
  for (const auto& r : model_.repositories)
    for (const auto& u : r.uploads) uploads.push_back("docker/registry/v2/repositories/" + r.name + "/_uploads/" + u.id);
  EXPECT_EQ(sorted(uploads), sorted(strings(disk.at("uploads"))));
}

TEST_P(CleanFixture, OneAndFourJobsGiveTheSameModel) {
  Model four = walk(root_, 4);
  EXPECT_EQ(dump_model(four, /*with_findings=*/true), dump_model(model_, /*with_findings=*/true));
}

// On a store of keys (a bucket), the walk lists every key first and probes the listing: it
// gives the model the walk of the folder gives, findings included, at the same keys.
TEST_P(CleanFixture, AListingOfTheKeysGivesTheModelOfTheFolder) {
  FakeKeyStore bucket;
  for (const auto& e : fs::recursive_directory_iterator(root_)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    bucket.objects()[fs::relative(e.path(), root_).string()] =
        FakeKeyStore::Object{content.str(), st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec};
  }
  ASSERT_GT(bucket.objects().size(), 10u);
  const Model listed = storage::walk_storage(bucket, storage::WalkOptions{4});
  // A bucket has no empty folders (an empty _uploads/ is nothing there): the folder without them.
  for (bool removed = true; removed;) {
    std::vector<fs::path> empty;
    for (const auto& e : fs::recursive_directory_iterator(root_))
      if (e.is_directory() && fs::is_empty(e.path())) empty.push_back(e.path());
    for (const fs::path& p : empty) fs::remove(p);
    removed = !empty.empty();
  }
  auto without_root = [](std::string dump) { return dump.substr(dump.find('\n') + 1); };
  std::string folder = without_root(dump_model(walk(root_, 1), /*with_findings=*/true));
  std::string keys = without_root(dump_model(listed, /*with_findings=*/true));
  const std::string root_path = fs::path(root_).lexically_normal().string();
  for (std::size_t at; (at = folder.find(root_path)) != std::string::npos;) folder.replace(at, root_path.size(), bucket.location());
  EXPECT_EQ(keys, folder);
  EXPECT_EQ(bucket.writes().size(), 0u) << "a walk writes nothing";
  // Revision and layer links whose ETag proves their content are not read (no GET each).
  for (const std::string& key : bucket.read_keys()) {
    const bool link_of_digest = key.find("/_manifests/revisions/") != std::string::npos || key.find("/_layers/") != std::string::npos;
    if (link_of_digest) {
      EXPECT_NE(bucket.objects().at(key).content, "sha256:" + key.substr(key.size() - 69, 64)) << key << " was read";
    }
  }
  EXPECT_FALSE(bucket.read_keys().empty()) << "tag links and manifests are read";
  // Each folder's keys are listed when the walk enters it and dropped after: never twice,
  // which would be a request more per folder (and a folder walked from a stale listing).
  std::map<std::string, int> times_listed;
  for (const std::string& prefix : bucket.listed()) ++times_listed[prefix];
  for (const auto& [prefix, times] : times_listed) EXPECT_EQ(times, 1) << prefix << " listed " << times << " times";
  EXPECT_TRUE(times_listed.count("docker/registry/v2/blobs/sha256/" + model_.blobs.front().digest.hex().substr(0, 2)));
  EXPECT_TRUE(listed.listing_fingerprint.has_value());

  // Listed again as it was, the bucket is known unchanged without a read; a tag moved to
  // another digest (same size, same time: only the ETag tells) or a new key is a change.
  const std::size_t reads = bucket.read_keys().size();
  EXPECT_TRUE(storage::unchanged_since(bucket, listed, storage::WalkOptions{4}));
  EXPECT_EQ(bucket.read_keys().size(), reads);
  auto tag = std::find_if(bucket.objects().begin(), bucket.objects().end(),
                          [](const auto& o) { return o.first.ends_with("/current/link"); });
  ASSERT_NE(tag, bucket.objects().end());
  const std::string was = tag->second.content;
  tag->second.content = "sha256:" + std::string(64, 'e');
  ASSERT_EQ(tag->second.content.size(), was.size());
  EXPECT_FALSE(storage::unchanged_since(bucket, listed, storage::WalkOptions{4}));
  tag->second.content = was;
  EXPECT_TRUE(storage::unchanged_since(bucket, listed, storage::WalkOptions{4}));
  bucket.objects()[tag->first.substr(0, tag->first.find("/_manifests/")) + "/_layers/sha256/" + std::string(64, 'f') + "/link"] = {"x", 1};
  EXPECT_FALSE(storage::unchanged_since(bucket, listed, storage::WalkOptions{4}));
  EXPECT_FALSE(storage::unchanged_since(bucket, model_, storage::WalkOptions{4})) << "a walk of a folder has no listing";
}

INSTANTIATE_TEST_SUITE_P(Registry, CleanFixture, ::testing::Values("sample", "garbage", "clean"),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------------------------------------
// damaged-*: `clean` with one kind of damage each (fixtures/damaged.json).

std::vector<std::string> damaged_names() {
  std::vector<std::string> out;
  try {
    for (const auto& f : damaged_json().at("fixtures")) out.push_back(f.at("name").get<std::string>());
  } catch (const std::exception&) {
    // DamagedJson.ListsEveryDamagedTarball reports it.
  }
  return out;
}

const json& damaged_entry(const std::string& name) {
  for (const auto& f : damaged_json().at("fixtures"))
    if (f.at("name") == name) return f;
  throw std::runtime_error("no entry " + name + " in damaged.json");
}

TEST(DamagedJson, ListsEveryDamagedTarball) {
  std::set<std::string> on_disk, listed;
  for (const auto& e : fs::directory_iterator(kFixtures)) {
    std::string n = e.path().filename().string();
    if (n.rfind("damaged-", 0) == 0 && n.size() > 7 && n.ends_with(".tar.gz")) on_disk.insert(n);
  }
  for (const auto& f : damaged_json().at("fixtures")) listed.insert(f.at("tarball").get<std::string>());
  EXPECT_FALSE(on_disk.empty());
  EXPECT_EQ(listed, on_disk);
}

class DamagedFixture : public FixtureTree, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    entry_ = damaged_entry(GetParam());
    root_ = extract(entry_.at("tarball").get<std::string>());
    before_ = snapshot(root_);
    ASSERT_NO_THROW(model_ = walk(root_, 1));
  }

  std::set<std::string> kinds() const {
    std::set<std::string> k{entry_.at("kind").get<std::string>()};
    for (const auto& a : strings(entry_.at("also_acceptable"))) k.insert(a);
    return k;
  }

  std::string describe(const Model& m) const {
    std::ostringstream o;
    for (const Finding& f : m.findings)
      o << "\n  " << storage::to_string(f.kind) << ' ' << storage::to_string(f.severity) << ' ' << rel(root_, f.path)
        << ": " << f.message;
    return o.str();
  }

  json entry_;
  std::string root_;
  Snapshot before_;
  Model model_;
};

TEST_P(DamagedFixture, FindingOfTheExpectedKindAtADamagedPath) {
  SCOPED_TRACE(entry_.at("description").get<std::string>());
  SCOPED_TRACE("findings:" + describe(model_));
  const std::string kind = entry_.at("kind").get<std::string>();
  const std::set<std::string> ok_kinds = kinds();
  std::set<std::string> places;
  for (const auto& p : strings(entry_.at("paths"))) places.insert(p);
  for (const auto& p : strings(entry_.at("related_paths"))) places.insert(p);

  std::vector<const Finding*> of_kind;
  for (const Finding& f : model_.findings)
    if (ok_kinds.count(std::string(storage::to_string(f.kind)))) of_kind.push_back(&f);
  ASSERT_FALSE(of_kind.empty()) << "no finding of kind " << kind;
  bool primary = false;
  for (const Finding* f : of_kind) primary = primary || storage::to_string(f->kind) == kind;
  if (entry_.at("also_acceptable").empty()) {
    EXPECT_TRUE(primary);
  }

  bool at_damaged_path = false;
  for (const Finding* f : of_kind) at_damaged_path = at_damaged_path || places.count(rel(root_, f->path)) > 0;
  if (!at_damaged_path) {
    // Not at one of the listed paths: still sensible when it is inside one of them (the file
    // the walker looked for in a removed folder, say). Say where.
    std::string below;
    for (const Finding* f : of_kind)
      for (const auto& p : places)
        if (below.empty() && rel(root_, f->path).rfind(p + "/", 0) == 0) below = rel(root_, f->path) + " (inside " + p + ")";
    SCOPED_TRACE("reported at " + (below.empty() ? std::string("no damaged or related path") : below));
    RecordProperty("reported_at", below);
    EXPECT_FALSE(below.empty()) << "no finding of an expected kind at, or inside, one of the damaged or related paths";
  }

  // Several damaged paths of one kind (the two stray files): one finding each.
  if (kind == "unexpected-file") {
    for (const auto& p : strings(entry_.at("paths"))) {
      bool found = false;
      for (const Finding* f : of_kind) found = found || (storage::to_string(f->kind) == kind && rel(root_, f->path) == p);
      EXPECT_TRUE(found) << "no unexpected-file finding at " << p;
    }
  }
}

TEST_P(DamagedFixture, FindingsOfThatKindOnly) {
  // fixtures/README.md: "A tree damaged in one way must give findings of that kind only (plus
  // also_acceptable)."
  const std::set<std::string> ok_kinds = kinds();
  for (const Finding& f : model_.findings)
    EXPECT_TRUE(ok_kinds.count(std::string(storage::to_string(f.kind))))
        << "unexpected finding " << storage::to_string(f.kind) << ' ' << rel(root_, f.path) << ": " << f.message;
}

TEST_P(DamagedFixture, TagsTheRegistryResolvesResolveToTheSameDigest) {
  for (const auto& [ref, value] : entry_.at("registry").at("resolve").items()) {
    const std::string v = value.get<std::string>();
    if (v.rfind("sha256:", 0) != 0) continue;  // "HTTP 404": the model may still hold a (dangling) digest
    SCOPED_TRACE(ref);
    const auto colon = ref.rfind(':');
    ASSERT_NE(colon, std::string::npos);
    const storage::Repository* r = model_.find_repository(ref.substr(0, colon));
    ASSERT_NE(r, nullptr);
    const storage::TagLink* t = r->find_tag(ref.substr(colon + 1));
    ASSERT_NE(t, nullptr);
    ASSERT_TRUE(t->current);
    EXPECT_EQ(t->current->str(), v);
  }
  std::vector<std::string> got;
  for (const auto& r : model_.repositories) got.push_back(r.name);
  EXPECT_EQ(sorted(got), sorted(strings(entry_.at("registry").at("catalog"))));
}

TEST_P(DamagedFixture, UnreferencedIsWhatGarbageCollectDryRunListed) {
  const json& gc = entry_.at("registry").at("gc_dry_run");
  if (gc.at("returncode").get<int>() != 0) {
    // garbage-collect refused this tree: whatever made it fail must be an error for us too.
    bool error = false;
    for (const Finding& f : model_.findings) error = error || f.severity == Severity::Error;
    EXPECT_TRUE(error) << "garbage-collect exited " << gc.at("returncode") << " but the model has no error finding";
    return;
  }
  plan::StorageReport report = plan::build_report(model_, plan::ReportOptions{});
  std::vector<std::string> got;
  for (const auto& d : report.unreferenced_digests) got.push_back(d.str());
  EXPECT_EQ(sorted(got), sorted(strings(gc.at("eligible"))));
}

TEST_P(DamagedFixture, WalkingNeverChangesTheTree) {
  ASSERT_NO_THROW(walk(root_, 4));
  const Snapshot after = snapshot(root_);
  EXPECT_EQ(after.size(), before_.size());
  for (const auto& [path, e] : before_) {
    auto it = after.find(path);
    if (it == after.end()) {
      ADD_FAILURE() << "removed: " << path;
      continue;
    }
    EXPECT_TRUE(it->second == e) << "changed: " << path;
  }
  for (const auto& [path, e] : after)
    if (!before_.count(path)) ADD_FAILURE() << "added: " << path;
}

TEST_P(DamagedFixture, OneAndFourJobsGiveTheSameModel) {
  Model four;
  ASSERT_NO_THROW(four = walk(root_, 4));
  EXPECT_EQ(dump_model(four, /*with_findings=*/true), dump_model(model_, /*with_findings=*/true));
}

INSTANTIATE_TEST_SUITE_P(Registry, DamagedFixture, ::testing::ValuesIn(damaged_names()), [](const auto& info) {
  std::string n = info.param;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
});

}  // namespace
}  // namespace regsweep::test
