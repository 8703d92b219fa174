#pragma once

#include <cstdint>

namespace regsweep::util {

// The one source of regsweep's "now" (nanoseconds since the Unix epoch, wall clock): every
// age (--min-age, --older-than, --uploads-older-than, trash empty --older-than, stale uploads)
// is measured from it. Test builds (-Dtest_hooks=true) add REGSWEEP_TEST_CLOCK_OFFSET seconds
// (a signed integer) so that the suites can run years ahead and catch an expectation that
// depends on the calendar (tests/README.md, "Time").
std::int64_t now_ns();

// Nanoseconds in a second: times are nanoseconds since the epoch, ages and options seconds.
inline constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

}  // namespace regsweep::util
