#include "regsweep/storage/model.h"

#include <algorithm>
#include <cstring>

namespace regsweep::storage {

namespace {

// The first 8 bytes of a digest as a number, in the digests' order.
std::uint64_t leading_bits(const Digest& d) {
  std::uint64_t v;
  std::memcpy(&v, d.bytes.data(), sizeof v);
  return __builtin_bswap64(v);  // big-endian: the bytes' order is the number's
}

// a < b, from their first 8 bytes where they differ there (almost always: no call to memcmp).
bool digest_less(const Digest& a, std::uint64_t b_leading, const Digest& b) {
  const std::uint64_t a_leading = leading_bits(a);
  return a_leading != b_leading ? a_leading < b_leading : a < b;
}

// In a vector sorted by digest. SHA-256 values are spread evenly, so the position is guessed
// from the value and corrected once from the value found there; a gallop from that guess
// then brackets the digest for a binary search. On a million blobs that is a few nearby
// probes where a binary search makes twenty cache misses (the 1M-file marking was
// superlinear for it). Digests made up to bunch together (a hostile store) cost a gallop
// and a halving: O(log n), as before.
template <typename Vec>
auto find_by_digest(const Vec& v, const Digest& d) -> decltype(&v[0]) {
  const std::size_t n = v.size();
  if (n == 0) return nullptr;
  using Wide = unsigned __int128;
  const std::uint64_t key = leading_bits(d);
  std::size_t at = static_cast<std::size_t>((static_cast<Wide>(key) * n) >> 64);
  // The keys are about n / 2^64 apart: move by what separates the key from the one found.
  const std::uint64_t found = leading_bits(v[at].digest);
  auto below = [&](std::size_t i) { return digest_less(v[i].digest, key, d); };  // v[i] < d
  const std::size_t shift = static_cast<std::size_t>((static_cast<Wide>(key > found ? key - found : found - key) * n) >> 64);
  at = key > found ? std::min(n - 1, at + shift) : at - std::min(at, shift);
  std::size_t lo, hi;  // the answer is in [lo, hi)
  if (below(at)) {
    std::size_t step = 1;
    lo = at + 1;
    while (lo + step <= n && below(lo + step - 1)) {
      lo += step;
      step *= 2;
    }
    hi = std::min(n, lo + step);
  } else {
    std::size_t step = 1;
    hi = at + 1;
    while (hi > step && !below(hi - step - 1)) {
      hi -= step;
      step *= 2;
    }
    lo = hi > step ? hi - step : 0;
  }
  while (lo < hi) {  // the first at or after d
    const std::size_t mid = lo + (hi - lo) / 2;
    if (below(mid))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && v[lo].digest == d ? &v[lo] : nullptr;
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
