#pragma once
// Wraps a FileSystem and refuses every write (after restic's dry-run backend): under
// --dry-run the executor is given one of these, so even a bug cannot delete.
#include "regsweep/storage/filesystem.h"

namespace regsweep::storage {

class ReadOnlyFileSystem : public FileSystem {
 public:
  explicit ReadOnlyFileSystem(FileSystem& inner) : inner_(inner) {}
  std::unique_ptr<Dir> open_root(const std::string& path) override;

 private:
  FileSystem& inner_;
};

}  // namespace regsweep::storage
