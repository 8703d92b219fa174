// libFuzzer target: link files (storage/link.h) and the digest they hold (util/digest.h).
// Properties: a link parses iff its content is exactly "sha256:<64 lowercase hex>", the
// parsed digest formats back to the same 71 bytes, the finding kind fits the content, and
// Digest::from_hex round-trips.
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "regsweep/storage/link.h"
#include "regsweep/util/digest.h"
#include "regsweep/util/hex.h"

using namespace regsweep;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::as_text(data, size);

  storage::LinkParse link = storage::parse_link(text);
  bool strict = text.size() == kLinkFileSize && text.starts_with(kSha256Prefix) &&
                util::is_lower_hex(text.substr(kSha256Prefix.size()));
  FUZZ_CHECK(link.ok() == strict);
  if (link.ok()) {
    FUZZ_CHECK(link.digest->str() == text);
    FUZZ_CHECK(link.digest->hex() == text.substr(kSha256Prefix.size()));
    FUZZ_CHECK(link.digest->prefix() == text.substr(kSha256Prefix.size(), 2));
    FUZZ_CHECK(Digest::parse(link.digest->str()) == link.digest);
  } else {
    FUZZ_CHECK((link.problem == storage::FindingKind::LinkEmpty) == text.empty());
    FUZZ_CHECK(link.problem == storage::FindingKind::LinkEmpty || link.problem == storage::FindingKind::LinkMalformed ||
               link.problem == storage::FindingKind::LinkWrongAlgorithm);
    if (link.problem == storage::FindingKind::LinkWrongAlgorithm) {
      // "<algorithm>:<encoded>", some algorithm other than sha256.
      auto colon = text.find(':');
      FUZZ_CHECK(colon != std::string_view::npos && colon > 0 && colon + 1 < text.size());
      FUZZ_CHECK(text.substr(0, colon) != "sha256");
    }
  }
  FUZZ_CHECK(Digest::parse(text).has_value() == link.ok());

  // The bare hex form (blob folder names).
  std::optional<Digest> hex = Digest::from_hex(text);
  FUZZ_CHECK(hex.has_value() == (text.size() == 64 && util::is_lower_hex(text)));
  if (hex) {
    FUZZ_CHECK(hex->hex() == text);
    FUZZ_CHECK(hex->str() == std::string(kSha256Prefix) + std::string(text));
  }
  return 0;
}
