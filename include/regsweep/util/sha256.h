#pragma once
#include <string_view>

#include "regsweep/util/digest.h"

namespace regsweep::util {

// SHA-256 of an in-memory buffer (OpenSSL EVP).
Digest sha256(std::string_view data);

}  // namespace regsweep::util
