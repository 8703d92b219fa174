#pragma once
#include "regsweep/storage/filesystem.h"

namespace regsweep::storage {

// The disk, through directory fds: openat(O_NOFOLLOW), fstatat(AT_SYMLINK_NOFOLLOW),
// getdents64 into a per-thread buffer. Reads, open_dir and every write follow a symlink in no
// component of their path (openat2 RESOLVE_NO_SYMLINKS, or one folder at a time where the
// kernel lacks it), so a symlink planted anywhere below the root can neither be read through
// nor written through. stat() is one fstatat for speed: only its last component is never
// followed, so it is given paths whose folders the caller listed as folders.
class RealFileSystem : public FileSystem {
 public:
  std::unique_ptr<Dir> open_root(const std::string& path) override;
};

}  // namespace regsweep::storage
