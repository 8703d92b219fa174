#pragma once
// The seam between regsweep and the disk (after ninja's DiskInterface). Logic receives a
// FileSystem; only main makes the real one, tests make the in-memory FakeFileSystem.
//
// Reads go through Dir handles so the real implementation works on directory fds
// (openat/fstatat/getdents64) and never rebuilds a path string per file. Nothing follows a
// symbolic link: a link is reported as FileType::Symlink and never opened, so nothing
// outside the root is read through one.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "regsweep/util/function_ref.h"

namespace regsweep::storage {

enum class FileType : std::uint8_t { Missing, Regular, Directory, Symlink, Other };

struct FileStat {
  FileType type = FileType::Missing;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  // errno when the entry could not be looked at (EACCES on a folder on the way, EIO): then
  // type is Missing although the entry may well exist. Absent entries leave it 0.
  int error = 0;
  bool exists() const { return type != FileType::Missing; }
  bool unreachable() const { return error != 0; }
};

// What the registry takes for a blob's data file: anything at blobs/.../data but a folder
// (it stats the path, following a symlink). regsweep never opens one that is not a regular file.
inline bool is_blob_data(FileType type) { return type != FileType::Missing && type != FileType::Directory; }

enum class ReadStatus : std::uint8_t { Ok, Missing, NotRegular, TooLarge, IoError };

struct ReadResult {
  ReadStatus status = ReadStatus::Missing;
  FileStat stat;        // of the file read (valid when it exists)
  int error = 0;        // errno for IoError
  bool ok() const { return status == ReadStatus::Ok; }
};

using EntryVisitor = util::FunctionRef<void(std::string_view name, FileType type)>;

class FileLock {
 public:
  virtual ~FileLock() = default;
  // Replaces the lock file's content (who holds it), for the message a waiter sees.
  virtual void describe_holder(std::string_view text) = 0;
};

class Dir {
 public:
  explicit Dir(std::string path) : path_(std::move(path)) {}
  virtual ~Dir() = default;
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;

  // The path shown to people (and in findings): root joined with the relative path.
  const std::string& path() const { return path_; }
  std::string child_path(std::string_view rel) const {
    std::string p = path_;
    p += '/';
    p += rel;
    return p;
  }

  // Visits every entry but "." and "..". Throws Error naming the folder on I/O failure.
  virtual void list(EntryVisitor visit) = 0;
  // lstat of `rel` (which may contain '/'); Missing when absent, Missing with `error` set
  // when it cannot be looked at.
  virtual FileStat stat(std::string_view rel) = 0;
  // The directory `rel`, or nullptr when it is missing, not a directory, or a symlink.
  virtual std::unique_ptr<Dir> open_dir(std::string_view rel) = 0;
  // Reads a regular file (never a FIFO or device: they are reported NotRegular without
  // being opened for reading) of at most max_bytes into `out`.
  virtual ReadResult read_file(std::string_view rel, std::size_t max_bytes, std::string& out) = 0;
  // Streams a regular file through `buffer`: `chunk` sees each piece in order (for hashing
  // blobs of any size with one buffer per worker). Same refusals as read_file.
  virtual ReadResult read_chunks(std::string_view rel, char* buffer, std::size_t buffer_size,
                                 util::FunctionRef<void(std::string_view)> chunk) = 0;

  // --- Writes: only apply/ calls these. Each throws Error naming the path on failure. ---

  // Creates `rel` and its missing parents.
  virtual void make_dirs(std::string_view rel) = 0;
  // rename(2) of `from` to `to` (both relative to this folder). Atomic; never copies.
  virtual void rename(std::string_view from, std::string_view to) = 0;
  // Removes `rel` and everything below it, following no symlink. Absent is not an error.
  virtual void remove_tree(std::string_view rel) = 0;
  // rmdir(2): true when removed, false when it was not empty or is absent.
  virtual bool remove_empty_dir(std::string_view rel) = 0;
  // Replaces `rel` atomically (temporary file, fsync, rename).
  virtual void write_file(std::string_view rel, std::string_view content) = 0;
  // Appends to `rel`, creating it.
  virtual void append(std::string_view rel, std::string_view content) = 0;
  // The device the entry is on (for same-filesystem checks before renames); 0 when absent.
  virtual std::uint64_t device_of(std::string_view rel) = 0;
  // An exclusive flock(2) on `rel` (created if needed), held while the handle lives.
  // Returns nullptr when another process holds it and `wait` is false.
  virtual std::unique_ptr<FileLock> lock(std::string_view rel, bool wait) = 0;

 private:
  std::string path_;
};

// A Dir that is only read (a dry run's view, a listing of a bucket): every write is refused
// with an Error naming the path and `why`.
class ReadOnlyDirBase : public Dir {
 public:
  ReadOnlyDirBase(std::string path, const char* why) : Dir(std::move(path)), why_(why) {}
  void make_dirs(std::string_view rel) override { refuse(rel); }
  void rename(std::string_view from, std::string_view) override { refuse(from); }
  void remove_tree(std::string_view rel) override { refuse(rel); }
  bool remove_empty_dir(std::string_view rel) override { refuse(rel); }
  void write_file(std::string_view rel, std::string_view) override { refuse(rel); }
  void append(std::string_view rel, std::string_view) override { refuse(rel); }
  std::unique_ptr<FileLock> lock(std::string_view rel, bool) override { refuse(rel); }

 protected:
  [[noreturn]] void refuse(std::string_view rel) const;

 private:
  const char* why_;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // The directory at `path`, or nullptr when it is missing or not a directory.
  virtual std::unique_ptr<Dir> open_root(const std::string& path) = 0;
};

}  // namespace regsweep::storage
