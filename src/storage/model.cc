#include "regsweep/storage/model.h"

#include <algorithm>

namespace regsweep::storage {

namespace {
template <typename Vec>
auto find_by_digest(const Vec& v, const Digest& d) -> decltype(&v[0]) {
  auto it = std::lower_bound(v.begin(), v.end(), d, [](const auto& e, const Digest& k) { return e.digest < k; });
  return it != v.end() && it->digest == d ? &*it : nullptr;
}
}  // namespace

const TagLink* Repository::find_tag(std::string_view tag) const {
  auto it = std::lower_bound(tags.begin(), tags.end(), tag, [](const TagLink& t, std::string_view k) { return t.name < k; });
  return it != tags.end() && it->name == tag ? &*it : nullptr;
}

bool Repository::has_revision(const Digest& d) const { return find_by_digest(revisions, d) != nullptr; }

const Repository* Model::find_repository(std::string_view name) const {
  auto it = std::lower_bound(repositories.begin(), repositories.end(), name,
                             [](const Repository& r, std::string_view k) { return r.name < k; });
  return it != repositories.end() && it->name == name ? &*it : nullptr;
}

const BlobRecord* Model::find_blob(const Digest& d) const { return find_by_digest(blobs, d); }

std::int64_t Model::blob_index(const Digest& d) const {
  const BlobRecord* b = find_blob(d);
  return b ? b - blobs.data() : -1;
}

const ManifestRecord* Model::find_manifest(const Digest& d) const { return find_by_digest(manifests, d); }

std::vector<const Finding*> Model::blind_spots() const {
  std::vector<const Finding*> out;
  for (const Finding& f : findings)
    if (is_blind_spot(f)) out.push_back(&f);
  return out;
}

}  // namespace regsweep::storage
