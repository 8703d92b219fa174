#pragma once
// The seam between regsweep and a registry's storage, one level above a file system: a store
// of keys (after restic's backend interface and distribution's StorageDriver). A key is a
// path relative to the registry's rootdirectory, '/'-separated ("docker/registry/v2/blobs/
// sha256/ab/<hex>/data"), the same on a disk and in a bucket. Logic receives a Store; only
// the command line opens the real one, and the tests their fakes (tests/unit/).
//
// What a store can do differs (a disk renames atomically and has folders, S3 has neither):
// its traits say so, and the executor chooses from them how to set an item aside (see
// apply/run.cc). Reads are safe from several threads; writes come from the executor only.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "regsweep/error.h"
#include "regsweep/storage/filesystem.h"
#include "regsweep/util/function_ref.h"

namespace regsweep::storage {

struct StoreTraits {
  bool atomic_rename = false;  // rename() moves a key or a whole folder at once (rename(2))
  bool folders = false;        // folders exist by themselves: one can be empty, and be removed or made
  bool symlinks = false;       // entries may be symbolic links (never followed; reported as such)
  bool append = false;         // a log can be appended to in place (else one object per line)
  bool locks = false;          // an exclusive lock the system releases when the process dies (flock)
  unsigned connections = 1;    // how many operations make sense at once
  // The storage is seen through this host's file system, so a registry serving it is one of
  // this host's processes (or answers at its config's address); not so for a bucket.
  bool registries_visible = false;
};

// One entry of a listing. `key` is valid only during the visit.
struct KeyInfo {
  std::string_view key;
  FileType type = FileType::Regular;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  // What the store says of the content, where it says anything: S3's ETag without its quotes
  // (the MD5 of the content in hex, for an object written in one part without KMS); "" elsewhere.
  std::string_view etag;
};

// True when the listing proves that `info` holds exactly `content`: its ETag is the MD5 of it.
// (A multipart or encrypted object's ETag is something else, never a match: then read it.)
bool etag_proves(const KeyInfo& info, std::string_view content);

using KeyVisitor = util::FunctionRef<void(const KeyInfo&)>;
using ChildVisitor = util::FunctionRef<void(std::string_view name, FileType type)>;

// Thrown by Store::remove when the store refused some keys of a batch and removed the others
// (S3's DeleteObjects answers key by key): `failed` names each refused key with the reason.
class PartialRemoval : public Error {
 public:
  PartialRemoval(const std::string& what, std::string path, std::string hint,
                 std::vector<std::pair<std::string, std::string>> failed)
      : Error(what, std::move(path), std::move(hint)), failed_(std::move(failed)) {}
  const std::vector<std::pair<std::string, std::string>>& failed() const { return failed_; }

 private:
  std::vector<std::pair<std::string, std::string>> failed_;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual StoreTraits traits() const = 0;
  // Where the store is, for people and for finding a registry that serves it: the root folder
  // on a disk, s3://bucket/prefix in a bucket.
  virtual const std::string& location() const = 0;
  // What people see for `key` in a message: a path on a disk, a URL in a bucket.
  virtual std::string locate(std::string_view key) const = 0;

  // --- Reads ---

  // Every key below the folder `prefix` (which names a folder: "a/tags/v1" lists
  // "a/tags/v1/..." and never "a/tags/v10/..."), in no particular order; nothing when absent.
  // Throws Error naming the place on an I/O failure.
  virtual void list(std::string_view prefix, KeyVisitor visit) = 0;
  // The names one level below the folder `prefix`, files and folders (S3: a delimiter listing).
  virtual void list_children(std::string_view prefix, ChildVisitor visit) = 0;
  // A key, or a folder (Directory when anything is below it). Missing with `error` set when
  // it cannot be looked at.
  virtual FileStat stat(std::string_view key) = 0;
  // Reads a key of at most max_bytes (never a FIFO or device: NotRegular).
  virtual ReadResult read(std::string_view key, std::size_t max_bytes, std::string& out) = 0;
  // Streams a key through `buffer`, piece by piece in order.
  virtual ReadResult read_chunks(std::string_view key, char* buffer, std::size_t buffer_size,
                                 util::FunctionRef<void(std::string_view)> chunk) = 0;

  // --- Writes: only apply/ calls these. Each throws Error naming the key on failure. ---

  // Replaces `key` atomically: a reader sees the old content or the new, whole.
  virtual void put(std::string_view key, std::string_view content) = 0;
  // Removes each key (absent is not an error). PartialRemoval when some were refused.
  virtual void remove(const std::vector<std::string>& keys) = 0;
  // Removes the folder `prefix` and everything below it, following no symlink.
  virtual void remove_prefix(std::string_view prefix) = 0;
  // Copies one key (a file) to `to`, replacing it. The time regsweep reads back for `to`
  // (FileStat::mtime_ns of stat and read) is the one `from` had, where the store cannot set a
  // key's own time (S3 keeps it in the object's metadata). `listed`: what a listing just said
  // of `from`, so that the store need not look at it first (S3: no HEAD); its time is then the
  // listing's (LastModified), the one the walk reads for such a key anyway.
  virtual void copy(std::string_view from, std::string_view to, const KeyInfo* listed = nullptr) = 0;
  // Writes `key` only when it does not exist yet, atomically (S3: If-None-Match: *).
  enum class PutNew { Created, Exists, Unsupported };
  virtual PutNew put_new(std::string_view key, std::string_view content);
  // Moves a key or a folder to `to` at once, making the folders above `to`. Only when
  // traits().atomic_rename; else throws.
  virtual void rename(std::string_view from, std::string_view to);
  // Folder stores: rmdir, true when removed (false when not empty or absent). Elsewhere a
  // folder is only its keys: true when nothing is below `prefix`.
  virtual bool remove_empty_folder(std::string_view prefix);
  // Folder stores: makes the folder and its parents. Elsewhere nothing to do.
  virtual void make_folder(std::string_view prefix);
  // Which volume the key is on, for the same-filesystem check before a rename (0 when absent
  // or when the store has no such notion).
  virtual std::uint64_t volume_of(std::string_view key);

  // The local folder behind the store, when it is one: the walker probes known names there
  // (one fstatat per blob instead of a listing), and the state store flocks and appends.
  virtual Dir* directory() { return nullptr; }
};

// A store on a local folder: every read and write through the Dir (directory fds, no symlink
// followed). Throws Error when `root` is not a readable folder.
std::unique_ptr<Store> open_folder_store(FileSystem& fs, const std::string& root, unsigned connections = 1);

// Wraps a store and refuses every write (after restic's dry-run backend): under --dry-run the
// executor is given one, so even a bug cannot delete.
std::unique_ptr<Store> read_only(Store& inner);

// Joins a folder key and a name ("a" + "b" = "a/b"; "" + "b" = "b").
std::string join_key(std::string_view folder, std::string_view name);
// The folder of a key ("a/b/c" -> "a/b"; "a" -> "").
std::string_view parent_key(std::string_view key);

}  // namespace regsweep::storage
