#pragma once
#include <string>

namespace regsweep::cli {

// "regsweep 0.1.0", with " (git v0.1.0-12-gabc1234)" when built from a git checkout.
std::string version_text();

}  // namespace regsweep::cli
