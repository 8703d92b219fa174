// The streamed ListObjectsV2 reader: the same entries and envelope whatever the chunks, no
// entry twice after a retry, and a body that is not a listing refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/s3_listing.h"

namespace regsweep::test {
namespace {

// AWS's order: the envelope's fields first, then the keys, then the prefixes; a key with an
// escaped character and an ETag in &quot;.
const std::string kPage =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>b</Name><Prefix>r/</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>"
    "<IsTruncated>true</IsTruncated><NextContinuationToken>tok&amp;en</NextContinuationToken>"
    "<Contents><Key>r/a</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified>"
    "<ETag>&quot;e1&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>\n"
    "<Contents><Key>r/b&lt;c</Key><Size>22</Size></Contents>"
    "<CommonPrefixes><Prefix>r/d/</Prefix></CommonPrefixes>"
    "</ListBucketResult>";

struct Seen {
  std::vector<std::string> entries;
  void operator()(pugi::xml_node n) {
    std::string kind = n.name();
    entries.push_back(kind == "Contents" ? "key " + std::string(n.child_value("Key")) + " " + n.child_value("Size") + " " +
                                               n.child_value("ETag")
                                         : "prefix " + std::string(n.child_value("Prefix")));
  }
};

const std::vector<std::string> kExpected = {"key r/a 1 \"e1\"", "key r/b<c 22 ", "prefix r/d/"};

TEST(S3Listing, TheSameEntriesWhereverTheBodyIsCut) {
  for (std::size_t chunk : {std::size_t(1), std::size_t(2), std::size_t(7), std::size_t(64), kPage.size()}) {
    for (std::size_t first = 0; first < std::min(kPage.size(), std::size_t(120)); first += (chunk == 1 ? 1 : 13)) {
      Seen seen;
      storage::s3::ListingReader reader(seen);
      reader.feed(std::string_view(kPage).substr(0, first));
      for (std::size_t at = first; at < kPage.size(); at += chunk) reader.feed(std::string_view(kPage).substr(at, chunk));
      ASSERT_TRUE(reader.finish()) << "chunk " << chunk << " first " << first;
      EXPECT_EQ(seen.entries, kExpected) << "chunk " << chunk << " first " << first;
      EXPECT_TRUE(reader.truncated());
      EXPECT_EQ(reader.continuation_token(), "tok&en");
    }
  }
}

TEST(S3Listing, EntriesAreHandedOnBeforeTheBodyEnds) {
  Seen seen;
  storage::s3::ListingReader reader(seen);
  const std::size_t after_first = kPage.find("</Contents>") + std::string_view("</Contents>").size();
  reader.feed(std::string_view(kPage).substr(0, after_first));
  EXPECT_EQ(seen.entries, std::vector<std::string>{kExpected[0]});
}

TEST(S3Listing, ARetryDoesNotHandOnAnEntryTwice) {
  Seen seen;
  storage::s3::ListingReader reader(seen);
  // The first attempt is cut after its first key; the second brings the whole page.
  reader.feed(std::string_view(kPage).substr(0, kPage.find("<Contents><Key>r/b")));
  reader.restart();
  reader.feed(kPage);
  ASSERT_TRUE(reader.finish());
  EXPECT_EQ(seen.entries, kExpected);
  EXPECT_EQ(reader.continuation_token(), "tok&en");
}

TEST(S3Listing, TheEnvelopeMayComeAfterTheEntries) {
  // RGW and MinIO put fields after the keys, and a field may sit between two entries.
  const std::string page =
      "<ListBucketResult><Contents><Key>a</Key></Contents><NextContinuationToken>t</NextContinuationToken>"
      "<Contents><Key>b</Key></Contents><IsTruncated>false</IsTruncated></ListBucketResult>";
  Seen seen;
  storage::s3::ListingReader reader(seen);
  for (char c : page) reader.feed(std::string_view(&c, 1));
  ASSERT_TRUE(reader.finish());
  EXPECT_EQ(seen.entries, (std::vector<std::string>{"key a  ", "key b  "}));
  EXPECT_FALSE(reader.truncated());
  EXPECT_EQ(reader.continuation_token(), "t");
}

TEST(S3Listing, WhatIsNotAListingIsRefused) {
  for (std::string body : {std::string("<html><body>hello</body></html>"), std::string("not xml at all"),
                           std::string("<ListBucketResult><Contents><Key>a</Key></Contents"),
                           std::string("<ListBucketResult><Contents><Key>a</Ke></Contents></ListBucketResult>"), std::string()}) {
    Seen seen;
    storage::s3::ListingReader reader(seen);
    reader.feed(body);
    EXPECT_FALSE(reader.finish()) << body;
  }
}

}  // namespace
}  // namespace regsweep::test
