#include "regsweep/storage/real_filesystem.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
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
    thread_local std::vector<char> buf(64 * 1024);
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
