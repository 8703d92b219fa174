#include "regsweep/util/text.h"

#include <mutex>
#include <unordered_set>

namespace regsweep::util {

namespace {

struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
};

struct Pool {
  std::mutex mutex;
  // Node-based: a string's address never changes once it is in.
  std::unordered_set<std::string, Hash, std::equal_to<>> strings;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: a Text may outlive every static
  return *p;
}

}  // namespace

const std::string& Text::empty_string() noexcept {
  static const std::string* empty = &intern(std::string_view());
  return *empty;
}

const std::string& Text::intern(std::string_view value) {
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  auto it = p.strings.find(value);
  if (it == p.strings.end()) it = p.strings.emplace(value).first;
  return *it;
}

}  // namespace regsweep::util
