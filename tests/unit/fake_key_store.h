#pragma once
// A store of keys with nothing but keys (after restic's mem backend): no folders, no rename,
// no append, no lock; what a bucket offers. Folders exist only as the keys below them. It
// records every write, so a test asserts exactly what the executor did to it.
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "regsweep/error.h"
#include "regsweep/storage/store.h"
#include "regsweep/util/sha256.h"

namespace regsweep::test {

class FakeKeyStore : public storage::Store {
 public:
  struct Object {
    std::string content;
    std::int64_t mtime_ns = 0;
  };

  FakeKeyStore() { traits_.connections = 4; }

  std::map<std::string, Object>& objects() { return objects_; }
  const std::map<std::string, Object>& objects() const { return objects_; }
  const std::vector<std::string>& writes() const { return writes_; }

  storage::StoreTraits traits() const override { return traits_; }
  const std::string& location() const override { return location_; }
  std::string locate(std::string_view key) const override { return location_ + "/" + std::string(key); }

  void list(std::string_view prefix, storage::KeyVisitor visit) override {
    std::lock_guard<std::recursive_mutex> guard(mutex_);
    const std::string folder = std::string(prefix) + "/";
    listed_.emplace_back(prefix);
    for (auto it = objects_.lower_bound(folder); it != objects_.end() && it->first.starts_with(folder); ++it) {
      const std::string etag = util::md5_hex(it->second.content);  // as S3 says of a one-part object
      visit(storage::KeyInfo{it->first, storage::FileType::Regular, it->second.content.size(), it->second.mtime_ns, etag});
    }
  }
  void list_children(std::string_view prefix, storage::ChildVisitor visit) override {
    std::lock_guard<std::recursive_mutex> guard(mutex_);
    const std::string folder = prefix.empty() ? std::string() : std::string(prefix) + "/";
    std::string last;
    for (auto it = objects_.lower_bound(folder); it != objects_.end() && it->first.starts_with(folder); ++it) {
      std::string_view rest = std::string_view(it->first).substr(folder.size());
      const auto slash = rest.find('/');
      std::string name(rest.substr(0, slash));
      if (name == last) continue;
      last = name;
      visit(name, slash == std::string_view::npos ? storage::FileType::Regular : storage::FileType::Directory);
    }
  }
  storage::FileStat stat(std::string_view key) override {
    std::lock_guard<std::recursive_mutex> guard(mutex_);
    storage::FileStat st;
    if (auto it = objects_.find(std::string(key)); it != objects_.end()) {
      st.type = storage::FileType::Regular;
      st.size = it->second.content.size();
      st.mtime_ns = it->second.mtime_ns;
      return st;
    }
    const std::string folder = std::string(key) + "/";
    auto it = objects_.lower_bound(folder);
    if (it != objects_.end() && it->first.starts_with(folder)) st.type = storage::FileType::Directory;
    return st;
  }
  storage::ReadResult read(std::string_view key, std::size_t max_bytes, std::string& out) override {
    std::lock_guard<std::recursive_mutex> guard(mutex_);
    read_keys_.emplace_back(key);
    storage::ReadResult r;
    r.stat = stat(key);
    if (r.stat.type != storage::FileType::Regular) {
      r.status = r.stat.exists() ? storage::ReadStatus::NotRegular : storage::ReadStatus::Missing;
      return r;
    }
    const std::string& content = objects_.at(std::string(key)).content;
    if (content.size() > max_bytes) {
      r.status = storage::ReadStatus::TooLarge;
      return r;
    }
    out = content;
    r.status = storage::ReadStatus::Ok;
    return r;
  }
  storage::ReadResult read_chunks(std::string_view key, char*, std::size_t, util::FunctionRef<void(std::string_view)> chunk) override {
    std::string content;
    storage::ReadResult r = read(key, std::size_t(1) << 30, content);
    if (r.ok()) chunk(content);
    return r;
  }

  void put(std::string_view key, std::string_view content) override {
    std::lock_guard<std::recursive_mutex> guard(mutex_);
    write("put " + std::string(key));
    objects_[std::string(key)] = Object{std::string(content), 0};
  }
  void remove(const std::vector<std::string>& keys) override {
    std::lock_guard<std::recursive_mutex> guard(mutex_);
    std::vector<std::pair<std::string, std::string>> refused;
    for (const std::string& k : keys) {
      if (refuse_removal.count(k)) {
        refused.emplace_back(k, "InternalError (refused by the test)");
        continue;
      }
      write("remove " + k);
      objects_.erase(k);
    }
    if (!refused.empty())
      throw storage::PartialRemoval("the store refused " + std::to_string(refused.size()) + " keys", locate(refused.front().first), "",
                                    refused);
  }
  // Keys a batch removal refuses (and reports, as S3's DeleteObjects does key by key).
  std::set<std::string> refuse_removal;
  void remove_prefix(std::string_view prefix) override {
    std::lock_guard<std::recursive_mutex> guard(mutex_);
    write("remove-prefix " + std::string(prefix));
    const std::string folder = std::string(prefix) + "/";
    auto it = objects_.lower_bound(folder);
    while (it != objects_.end() && it->first.starts_with(folder)) it = objects_.erase(it);
  }
  PutNew put_new(std::string_view key, std::string_view content) override {
    std::lock_guard<std::recursive_mutex> guard(mutex_);
    if (!conditional_puts) return PutNew::Unsupported;
    if (objects_.count(std::string(key))) return PutNew::Exists;
    put(key, content);
    return PutNew::Created;
  }
  // Off: the store ignores If-None-Match, as some S3-compatible servers do.
  bool conditional_puts = true;

  void copy(std::string_view from, std::string_view to, const storage::KeyInfo* listed) override {
    std::lock_guard<std::recursive_mutex> guard(mutex_);
    write("copy " + std::string(from) + " -> " + std::string(to));
    auto it = objects_.find(std::string(from));
    if (it == objects_.end()) throw Error("cannot copy: no such key", locate(from));
    objects_[std::string(to)] = it->second;
    if (!listed) ++heads_;  // S3 looks at the source first
  }

  // Requests a bucket would have had: reads (GET), key visits of listings, looks before a copy (HEAD).
  const std::vector<std::string>& read_keys() const { return read_keys_; }
  const std::vector<std::string>& listed() const { return listed_; }  // the prefixes listed, in order
  std::size_t heads() const { return heads_; }

 private:
  void write(std::string what) { writes_.push_back(std::move(what)); }

  // The executor copies and reads from several threads at once, as it does on S3.
  std::recursive_mutex mutex_;
  storage::StoreTraits traits_;
  std::string location_ = "fake://bucket";
  std::map<std::string, Object> objects_;
  std::vector<std::string> writes_;
  std::vector<std::string> read_keys_;
  std::vector<std::string> listed_;
  std::size_t heads_ = 0;
};

}  // namespace regsweep::test
