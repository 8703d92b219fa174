#include "regsweep/storage/real_filesystem.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

  FileStat stat(std::string_view rel) override {
    struct stat st;
    if (::fstatat(fd_, CPath(rel).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
    return to_stat(st);
  }

  std::unique_ptr<Dir> open_dir(std::string_view rel) override {
    int fd = ::openat(fd_, CPath(rel).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return nullptr;
    return std::make_unique<RealDir>(fd, child_path(rel));
  }

  ReadResult read_file(std::string_view rel, std::size_t max_bytes, std::string& out) override {
    out.clear();
    ReadResult r;
    // O_NONBLOCK so that a FIFO put where a file belongs cannot hang us; O_NOFOLLOW so
    // a symlink is never followed. fstat then refuses anything but a regular file.
    int fd = ::openat(fd_, CPath(rel).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return r;
      r.stat = stat(rel);
      r.status = (errno == ELOOP || r.stat.type != FileType::Regular) ? ReadStatus::NotRegular : ReadStatus::IoError;
      r.error = errno;
      return r;
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      r.status = ReadStatus::IoError;
      r.error = errno;
      ::close(fd);
      return r;
    }
    r.stat = to_stat(st);
    if (!S_ISREG(st.st_mode)) {
      r.status = ReadStatus::NotRegular;
    } else if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
      r.status = ReadStatus::TooLarge;
    } else {
      out.resize(static_cast<std::size_t>(st.st_size));
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
    int fd = ::openat(fd_, CPath(rel).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return r;
      r.stat = stat(rel);
      r.status = (errno == ELOOP || r.stat.type != FileType::Regular) ? ReadStatus::NotRegular : ReadStatus::IoError;
      r.error = errno;
      return r;
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      r.status = ReadStatus::IoError;
      r.error = errno;
      ::close(fd);
      return r;
    }
    r.stat = to_stat(st);
    if (!S_ISREG(st.st_mode)) {
      r.status = ReadStatus::NotRegular;
      ::close(fd);
      return r;
    }
    r.status = ReadStatus::Ok;
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

  void make_dirs(std::string_view rel) override {
    std::string p(rel);
    for (std::size_t i = 0; i <= p.size(); ++i) {
      if (i != p.size() && p[i] != '/') continue;
      if (i == 0) continue;
      std::string part = p.substr(0, i);
      if (::mkdirat(fd_, part.c_str(), 0755) != 0 && errno != EEXIST) fail("cannot create folder", child_path(part));
    }
    if (stat(rel).type != FileType::Directory) throw Error("not a folder", child_path(rel));
  }

  void rename(std::string_view from, std::string_view to) override {
    if (::renameat(fd_, CPath(from).c_str(), fd_, CPath(to).c_str()) != 0)
      fail("cannot move " + std::string(from) + " to " + std::string(to), child_path(from));
  }

  void remove_tree(std::string_view rel) override {
    CPath p(rel);
    struct stat st;
    if (::fstatat(fd_, p.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return;
      fail("cannot stat", child_path(rel));
    }
    if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(fd_, p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) fail("cannot open folder", child_path(rel));
      empty_folder(sub, child_path(rel));
    }
    if (::unlinkat(fd_, p.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT)
      fail("cannot remove", child_path(rel));
  }

  bool remove_empty_dir(std::string_view rel) override {
    if (::unlinkat(fd_, CPath(rel).c_str(), AT_REMOVEDIR) == 0) return true;
    if (errno == ENOTEMPTY || errno == EEXIST || errno == ENOENT) return false;
    fail("cannot remove folder", child_path(rel));
  }

  void write_file(std::string_view rel, std::string_view content) override {
    std::string tmp = std::string(rel) + ".tmp-regsweep";
    int fd = ::openat(fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot write", child_path(tmp));
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
    int fd = ::openat(fd_, CPath(rel).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot open for appending", child_path(rel));
    // One write(2) per record: with O_APPEND a record is never interleaved or torn by a kill.
    ssize_t n = ::write(fd, content.data(), content.size());
    int saved = errno;
    ::close(fd);
    errno = saved;
    if (n != static_cast<ssize_t>(content.size())) fail("cannot append", child_path(rel));
  }

  std::uint64_t device_of(std::string_view rel) override {
    struct stat st;
    if (::fstatat(fd_, CPath(rel).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    return static_cast<std::uint64_t>(st.st_dev);
  }

  std::unique_ptr<FileLock> lock(std::string_view rel, bool wait) override {
    int fd = ::openat(fd_, CPath(rel).c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot open lock file", child_path(rel));
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
