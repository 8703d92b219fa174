#pragma once
// Progress is injected, not global (after restic's progress.Printer): code that works for
// long reports through this interface; the default does nothing, the terminal one lives in
// cli/ and is used only when stderr is a terminal and neither --json nor -q is given.
#include <cstdint>
#include <string_view>

namespace regsweep::util {

class Progress {
 public:
  virtual ~Progress() = default;
  // A new phase ("walking", "reading manifests", "removing"); counters restart.
  virtual void phase(std::string_view) {}
  // How many items the phase has in all, when known (for an estimate of the time left).
  virtual void expect(std::uint64_t /*total*/) {}
  // Thread-safe: `items` more done (and `bytes`, where bytes are what is counted).
  virtual void advance(std::uint64_t /*items*/, std::uint64_t /*bytes*/ = 0) {}
  // The work is over: clear what was shown.
  virtual void done() {}
};

// The one that shows nothing.
Progress& no_progress();

}  // namespace regsweep::util
