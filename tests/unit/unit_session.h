#pragma once
// Session options for unit tests: a real run (not a dry run) that does not look in /proc for
// a registry serving the storage (force; on a store of keys, the operator's statement that
// none serves it), at a fixed "now".
#include <string>

#include "regsweep/apply/session.h"

namespace regsweep::test {

inline apply::SessionOptions unit_session_options(std::int64_t now_ns, std::string command_line) {
  apply::SessionOptions o;
  o.force = true;
  o.registry_stopped = true;
  o.now_ns = now_ns;
  o.command_line = std::move(command_line);
  return o;
}

}  // namespace regsweep::test
