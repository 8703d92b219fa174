#include "regsweep/plan/registry_gc.h"

#include <algorithm>
#include <charconv>

#include "regsweep/plan/gc.h"
#include "regsweep/plan/reachability.h"
#include "regsweep/plan/simulate.h"
#include "regsweep/util/clock.h"

namespace regsweep::plan {

namespace {


// The digest right after `marker` in `line`, if the marker is there and a digest follows.
std::optional<Digest> digest_after(std::string_view line, std::string_view marker) {
  std::size_t at = line.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(at + marker.size());
  return Digest::parse(rest.substr(0, kSha256Prefix.size() + 64));
}

// "Deleting blob: /docker/registry/v2/blobs/sha256/<xx>/<hex>": the hex is the path's last part.
std::optional<Digest> deleted_blob(std::string_view line) {
  constexpr std::string_view marker = "Deleting blob: ";
  std::size_t at = line.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view path = line.substr(at + marker.size());
  path = path.substr(0, path.find_first_of("\" \t\r"));
  constexpr std::string_view blobs = "/blobs/sha256/";
  std::size_t b = path.rfind(blobs);
  if (b == std::string_view::npos) return std::nullopt;
  std::string_view tail = path.substr(b + blobs.size());  // "<xx>/<hex>" (or "<xx>/<hex>/data")
  if (tail.size() < 3 || tail[2] != '/') return std::nullopt;
  std::optional<Digest> d = Digest::from_hex(tail.substr(3, 64));
  if (!d || d->prefix() != tail.substr(0, 2)) return std::nullopt;
  return d;
}

void add_once(std::vector<Digest>& list, const Digest& d) {
  if (std::find(list.begin(), list.end(), d) == list.end()) list.push_back(d);
}

}  // namespace

std::vector<YoungBlob> young_blobs_registry_gc_would_delete(const storage::Model& model, const Plan& plan,
                                                             std::int64_t min_age_s, std::int64_t uploads_older_than_s,
                                                             std::int64_t now_ns) {
  const storage::Model after = simulate(model, plan);
  const BlobMark mark = registry_gc_mark(after);
  const std::vector<Digest> pushing = blobs_of_pushes_in_progress(after, now_ns, uploads_older_than_s);
  std::vector<YoungBlob> young;
  for (std::size_t i = 0; i < after.blobs.size(); ++i) {
    const storage::BlobRecord& blob = after.blobs[i];
    if (!blob.has_data || mark.marked(i)) continue;
    if (now_ns - blob.mtime_ns < min_age_s * util::kNanosPerSecond)
      young.push_back(YoungBlob{blob.digest, blob.size, blob.mtime_ns});
    else if (std::binary_search(pushing.begin(), pushing.end(), blob.digest))
      young.push_back(YoungBlob{blob.digest, blob.size, blob.mtime_ns, true});
  }
  std::sort(young.begin(), young.end(), [](const YoungBlob& a, const YoungBlob& b) {
    return a.mtime_ns != b.mtime_ns ? a.mtime_ns > b.mtime_ns : a.digest < b.digest;
  });
  return young;
}

RegistryGcOutput parse_registry_gc_output(std::string_view text) {
  RegistryGcOutput out;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (auto d = digest_after(line, "blob eligible for deletion: ")) {
      add_once(out.blobs_eligible, *d);
    } else if (auto m = digest_after(line, "manifest eligible for deletion: ")) {
      add_once(out.manifests_eligible, *m);
    } else if (auto del = deleted_blob(line)) {
      add_once(out.blobs_deleted, *del);
    } else if (std::size_t at = line.find(" blobs marked, "); at != std::string_view::npos) {
      std::string_view number = line.substr(0, at);
      number = number.substr(number.find_last_not_of("0123456789") + 1);  // npos + 1 == 0: all digits
      std::uint64_t n = 0;
      auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
      if (ec == std::errc() && end == number.data() + number.size() && !number.empty()) out.marked = n;
    }
  }
  return out;
}

}  // namespace regsweep::plan
