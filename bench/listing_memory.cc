// listing-memory: what the walk of a store of keys (S3) holds, per key: the model, and the peak
// of the walk above it (the folders' listings in memory while they are walked,
// storage/listed_dir.cc). The keys are those of a filesystem-driver
// root (bench/gen_store.py), copied with their content and mtime into an in-memory bucket
// (tests/unit/fake_key_store.h); heap bytes are counted by replacing operator new.
//
//   meson compile -C build-rel listing-memory && build-rel/listing-memory ROOT [JOBS]
#include <malloc.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>

#include "fake_key_store.h"
#include "regsweep/storage/walker.h"
#include "regsweep/util/progress.h"

namespace {

std::atomic<std::int64_t> g_in_use{0}, g_peak{0};

void* counted(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  std::int64_t now = g_in_use += static_cast<std::int64_t>(malloc_usable_size(p));
  for (std::int64_t peak = g_peak.load(); now > peak && !g_peak.compare_exchange_weak(peak, now);) {
  }
  return p;
}

void release(void* p) noexcept {
  if (!p) return;
  g_in_use -= static_cast<std::int64_t>(malloc_usable_size(p));
  std::free(p);
}

}  // namespace

void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace regsweep;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ROOT [JOBS]\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  const unsigned jobs = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 4;
  test::FakeKeyStore bucket;
  for (const auto& e : fs::recursive_directory_iterator(root / "docker")) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    struct stat st {};
    ::stat(e.path().c_str(), &st);
    bucket.objects()[fs::relative(e.path(), root).string()] =
        test::FakeKeyStore::Object{content.str(), st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec};
  }
  const double keys = static_cast<double>(bucket.objects().size());
  const double mb = 1024.0 * 1024.0;

  std::int64_t base = g_in_use.load();
  g_peak = base;
  storage::Model model = storage::walk_storage(bucket, storage::WalkOptions{jobs, &util::no_progress()});
  const std::int64_t held = g_in_use.load() - base, peak = g_peak.load() - base;
  std::printf("walk of %.0f keys: %zu blobs, %zu repositories; model %.1f MiB (%.1f bytes per key), peak of the walk %.1f MiB, "
              "%.1f bytes per key above the model\n",
              keys, model.blobs.size(), model.repositories.size(), held / mb, held / keys, peak / mb, (peak - held) / keys);
  return 0;
}
