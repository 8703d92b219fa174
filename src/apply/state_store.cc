#include "regsweep/apply/state_store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/util/clock.h"

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

class ObjectLock : public StateLock {
 public:
  ObjectLock(storage::Store& store, std::string key) : store_(store), key_(std::move(key)) {}
  ~ObjectLock() override {
    try {
      store_.remove({key_});
    } catch (const Error&) {
      // Left behind, it blocks the next run, whose message names it for removal by hand.
    }
  }

 private:
  storage::Store& store_;
  std::string key_;
};

class ObjectStateStore : public StateStore {
 public:
  explicit ObjectStateStore(storage::Store& store) : StateStore(store) {}

  std::unique_ptr<StateLock> lock(std::string_view holder, std::string& other) override {
    const std::string folder = std::string(state::kDir) + "/locks";
    const std::string mine = storage::join_key(folder, unique_name());
    store_.put(mine, holder);
    auto held = std::make_unique<ObjectLock>(store_, mine);
    // Written first, then the others looked for: of two that start together, both may see the
    // other and step back, but never both go on.
    std::vector<std::string> others;
    store_.list(folder, [&](const storage::KeyInfo& k) {
      if (k.key != mine) others.emplace_back(k.key);
    });
    if (others.empty()) return held;
    std::sort(others.begin(), others.end());
    store_.read(others.front(), 4096, other);
    other += " (lock object " + store_.locate(others.front()) + ")";
    return nullptr;
  }
  void append(std::string_view log, std::string_view line) override {
    store_.put(storage::join_key(lines_folder(log), unique_name()), line);
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
