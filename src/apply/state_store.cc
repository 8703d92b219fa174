#include "regsweep/apply/state_store.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/util/clock.h"
#include "regsweep/util/format.h"

namespace regsweep::apply {

using nlohmann::json;

namespace {

void each_json_line(std::string_view content, const std::function<void(const json&)>& line) {
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t nl = content.find('\n', start);
    if (nl == std::string_view::npos) nl = content.size();
    json j = json::parse(content.begin() + static_cast<long>(start), content.begin() + static_cast<long>(nl), nullptr, false);
    if (j.is_object()) line(j);
    start = nl + 1;
  }
}

// --- A local folder: flock and append ---

class FileLockHeld : public StateLock {
 public:
  explicit FileLockHeld(std::unique_ptr<storage::FileLock> lock) : lock_(std::move(lock)) {}

 private:
  std::unique_ptr<storage::FileLock> lock_;
};

class FolderStateStore : public StateStore {
 public:
  FolderStateStore(storage::Store& store, storage::Dir& dir) : StateStore(store), dir_(dir) {}

  std::unique_ptr<StateLock> lock(std::string_view holder, std::string& other) override {
    store_.make_folder(state::kDir);
    std::unique_ptr<storage::FileLock> lock = dir_.lock(state::kLock, /*wait=*/false);
    if (!lock) {
      dir_.read_file(state::kLock, 4096, other);
      return nullptr;
    }
    lock->describe_holder(holder);
    return std::make_unique<FileLockHeld>(std::move(lock));
  }
  void append(std::string_view log, std::string_view line) override {
    std::string record(line);
    record += '\n';
    dir_.append(log, record);
  }
  void append_lines(std::string_view log, const std::vector<std::string>& lines) override {
    std::string record;
    for (const std::string& l : lines) (record += l) += '\n';
    if (!record.empty()) dir_.append(log, record);
  }
  void for_each_line(std::string_view log, const std::function<void(const json&)>& line) override {
    std::string content;
    if (dir_.read_file(log, std::size_t(1) << 30, content).ok()) each_json_line(content, line);
  }
  bool has(std::string_view log) override { return store_.stat(log).exists(); }

 private:
  storage::Dir& dir_;
};

// --- Any store: lock objects and one object per log line ---

// The folder of a log's line objects: "<log>.d/".
std::string lines_folder(std::string_view log) { return std::string(log) + ".d"; }

// The lock on a store without flock (S3). Two objects, both holding who, where and when:
//   - ".regsweep/lock", written only if absent (a conditional PUT, If-None-Match: *), where
//     the store honours that: of two that start together, exactly one creates it;
//   - ".regsweep/locks/<time-seq-pid>", one per holder, written and then the others listed
//     (restic's protocol): of two that start together both may see the other and step back,
//     but never both go on. Where the conditional PUT is not honoured, this is the lock, and
//     the listing is made again after a wait (for stores whose listings lag behind writes).
// Both are rewritten every kRefreshEvery while the run lasts; one whose time is older than
// kStaleAfter belongs to a run that died without removing it (a kill, a lost machine) and is
// taken over, with a note; so is one whose holder ran on this host and is no longer running
// (a killed run: its successor finishes it at once, as flock allows on a disk). Clocks of
// different machines are trusted to within minutes.
constexpr std::int64_t kRefreshEvery = 5 * 60 * util::kNanosPerSecond;
constexpr std::int64_t kStaleAfter = 30 * 60 * util::kNanosPerSecond;
constexpr auto kRecheckWait = std::chrono::seconds(1);

std::string host_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

std::string lock_content(std::string_view holder, std::int64_t now) {
  json j = {{"holder", holder}, {"host", host_name()}, {"pid", ::getpid()}, {"time", util::rfc3339_utc(now)}, {"time_ns", now}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Who holds a lock object, and whether its holder stopped refreshing it long ago.
struct LockHolder {
  std::string who;
  bool stale = false;
};
LockHolder read_holder(storage::Store& store, const std::string& key, std::int64_t now) {
  std::string content;
  LockHolder h;
  storage::ReadResult r = store.read(key, 4096, content);
  if (!r.ok()) return h;  // gone meanwhile, or unreadable: held (never taken over unread)
  json j = json::parse(content, nullptr, false);
  if (!j.is_object()) {
    h.who = content;  // another regsweep's older format, or garbage: held, named as it is
    return h;
  }
  h.who = j.value("holder", "") + " on " + j.value("host", "?") + " since " + j.value("time", "?");
  const std::int64_t at = j.value("time_ns", std::int64_t{0});
  const int pid = j.value("pid", 0);
  // A pid that is running (or is another process now) keeps it held: never assumed dead.
  const bool died_here = pid > 0 && j.value("host", "") == host_name() && ::kill(pid, 0) != 0 && errno == ESRCH;
  h.stale = (at > 0 && now - at > kStaleAfter) || died_here;
  if (died_here) h.who += " (that process is no longer running)";
  return h;
}

class ObjectLock : public StateLock {
 public:
  ObjectLock(storage::Store& store, std::vector<std::string> keys, std::string holder)
      : store_(store), keys_(std::move(keys)), holder_(std::move(holder)) {
    refresher_ = std::thread([this] { refresh(); });
  }
  ~ObjectLock() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    refresher_.join();
    try {
      store_.remove(keys_);
    } catch (const Error&) {
      // Left behind, it blocks the next runs until it is stale (kStaleAfter).
    }
  }

 private:
  void refresh() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!cv_.wait_for(lock, std::chrono::nanoseconds(kRefreshEvery), [&] { return stopping_; })) {
      const std::string content = lock_content(holder_, util::now_ns());
      for (const std::string& key : keys_) {
        try {
          store_.put(key, content);
        } catch (const Error&) {
          // Tried again at the next refresh; the lock goes stale only after kStaleAfter.
        }
      }
    }
  }

  storage::Store& store_;
  std::vector<std::string> keys_;
  std::string holder_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread refresher_;
};

class ObjectStateStore : public StateStore {
 public:
  explicit ObjectStateStore(storage::Store& store) : StateStore(store) {}

  std::unique_ptr<StateLock> lock(std::string_view holder, std::string& other) override {
    const std::int64_t now = util::now_ns();
    const std::string content = lock_content(holder, now);
    std::vector<std::string> keys;
    // The conditional lock object first.
    storage::Store::PutNew created = store_.put_new(state::kLock, content);
    for (int attempt = 0; created == storage::Store::PutNew::Exists && attempt < 2; ++attempt) {
      LockHolder h = read_holder(store_, state::kLock, now);
      if (!h.stale) {
        other = h.who + " (lock object " + store_.locate(state::kLock) + ")";
        return nullptr;
      }
      std::fprintf(stderr, "regsweep: note: taking over a stale lock (%s; or not refreshed for over %lld minutes): %s\n",
                   h.who.c_str(), static_cast<long long>(kStaleAfter / util::kNanosPerSecond / 60), store_.locate(state::kLock).c_str());
      store_.remove({state::kLock});
      created = store_.put_new(state::kLock, content);
    }
    if (created == storage::Store::PutNew::Exists) {
      other = "another regsweep took the stale lock first (lock object " + store_.locate(state::kLock) + ")";
      return nullptr;
    }
    if (created == storage::Store::PutNew::Created) keys.push_back(state::kLock);
    // Then this holder's own object, and the others looked for.
    const std::string folder = std::string(state::kDir) + "/locks";
    const std::string mine = storage::join_key(folder, unique_name());
    store_.put(mine, content);
    keys.push_back(mine);
    auto held = std::make_unique<ObjectLock>(store_, keys, std::string(holder));
    if (!others_hold(folder, mine, now, other)) return nullptr;
    if (created == storage::Store::PutNew::Unsupported) {
      std::this_thread::sleep_for(kRecheckWait);
      if (!others_hold(folder, mine, now, other)) return nullptr;
    }
    return held;
  }
  void append(std::string_view log, std::string_view line) override {
    store_.put(storage::join_key(lines_folder(log), unique_name()), line);
  }
  void append_lines(std::string_view log, const std::vector<std::string>& lines) override {
    std::string record;
    for (const std::string& l : lines) (record += l) += '\n';
    if (!record.empty()) store_.put(storage::join_key(lines_folder(log), unique_name()), record);
  }
  void for_each_line(std::string_view log, const std::function<void(const json&)>& line) override {
    std::vector<std::string> keys;
    store_.list(lines_folder(log), [&](const storage::KeyInfo& k) { keys.emplace_back(k.key); });
    std::sort(keys.begin(), keys.end());
    for (const std::string& key : keys) {
      std::string content;
      if (store_.read(key, std::size_t(1) << 24, content).ok()) each_json_line(content, line);
    }
  }
  bool has(std::string_view log) override { return store_.stat(lines_folder(log)).exists(); }

 private:
  // False (with `other` set) when a lock object of another holder is there and not stale.
  bool others_hold(const std::string& folder, const std::string& mine, std::int64_t now, std::string& other) {
    std::vector<std::string> others;
    store_.list(folder, [&](const storage::KeyInfo& k) {
      if (k.key != mine) others.emplace_back(k.key);
    });
    std::sort(others.begin(), others.end());
    std::vector<std::string> stale;
    for (const std::string& key : others) {
      LockHolder h = read_holder(store_, key, now);
      if (h.stale) {
        stale.push_back(key);
        continue;
      }
      other = h.who + " (lock object " + store_.locate(key) + ")";
      return false;
    }
    if (!stale.empty()) {
      std::fprintf(stderr, "regsweep: note: removing %zu stale lock object(s), first %s\n", stale.size(), store_.locate(stale.front()).c_str());
      store_.remove(stale);
    }
    return true;
  }

  // Sorts in the order written: the time, then this process's own count (same nanosecond).
  static std::string unique_name() {
    static std::atomic<unsigned> sequence{0};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%020lld-%08u-%d", static_cast<long long>(util::now_ns()), ++sequence, static_cast<int>(::getpid()));
    return buf;
  }
};

}  // namespace

void StateStore::write_record(std::string_view run, const json& record) {
  store_.put(state::run_record(run), record.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
}

std::optional<json> StateStore::read_record(std::string_view run) {
  std::string content;
  if (!store_.read(state::run_record(run), 64u << 20, content).ok()) return std::nullopt;
  json record = json::parse(content, nullptr, false);
  if (!record.is_object()) return std::nullopt;
  return record;
}

void StateStore::mark_run(std::string_view run, std::string_view status) {
  std::optional<json> record = read_record(run);
  if (!record) return;
  (*record)["status"] = status;
  write_record(run, *record);
}

std::unique_ptr<StateStore> open_state_store(storage::Store& store) {
  storage::StoreTraits t = store.traits();
  if (t.locks && t.append && store.directory()) return std::make_unique<FolderStateStore>(store, *store.directory());
  return std::make_unique<ObjectStateStore>(store);
}

}  // namespace regsweep::apply
