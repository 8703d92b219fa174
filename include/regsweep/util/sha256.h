#pragma once
#include <array>
#include <string>
#include <string_view>

#include "regsweep/util/digest.h"

namespace regsweep::util {

// SHA-256 of an in-memory buffer (OpenSSL EVP).
Digest sha256(std::string_view data);

// MD5, only to compare content with what S3 says of it (Content-MD5, a single-part ETag).
std::array<unsigned char, 16> md5(std::string_view data);
std::string md5_hex(std::string_view data);  // 32 lowercase hex characters

// SHA-256 fed piece by piece (a blob streamed from disk).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(std::string_view data);
  Digest finish();  // then ready for the next input

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace regsweep::util
