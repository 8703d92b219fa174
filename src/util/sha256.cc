#include "regsweep/util/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace regsweep::util {

Digest sha256(std::string_view data) {
  Digest d;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), d.bytes.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != d.bytes.size())
    throw std::runtime_error("OpenSSL EVP_Digest(sha256) failed");
  return d;
}

}  // namespace regsweep::util
