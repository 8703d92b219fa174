#include "regsweep/storage/real_filesystem.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <vector>

#include "regsweep/error.h"

namespace regsweep::storage {

namespace {

// NUL-terminated copy of a relative path on the stack: no heap allocation per call.
class CPath {
 public:
  explicit CPath(std::string_view rel) {
    if (rel.size() >= sizeof buf_) throw Error("path too long", std::string(rel));
    std::memcpy(buf_, rel.data(), rel.size());
    buf_[rel.size()] = '\0';
  }
  const char* c_str() const { return buf_; }

 private:
  char buf_[PATH_MAX];
};

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw Error(what + ": " + std::strerror(errno), path);
}

// Closes an fd it owns on scope exit, keeping errno.
class Fd {
 public:
  Fd(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~Fd() {
    if (owned_ && fd_ >= 0) {
      int saved = errno;
      ::close(fd_);
      errno = saved;
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
  bool owned_;
};

// openat(dirfd, rel, flags) that follows a symbolic link in NO component of `rel` (the last
// one included: a symlink there fails with ELOOP, as with O_NOFOLLOW). openat(O_NOFOLLOW)
// alone would still follow links in the folders on the way ("current" in
// "current/link"), so a planted symlink could make us read or write outside the root.
// openat2(RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH) does it in one call; where the kernel or a
// seccomp filter refuses openat2, the path is walked one folder at a time.
int open_beneath(int dirfd, const char* rel, int flags) {
  flags |= O_NOFOLLOW | O_CLOEXEC;
  if (!std::strchr(rel, '/')) return ::openat(dirfd, rel, flags, 0644);
#ifdef SYS_openat2
  static std::atomic<bool> no_openat2{false};
  if (!no_openat2.load(std::memory_order_relaxed)) {
    struct open_how how {};
    how.flags = static_cast<std::uint64_t>(flags);
    how.mode = (flags & O_CREAT) ? 0644 : 0;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH;
    long fd = ::syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != ENOSYS && errno != EPERM && errno != E2BIG) return -1;
    no_openat2.store(true, std::memory_order_relaxed);
  }
#endif
  std::string_view path(rel);
  int cur = dirfd;
  auto close_cur = [&] {
    if (cur != dirfd) {
      int saved = errno;
      ::close(cur);
      errno = saved;
    }
  };
  while (true) {
    auto slash = path.find('/');
    if (slash == std::string_view::npos) break;
    std::string part(path.substr(0, slash));
    path.remove_prefix(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      close_cur();
      errno = EXDEV;
      return -1;
    }
    int next = ::openat(cur, part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close_cur();
    if (next < 0) return -1;
    cur = next;
  }
  int fd = ::openat(cur, std::string(path).c_str(), flags, 0644);
  close_cur();
  return fd;
}

// The folder that holds `rel` (opened without following a symlink on the way, O_PATH) and
// the last component's name: for the *at() calls that take a name.
struct Parent {
  Fd fd;
  std::string name;
};

Parent parent_of(int dirfd, std::string_view rel) {
  auto slash = rel.rfind('/');
  if (slash == std::string_view::npos) return Parent{Fd(dirfd, false), std::string(rel)};
  std::string dir(rel.substr(0, slash));
  int fd = open_beneath(dirfd, dir.c_str(), O_PATH | O_DIRECTORY);
  return Parent{Fd(fd, true), std::string(rel.substr(slash + 1))};
}

// Run as root (maintenance under sudo), what regsweep creates inside the storage (.regsweep/,
// its lock, trash, journal and audit, folders a restore re-creates) takes the owner and group of
// the folder it is made in, as if the registry's own user had made it: a root-owned folder would
// make the registry fail to push (mkdir: permission denied) and a later run as that user fail to
// take the lock. Given `fd`, that open file is changed; else `name` in `parent_fd`. Returns false
// (errno set) when the change failed. Callers skip it (and opening the folder) unless root.
const bool kRunAsRoot = ::geteuid() == 0;

bool own_like_parent(int parent_fd, const char* name, int fd = -1) {
  struct stat parent;
  if (::fstat(parent_fd, &parent) != 0) return false;
  if (parent.st_uid == 0 && parent.st_gid == 0) return true;  // root's folder: what root makes is right
  return fd >= 0 ? ::fchown(fd, parent.st_uid, parent.st_gid) == 0
                 : ::fchownat(parent_fd, name, parent.st_uid, parent.st_gid, AT_SYMLINK_NOFOLLOW) == 0;
}

class RealLock : public FileLock {
 public:
  RealLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~RealLock() override { ::close(fd_); }  // closing releases the flock
  void describe_holder(std::string_view text) override {
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) < 0) fail("cannot write lock file", path_);
  }

 private:
  int fd_;
  std::string path_;
};

// Removes everything inside the folder `fd` (which it closes), following no symlink.
void empty_folder(int fd, const std::string& path) {
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    fail("cannot list folder", path);
  }
  std::vector<std::pair<std::string, bool>> entries;
  while (dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n == "." || n == "..") continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    entries.emplace_back(std::string(n), is_dir);
  }
  int dfd = ::dirfd(d);
  for (const auto& [name, is_dir] : entries) {
    if (is_dir) {
      int sub = ::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        ::closedir(d);
        fail("cannot open folder", path + "/" + name);
      }
      empty_folder(sub, path + "/" + name);
    }
    if (::unlinkat(dfd, name.c_str(), is_dir ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT) {
      ::closedir(d);
      fail("cannot remove", path + "/" + name);
    }
  }
  ::closedir(d);
}

FileType type_of(mode_t mode) {
  if (S_ISREG(mode)) return FileType::Regular;
  if (S_ISDIR(mode)) return FileType::Directory;
  if (S_ISLNK(mode)) return FileType::Symlink;
  return FileType::Other;
}

// A failed lstat: absent (ENOENT, or ENOTDIR for a file on the way) or unreachable (errno kept).
FileStat failed_stat(int err) {
  FileStat st;
  if (err != ENOENT && err != ENOTDIR) st.error = err;
  return st;
}

FileStat to_stat(const struct stat& st) {
  return FileStat{type_of(st.st_mode), static_cast<std::uint64_t>(st.st_size),
                  static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

struct LinuxDirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

class RealDir : public Dir {
 public:
  RealDir(int fd, std::string path) : Dir(std::move(path)), fd_(fd) {}
  ~RealDir() override { ::close(fd_); }

  void list(EntryVisitor visit) override {
    // One buffer per nesting level and thread: a visitor may list another folder while
    // this listing is still being read (tags list their index/ inside the tags/ listing).
    thread_local std::deque<std::vector<char>> buffers;  // deque: growing keeps references valid
    thread_local std::size_t depth = 0;
    if (buffers.size() <= depth) buffers.emplace_back(32 * 1024);
    std::vector<char>& buf = buffers[depth];
    struct Nesting {
      Nesting() { ++depth; }
      ~Nesting() { --depth; }
    } nesting;
    if (::lseek(fd_, 0, SEEK_SET) < 0) throw Error(std::string("cannot list folder: ") + std::strerror(errno), path());
    while (true) {
      long n = ::syscall(SYS_getdents64, fd_, buf.data(), buf.size());
      if (n < 0) throw Error(std::string("cannot list folder: ") + std::strerror(errno), path());
      if (n == 0) return;
      for (long off = 0; off < n;) {
        auto* e = reinterpret_cast<LinuxDirent64*>(buf.data() + off);
        off += e->d_reclen;
        std::string_view name(e->d_name);
        if (name == "." || name == "..") continue;
        FileType t;
        switch (e->d_type) {
          case DT_REG: t = FileType::Regular; break;
          case DT_DIR: t = FileType::Directory; break;
          case DT_LNK: t = FileType::Symlink; break;
          case DT_UNKNOWN: t = stat(name).type; break;  // some filesystems do not say
          default: t = FileType::Other; break;
        }
        visit(name, t);
      }
    }
  }

  // lstat of `rel` in one fstatat: the hot call of the walk (one per blob, "<hex>/data").
  // The last component is never followed; a folder on the way is, were it a symlink, so
  // callers pass only paths whose folders they have just listed as folders (the walk does:
  // a symlink is listed as one and never descended into). Reads, open_dir and every write
  // follow no symlink anywhere; stat_strict() is the slower stat that follows none either.
  FileStat stat(std::string_view rel) override {
    struct stat st;
    if (::fstatat(fd_, CPath(rel).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return failed_stat(errno);
    return to_stat(st);
  }

  // lstat of `rel` from its folder, opened without following a symlink on the way (a
  // symlinked folder makes the entry unreachable: Missing).
  FileStat stat_strict(std::string_view rel) {
    if (rel.find('/') == std::string_view::npos) return stat(rel);
    struct stat st;
    Parent parent = parent_of(fd_, rel);
    if (parent.fd.get() < 0 || ::fstatat(parent.fd.get(), parent.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return failed_stat(errno);
    return to_stat(st);
  }

  std::unique_ptr<Dir> open_dir(std::string_view rel) override {
    int fd = open_beneath(fd_, CPath(rel).c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return nullptr;
    return std::make_unique<RealDir>(fd, child_path(rel));
  }

  // Opens `rel` for reading, or returns -1 with `r` saying why (Missing, NotRegular with the
  // entry's lstat, IoError). O_NONBLOCK so that a FIFO put where a file belongs cannot hang
  // us; no symlink is followed, in any component. Callers fstat and refuse anything but a
  // regular file.
  int open_for_reading(std::string_view rel, ReadResult& r) {
    int fd = open_beneath(fd_, CPath(rel).c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd >= 0) return fd;
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return -1;
    r.stat = stat_strict(rel);
    if (err == ELOOP || err == EXDEV) {
      // a symlink: the file itself (r.stat is its lstat) or a folder on the way (unreachable)
      if (!r.stat.exists()) r.stat.type = FileType::Symlink;
      r.status = ReadStatus::NotRegular;
    } else {
      r.status = r.stat.exists() && r.stat.type != FileType::Regular ? ReadStatus::NotRegular : ReadStatus::IoError;
    }
    r.error = err;
    return -1;
  }

  // open_for_reading, then fstat: the descriptor of a regular file (r.stat its stat, r.status
  // Ok), or -1 with r saying why (closed).
  int open_regular(std::string_view rel, ReadResult& r) {
    int fd = open_for_reading(rel, r);
    if (fd < 0) return -1;
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      r.status = ReadStatus::IoError;
      r.error = errno;
    } else {
      r.stat = to_stat(st);
      r.status = S_ISREG(st.st_mode) ? ReadStatus::Ok : ReadStatus::NotRegular;
    }
    if (r.status == ReadStatus::Ok) return fd;
    ::close(fd);
    return -1;
  }

  ReadResult read_file(std::string_view rel, std::size_t max_bytes, std::string& out) override {
    out.clear();
    ReadResult r;
    int fd = open_regular(rel, r);
    if (fd < 0) return r;
    if (r.stat.size > max_bytes) {
      r.status = ReadStatus::TooLarge;
    } else {
      out.resize(static_cast<std::size_t>(r.stat.size));
      std::size_t got = 0;
      r.status = ReadStatus::Ok;
      while (got < out.size()) {
        ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          r.status = ReadStatus::IoError;
          r.error = errno;
          break;
        }
        if (n == 0) break;  // shrank under us
        got += static_cast<std::size_t>(n);
      }
      out.resize(got);
    }
    ::close(fd);
    return r;
  }

  ReadResult read_chunks(std::string_view rel, char* buffer, std::size_t size,
                         util::FunctionRef<void(std::string_view)> chunk) override {
    ReadResult r;
    int fd = open_regular(rel, r);
    if (fd < 0) return r;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    for (;;) {
      ssize_t n = ::read(fd, buffer, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        r.status = ReadStatus::IoError;
        r.error = errno;
        break;
      }
      if (n == 0) break;
      chunk(std::string_view(buffer, static_cast<std::size_t>(n)));
    }
    ::close(fd);
    return r;
  }

  // Writes, like reads, follow a symlink in no component: a planted symlink (a folder on the
  // way, or .regsweep/ itself) makes them fail instead of acting outside the root.

  void make_dirs(std::string_view rel) override {
    std::string p(rel);
    for (std::size_t i = 0; i <= p.size(); ++i) {
      if (i != p.size() && p[i] != '/') continue;
      if (i == 0) continue;
      std::string part = p.substr(0, i);
      Parent parent = parent_of(fd_, part);
      if (parent.fd.get() < 0) fail("cannot create folder", child_path(part));
      if (::mkdirat(parent.fd.get(), parent.name.c_str(), 0755) != 0) {
        if (errno != EEXIST) fail("cannot create folder", child_path(part));
      } else if (kRunAsRoot && !own_like_parent(parent.fd.get(), parent.name.c_str())) {
        fail("cannot give the owner of its folder to", child_path(part));
      }
    }
    if (stat_strict(rel).type != FileType::Directory) throw Error("not a folder", child_path(rel));
  }

  void rename(std::string_view from, std::string_view to) override {
    Parent a = parent_of(fd_, from), b = parent_of(fd_, to);
    if (a.fd.get() < 0 || b.fd.get() < 0 || ::renameat(a.fd.get(), a.name.c_str(), b.fd.get(), b.name.c_str()) != 0)
      fail("cannot move " + std::string(from) + " to " + std::string(to), child_path(from));
  }

  void remove_tree(std::string_view rel) override {
    CPath p(rel);
    Parent parent = parent_of(fd_, rel);
    if (parent.fd.get() < 0) {
      if (errno == ENOENT) return;
      fail("cannot open the folder of", child_path(rel));
    }
    struct stat st;
    if (::fstatat(parent.fd.get(), parent.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return;
      fail("cannot stat", child_path(rel));
    }
    if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(parent.fd.get(), parent.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) fail("cannot open folder", child_path(rel));
      empty_folder(sub, child_path(rel));
    }
    if (::unlinkat(parent.fd.get(), parent.name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT)
      fail("cannot remove", child_path(rel));
  }

  bool remove_empty_dir(std::string_view rel) override {
    Parent parent = parent_of(fd_, rel);
    if (parent.fd.get() < 0) {
      if (errno == ENOENT) return false;
      fail("cannot open the folder of", child_path(rel));
    }
    if (::unlinkat(parent.fd.get(), parent.name.c_str(), AT_REMOVEDIR) == 0) return true;
    if (errno == ENOTEMPTY || errno == EEXIST || errno == ENOENT) return false;
    fail("cannot remove folder", child_path(rel));
  }

  void write_file(std::string_view rel, std::string_view content) override {
    std::string tmp = std::string(rel) + ".tmp-regsweep";
    int fd = open_beneath(fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC);
    if (fd < 0) fail("cannot write", child_path(tmp));
    own_like_folder_or_fail(tmp, fd);
    std::size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        fail("cannot write", child_path(tmp));
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
      ::close(fd);
      fail("cannot sync", child_path(tmp));
    }
    ::close(fd);
    rename(tmp, rel);
  }

  void append(std::string_view rel, std::string_view content) override {
    int fd = open_beneath(fd_, CPath(rel).c_str(), O_WRONLY | O_CREAT | O_APPEND);
    if (fd < 0) fail("cannot open for appending", child_path(rel));
    own_like_folder_or_fail(rel, fd);
    // One write(2) per record: with O_APPEND a record is never interleaved or torn by a kill.
    ssize_t n = ::write(fd, content.data(), content.size());
    int saved = errno;
    ::close(fd);
    errno = saved;
    if (n != static_cast<ssize_t>(content.size())) fail("cannot append", child_path(rel));
  }

  std::uint64_t device_of(std::string_view rel) override {
    struct stat st;
    Parent parent = parent_of(fd_, rel);
    if (parent.fd.get() < 0 || ::fstatat(parent.fd.get(), parent.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    return static_cast<std::uint64_t>(st.st_dev);
  }

  std::unique_ptr<FileLock> lock(std::string_view rel, bool wait) override {
    int fd = open_beneath(fd_, CPath(rel).c_str(), O_RDWR | O_CREAT);
    if (fd < 0) fail("cannot open lock file", child_path(rel));
    own_like_folder_or_fail(rel, fd);
    while (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      if (saved == EWOULDBLOCK) return nullptr;
      errno = saved;
      fail("cannot lock", child_path(rel));
    }
    return std::make_unique<RealLock>(fd, child_path(rel));
  }

 private:
  // The open file `fd` at `rel` takes the owner of its folder when run as root (own_like_parent);
  // on failure `fd` is closed and Error thrown.
  void own_like_folder_or_fail(std::string_view rel, int fd) {
    if (!kRunAsRoot) return;
    Parent parent = parent_of(fd_, rel);
    if (parent.fd.get() >= 0 && own_like_parent(parent.fd.get(), nullptr, fd)) return;
    int saved = errno;
    ::close(fd);
    errno = saved;
    fail("cannot give the owner of its folder to", child_path(rel));
  }

  int fd_;
};

}  // namespace

std::unique_ptr<Dir> RealFileSystem::open_root(const std::string& path) {
  // The root itself may be reached through a symlink (operators do that); below it, never.
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  std::string display = path;
  while (display.size() > 1 && display.back() == '/') display.pop_back();
  return std::make_unique<RealDir>(fd, display);
}

}  // namespace regsweep::storage
