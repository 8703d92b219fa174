#include "regsweep/storage/verify.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>

#include "regsweep/error.h"
#include "regsweep/storage/layout.h"
#include "regsweep/util/parallel.h"
#include "regsweep/util/sha256.h"

namespace regsweep::storage {

namespace {
constexpr std::size_t kBufferBytes = 4u << 20;  // large reads: the disk, not syscalls, sets the pace
}

VerifyResult verify_blobs(Store& store, const Model& model, unsigned jobs, util::Progress& progress) {
  std::vector<const BlobRecord*> order;
  for (const BlobRecord& b : model.blobs)
    if (b.has_data) order.push_back(&b);
  std::stable_sort(order.begin(), order.end(), [](const BlobRecord* a, const BlobRecord* b) { return a->size > b->size; });

  jobs = std::max(1u, jobs);
  std::vector<VerifyResult> per_worker(jobs);
  std::vector<std::unique_ptr<char[]>> buffers(jobs);
  const auto start = std::chrono::steady_clock::now();
  progress.phase("hashing blobs");
  util::parallel_for(order.size(), jobs, [&](unsigned w, std::size_t i) {
    const BlobRecord& blob = *order[i];
    if (!buffers[w]) buffers[w] = std::make_unique<char[]>(kBufferBytes);
    util::Sha256Stream hash;
    std::uint64_t read = 0;
    const std::string rel = layout::blob_data(blob.digest);
    ReadResult r = store.read_chunks(rel, buffers[w].get(), kBufferBytes, [&](std::string_view piece) {
      hash.update(piece);
      read += piece.size();
      progress.advance(0, piece.size());
    });
    progress.advance(1);
    VerifyResult& out = per_worker[w];
    ++out.files;
    out.bytes += read;
    if (!r.ok()) {
      std::string why = r.status == ReadStatus::NotRegular ? "not a regular file"
                        : r.status == ReadStatus::Missing  ? "gone while verifying"
                                                           : std::string("read error: ") + std::strerror(r.error);
      out.unreadable.push_back({blob.digest, store.locate(rel), rel, why});
      return;
    }
    Digest actual = hash.finish();
    if (actual != blob.digest) out.corrupt.push_back({blob.digest, actual});
  });
  progress.done();

  VerifyResult result;
  for (VerifyResult& w : per_worker) {
    result.files += w.files;
    result.bytes += w.bytes;
    result.corrupt.insert(result.corrupt.end(), w.corrupt.begin(), w.corrupt.end());
    result.unreadable.insert(result.unreadable.end(), w.unreadable.begin(), w.unreadable.end());
  }
  std::sort(result.corrupt.begin(), result.corrupt.end(), [](const auto& a, const auto& b) { return a.digest < b.digest; });
  std::sort(result.unreadable.begin(), result.unreadable.end(), [](const auto& a, const auto& b) { return a.digest < b.digest; });
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace regsweep::storage
