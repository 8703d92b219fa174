#include "regsweep/util/text.h"

#include <atomic>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace regsweep::util {

namespace {

// Number -> string: chunks of 1024 pointers, made as they are needed; the table of chunks is
// zero pages until used. A number is read without the lock: whoever holds one got it from
// intern(), after its entry was written.
constexpr unsigned kChunkBits = 10;
constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
constexpr std::uint32_t kChunks = 1u << 22;

struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
};

struct Pool {
  std::mutex mutex;
  std::deque<std::string> strings;  // a string's address never changes once it is in
  std::unordered_map<std::string_view, std::uint32_t, Hash, std::equal_to<>> numbers;
};

// Zero-initialized static storage: pages the system gives only once a chunk is written.
std::atomic<const std::string**> chunks[kChunks];

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: a Text may outlive every static
  return *p;
}

const std::string kEmpty;

}  // namespace

std::uint32_t Text::intern(std::string_view value) {
  if (value.empty()) return 0;
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  if (auto it = p.numbers.find(value); it != p.numbers.end()) return it->second;
  const std::size_t n = p.strings.size() + 1;  // 0 is ""
  if (n >= std::size_t(kChunks) * kChunkSize) throw std::length_error("too many distinct strings");
  const auto id = static_cast<std::uint32_t>(n);
  std::atomic<const std::string**>& chunk = chunks[id >> kChunkBits];
  if (!chunk.load(std::memory_order_relaxed)) chunk.store(new const std::string*[kChunkSize](), std::memory_order_release);
  const std::string& stored = p.strings.emplace_back(value);
  chunk.load(std::memory_order_relaxed)[id & (kChunkSize - 1)] = &stored;
  p.numbers.emplace(stored, id);
  return id;
}

const std::string& Text::lookup(std::uint32_t id) noexcept {
  if (id == 0) return kEmpty;
  return *chunks[id >> kChunkBits].load(std::memory_order_acquire)[id & (kChunkSize - 1)];
}

}  // namespace regsweep::util
