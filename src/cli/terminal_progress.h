#pragma once
// Progress on a terminal: one line on stderr, redrawn five times a second by a thread of
// its own, with counts and a rate. Workers only bump atomic counters.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

#include "regsweep/util/progress.h"

namespace regsweep::cli {

class TerminalProgress : public util::Progress {
 public:
  explicit TerminalProgress(std::ostream& err);
  ~TerminalProgress() override;
  void phase(std::string_view name) override;
  void advance(std::uint64_t items, std::uint64_t bytes) override;
  void done() override;

 private:
  void draw(bool final);
  std::ostream& err_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string phase_;
  std::atomic<std::uint64_t> items_{0}, bytes_{0};
  std::int64_t started_ns_ = 0;
  bool stop_ = false, shown_ = false;
  std::thread thread_;
};

}  // namespace regsweep::cli
