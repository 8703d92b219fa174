#pragma once
// Progress on a terminal: one line on stderr, redrawn five times a second by a thread of
// its own, with counts and a rate. Workers only bump atomic counters.
#include <atomic>
#include <condition_variable>
#include <functional>
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
  void expect(std::uint64_t total) override;
  void advance(std::uint64_t items, std::uint64_t bytes) override;
  // The network's share of the work (requests made, retried), read at each redraw: shown
  // after the counts, with an estimate of the requests left where the phase's total is known.
  struct Traffic {
    std::uint64_t requests = 0, retries = 0, bytes = 0;
  };
  void show_traffic(std::function<Traffic()> traffic);
  void done() override;

 private:
  void draw(bool final);
  std::ostream& err_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string phase_;
  std::atomic<std::uint64_t> items_{0}, bytes_{0}, total_{0};
  std::function<Traffic()> traffic_;
  std::uint64_t requests_at_phase_ = 0;
  std::int64_t started_ns_ = 0;
  bool stop_ = false, shown_ = false;
  std::thread thread_;
};

}  // namespace regsweep::cli
