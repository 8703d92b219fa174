#pragma once
// The registry's own logs, read for when each manifest was last pulled (`--access-log`, issue
// #20): no peer reads them, and the storage keeps no pull time.
//
// A pull is a logged `GET /v2/<name>/manifests/<reference>` answered 200. The registry logs
// each request twice (its "response completed" line, in its text or JSON formatter, and an
// Apache-style access line); both are read, and a pull counted twice changes no last-pull
// time. Lines may come wrapped as `journalctl` prints them (short and JSON output), as a
// container runtime keeps them (Docker's json-file, the CRI files kubelet keeps), in rotated
// and gzip-compressed files.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "regsweep/storage/model.h"

namespace regsweep::storage {

enum class LogLine : std::uint8_t {
  Pull,        // a manifest GET answered 200: `pull` is filled
  Other,       // a line of the registry's log that is no pull (another request, a message)
  Unreadable,  // no format regsweep knows
};

struct LoggedPull {
  std::string repository;
  std::string reference;  // a tag, or "sha256:<hex>"
  std::int64_t time_ns = 0;
};

// One line (without its newline). `time_ns` is set for every line that carries a time.
LogLine parse_log_line(std::string_view line, LoggedPull& pull, std::int64_t& time_ns);

struct AccessLog {
  // (repository, reference) -> the last time it was pulled.
  std::map<std::pair<std::string, std::string>, std::int64_t> last_pull;
  std::uint64_t lines = 0, pulls = 0, unreadable = 0;
  std::int64_t first_ns = 0, last_ns = 0;  // the span the lines' times cover (0: none had one)
  std::string first_unreadable;            // "file:line" of the first unreadable line, for the message

  // Reads every line of `path` (plain or gzip-compressed; zlib tells them apart). Throws Error
  // naming the file when it cannot be opened or read.
  void read_file(const std::string& path);
  // One line; `where` names it ("file:line") for the report.
  void add_line(std::string_view line, const std::string& where);
};

// The last pull of each image (repository, digest) of `model`: a pull by digest counts for
// that digest; a pull by tag for the digest the tag names now (the model keeps no time per
// entry of a tag's history, so a tag moved since is credited to its new digest: documented);
// a pull of an index counts for its children too. Pulls of repositories or tags the model
// does not have are left out.
std::map<std::pair<std::string, Digest>, std::int64_t> last_pulls(const Model& model, const AccessLog& log);

}  // namespace regsweep::storage
