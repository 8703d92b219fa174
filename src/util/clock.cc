#include "regsweep/util/clock.h"

#include <chrono>
#include <cstdlib>

namespace regsweep::util {

namespace {
std::int64_t test_offset_ns() {
#ifdef REGSWEEP_TEST_HOOKS
  static const std::int64_t offset = [] {
    const char* v = std::getenv("REGSWEEP_TEST_CLOCK_OFFSET");
    return v ? std::strtoll(v, nullptr, 10) * 1'000'000'000LL : 0LL;
  }();
  return offset;
#else
  return 0;
#endif
}
}  // namespace

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
         test_offset_ns();
}

}  // namespace regsweep::util
