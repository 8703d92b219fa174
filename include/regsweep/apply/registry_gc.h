#pragma once
// `gc --registry-bin PATH`: runs the registry's own collector, `PATH garbage-collect
// [--dry-run] CONFIG`, for the blob sweep once regsweep's own steps are done.
#include <ostream>
#include <string>
#include <string_view>

#include "regsweep/util/function_ref.h"

namespace regsweep::apply {

struct RegistryGcRun {
  std::string command;  // what was run, for messages: "PATH garbage-collect --dry-run CONFIG"
  std::string output;   // its stdout and stderr, interleaved as printed
  std::string failure;  // "" when it exited 0, else "exit status 1" or "killed by signal 9"
};

// Runs `bin garbage-collect [--dry-run] config` directly (posix_spawn, no shell: a path is
// one argument whatever it contains), stdin from /dev/null, stdout and stderr into one pipe
// whose text goes to `echo` as it arrives and into the result.
//
// `config` empty: a config naming `root` is written to a new temporary file (mkstemps in
// $TMPDIR or /tmp: a fresh, unpredictable name, created exclusively with mode 0600, never
// through a symbolic link) and removed on every path out, a failed start included.
// The child's environment adds REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=root, so the
// collector sweeps the root regsweep planned for even when --root and the config disagree,
// and REGISTRY_LOG_LEVEL=info, so that a real run prints a "Deleting blob" line per blob.
//
// Throws Error naming `bin` when it cannot be started, or naming the temporary file when it
// cannot be written. A collector that fails is not an exception: see `failure`.
RegistryGcRun run_registry_gc(const std::string& bin, const std::string& root, const std::string& config, bool dry_run,
                              util::FunctionRef<void(std::string_view)> echo, std::ostream& log);

}  // namespace regsweep::apply
