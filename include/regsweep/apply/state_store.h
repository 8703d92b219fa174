#pragma once
// regsweep's own state beside the registry's data (state.h names the keys): the lock, the
// run journals and the audit log. Behind one small interface, because a disk and a bucket
// keep them differently:
//   - a store with flock and append (a local folder): an flock'ed lock file, and each log a
//     file appended to with one write(2) per line, as before;
//   - any other store (S3): a lock object per holder (after restic: written, then the
//     others listed; another one's object means "held"), and each log a folder of one
//     object per line, named so that a listing returns them in the order written.
// Run records (run.json) are written whole with the store's atomic put, through this
// interface too; the trash is plain keys.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "regsweep/storage/store.h"

namespace regsweep::apply {

// Held while it lives.
class StateLock {
 public:
  virtual ~StateLock() = default;
};

class StateStore {
 public:
  explicit StateStore(storage::Store& store) : store_(store) {}
  virtual ~StateStore() = default;
  // The exclusive lock of the storage, `holder` (pid and command) recorded for the message
  // another regsweep prints. nullptr when someone else holds it; `other` then says who.
  virtual std::unique_ptr<StateLock> lock(std::string_view holder, std::string& other) = 0;
  // Appends one line (no newline) to the log `log` (state::kAudit, state::run_journal(run)).
  // Once it returns, the line survives a kill.
  virtual void append(std::string_view log, std::string_view line) = 0;
  // Appends several lines at once (one write, or one object): a batch of the executor.
  virtual void append_lines(std::string_view log, const std::vector<std::string>& lines) = 0;
  // Every line of `log` that is a JSON object, in the order written; a torn line is skipped.
  virtual void for_each_line(std::string_view log, const std::function<void(const nlohmann::json&)>& line) = 0;
  // Whether `log` has been written to.
  virtual bool has(std::string_view log) = 0;

  // A run's record (run.json: command, plan, status, totals), replaced whole.
  void write_record(std::string_view run, const nlohmann::json& record);
  // The record, or nothing when it is missing or not a JSON object.
  std::optional<nlohmann::json> read_record(std::string_view run);
  // Sets the record's status (a recovery that cannot finish stops a run for good; emptying;
  // restored). Nothing when there is no readable record.
  void mark_run(std::string_view run, std::string_view status);

 protected:
  storage::Store& store_;
};

// The state store that suits `store` (from its traits). It lives no longer than `store`.
std::unique_ptr<StateStore> open_state_store(storage::Store& store);

}  // namespace regsweep::apply
