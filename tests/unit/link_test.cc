// storage/link: "sha256:<64 lowercase hex>", 71 bytes, nothing else.
#include <gtest/gtest.h>

#include "regsweep/storage/link.h"
#include "regsweep/util/sha256.h"

namespace regsweep::storage {
namespace {

TEST(Link, Valid) {
  Digest d = util::sha256("layer");
  std::string content = d.str();
  ASSERT_EQ(content.size(), kLinkFileSize);
  LinkParse p = parse_link(content);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p.digest, d);
}

TEST(Link, Empty) {
  LinkParse p = parse_link("");
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(p.problem, FindingKind::LinkEmpty);
}

TEST(Link, Garbage) {
  for (const char* content : {"garbage", "\x01\x02\x03", "sha256", "sha256:", "sha256:abc", ":"}) {
    LinkParse p = parse_link(content);
    EXPECT_FALSE(p.ok()) << content;
    EXPECT_EQ(p.problem, FindingKind::LinkMalformed) << content;
  }
}

TEST(Link, UpperCaseHexIsMalformed) {
  std::string hex = util::sha256("x").hex();
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  LinkParse p = parse_link("sha256:" + hex);
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(p.problem, FindingKind::LinkMalformed);
}

TEST(Link, OtherAlgorithm) {
  LinkParse p = parse_link("sha512:" + std::string(128, 'a'));
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(p.problem, FindingKind::LinkWrongAlgorithm);
  EXPECT_EQ(parse_link("sha384:" + std::string(96, 'b')).problem, FindingKind::LinkWrongAlgorithm);
}

TEST(Link, TrailingNewlineIsRefused) {
  // The registry's own parser rejects it; accepting it would hide a hand-edited link.
  LinkParse p = parse_link(util::sha256("layer").str() + "\n");
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(p.problem, FindingKind::LinkMalformed);
  EXPECT_FALSE(parse_link(util::sha256("layer").str() + " ").ok());
  EXPECT_FALSE(parse_link(" " + util::sha256("layer").str()).ok());
}

TEST(Link, GarbageWithAColonIsNotAnotherAlgorithm) {
  EXPECT_EQ(parse_link("not a link: garbage").problem, FindingKind::LinkMalformed);
  EXPECT_EQ(parse_link("http://example").problem, FindingKind::LinkMalformed);
}

}  // namespace
}  // namespace regsweep::storage
