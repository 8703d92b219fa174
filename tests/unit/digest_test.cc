#include <gtest/gtest.h>

#include "regsweep/util/digest.h"

namespace regsweep {

TEST(Digest, RoundTrip) {
  std::string text = "sha256:" + std::string(64, 'a');
  auto d = Digest::parse(text);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->str(), text);
  EXPECT_EQ(d->prefix(), "aa");
}

}  // namespace regsweep
