#include "regsweep/apply/state.h"

#include <ctime>
#include <filesystem>

#include "regsweep/error.h"
#include "regsweep/storage/layout.h"

namespace regsweep::apply::state {

std::string new_run_id(std::int64_t now_ns, int pid, int sequence) {
  std::time_t secs = static_cast<std::time_t>(now_ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf) + "-" + std::to_string(pid) + (sequence > 1 ? "-" + std::to_string(sequence) : "");
}

void check_storage_path(std::string_view path) {
  const std::string prefix = std::string(storage::layout::kV2) + "/";
  if (!path.starts_with(prefix)) throw Error("refusing a path outside docker/registry/v2", std::string(path));
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    std::string_view part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string_view::npos)
      throw Error("refusing a path with an empty, \".\" or \"..\" component", std::string(path));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
}

void check_trashed_path(std::string_view path) {
  const std::string prefix = kTrash + "/";
  if (!path.starts_with(prefix)) throw Error("refusing a restore source outside the trash", std::string(path));
  std::string_view rest = path.substr(prefix.size());
  std::size_t slash = rest.find('/');
  std::string_view run = rest.substr(0, slash);
  if (slash == std::string_view::npos || run.empty() || run == "." || run == ".." || run.find('\0') != std::string_view::npos)
    throw Error("refusing a restore source that names no run", std::string(path));
  check_storage_path(rest.substr(slash + 1));
}

void write_file_atomically(storage::FileSystem& fs, const std::string& path, std::string_view content) {
  const std::filesystem::path p(path);
  const std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") throw Error("cannot write: the path names a folder, not a file", path);
  const std::string folder = p.has_parent_path() ? p.parent_path().string() : std::string(".");
  std::unique_ptr<storage::Dir> dir = fs.open_root(folder);
  if (!dir) throw Error("cannot write: its folder is missing or not a folder", path);
  dir->write_file(name, content);
}

}  // namespace regsweep::apply::state
