#pragma once
#include "regsweep/storage/filesystem.h"

namespace regsweep::storage {

// The disk, through directory fds: openat(O_NOFOLLOW), fstatat(AT_SYMLINK_NOFOLLOW),
// getdents64 into a per-thread buffer.
class RealFileSystem : public FileSystem {
 public:
  std::unique_ptr<Dir> open_root(const std::string& path) override;
};

}  // namespace regsweep::storage
