// util/reference: image references and repository names as users type them on the command
// line (`regsweep rm myregistry:5000/team/app:v1`, `--repository team/app`).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "regsweep/error.h"
#include "regsweep/util/reference.h"

namespace regsweep {
namespace {

using util::ImageReference;
using util::parse_image_reference;
using util::parse_repository_name;

const std::string kHex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string kDigest = "sha256:" + kHex;

// "repository|tag|digest" of a parsed reference: one string to compare.
std::string parsed(std::string_view text) {
  ImageReference r = parse_image_reference(text);
  return r.repository + "|" + r.tag + "|" + (r.digest ? r.digest->str() : "-");
}

// --- repo:tag and repo@digest ---------------------------------------------------------------

TEST(ParseImageReference, RepositoryAndTag) {
  ImageReference r = parse_image_reference("team/app:v1");
  EXPECT_EQ(r.repository, "team/app");
  EXPECT_EQ(r.tag, "v1");
  EXPECT_FALSE(r.digest);
  EXPECT_EQ(r.text(), "team/app:v1");
}

TEST(ParseImageReference, SingleComponentAndUnusualTags) {
  EXPECT_EQ(parsed("app:latest"), "app|latest|-");
  EXPECT_EQ(parsed("a/b/c:1.2.3-rc_1"), "a/b/c|1.2.3-rc_1|-");
  EXPECT_EQ(parsed("app:V1"), "app|V1|-");  // tags may have upper case, names may not
  EXPECT_EQ(parsed("my-team_x/app:_x"), "my-team_x/app|_x|-");
}

TEST(ParseImageReference, ByDigest) {
  ImageReference r = parse_image_reference("team/app@" + kDigest);
  EXPECT_EQ(r.repository, "team/app");
  EXPECT_EQ(r.tag, "");
  ASSERT_TRUE(r.digest);
  EXPECT_EQ(r.digest->hex(), kHex);
  EXPECT_EQ(r.text(), "team/app@" + kDigest);
}

// --- the registry host in front is dropped ---------------------------------------------------

TEST(ParseImageReference, HostIsDropped) {
  EXPECT_EQ(parsed("myregistry:5000/team/app:v1"), "team/app|v1|-");
  EXPECT_EQ(parsed("localhost/team/app:v1"), "team/app|v1|-");
  EXPECT_EQ(parsed("localhost:5000/app:v1"), "app|v1|-");
  EXPECT_EQ(parsed("registry.example.com/a:b"), "a|b|-");
  EXPECT_EQ(parsed("Registry.Example.COM/a:b"), "a|b|-");  // host names are case-insensitive
  EXPECT_EQ(parsed("127.0.0.1:5000/team/app@" + kDigest), "team/app||" + kDigest);
  EXPECT_EQ(parsed("[::1]:5000/app:v1"), "app|v1|-");
}

TEST(ParseImageReference, FirstComponentWithoutDotOrColonIsPartOfTheName) {
  EXPECT_EQ(parsed("team/app:v1"), "team/app|v1|-");
  EXPECT_EQ(parsed("localhostx/app:v1"), "localhostx/app|v1|-");
  EXPECT_EQ(parsed("team/sub/app:v1"), "team/sub/app|v1|-");
  EXPECT_EQ(parsed("localhost:v1"), "localhost|v1|-");  // nothing after it: a repository, not a host
}

// --- refusals ------------------------------------------------------------------------------

TEST(ParseImageReference, RefusesMalformed) {
  const std::vector<std::string> bad = {
      "",                              // empty
      "team/app",                      // no tag
      "myregistry:5000/team/app",      // no tag once the host is dropped
      "team/app:",                     // empty tag
      ":v1",                           // no repository
      "myregistry:5000/:v1",           // no repository once the host is dropped
      "team/../app:v1",                // ..
      "team/./app:v1",                 // .
      "/team/app:v1",                  // absolute
      "/etc/passwd:v1",                // absolute
      "team//app:v1",                  // empty component
      "team/app/:v1",                  // trailing slash
      "Team/app:v1",                   // upper case
      "team/App:v1",                   // upper case
      "team/app :v1",                  // space
      "team /app:v1",                  // space
      "team/app:v 1",                  // space in the tag
      "team/app:-v1",                  // tag must start with a word character
      "team/app:" + std::string(129, 'a'),  // tag too long
      "team/app@sha256:abc",           // short digest
      "team/app@sha256:" + std::string(64, 'A'),  // upper-case hex
      "team/app@md5:" + kHex,          // other algorithm
      "team/app@" + kHex,              // no algorithm
      "team/app@",                     // empty digest
      "team/app@" + kDigest + "\n",    // trailing garbage
      "@" + kDigest,                   // no repository
  };
  for (const std::string& text : bad) {
    SCOPED_TRACE("reference \"" + text + "\"");
    EXPECT_THROW(parse_image_reference(text), UsageError);
  }
}

TEST(ParseImageReference, RefusalNamesTheReference) {
  try {
    parse_image_reference("Team/app:v1");
    FAIL() << "accepted an upper-case name";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("Team/app:v1"), std::string::npos) << e.what();
    EXPECT_EQ(e.exit_code(), kExitUsage);
  }
}

TEST(ParseImageReference, DotDotIsNeverTakenForAHost) {
  // A first component with '.' or ':' is a host only when it is a valid host name.
  for (const std::string text : {"../app:v1", "../../etc:v1", "./app:v1", "..:5000/app:v1"}) {
    SCOPED_TRACE("reference \"" + text + "\"");
    EXPECT_THROW(parse_image_reference(text), UsageError);
  }
  EXPECT_THROW(parse_repository_name("../app"), UsageError);
}

// --- bare repository names (--repository) ----------------------------------------------------

TEST(ParseRepositoryName, AcceptsNamesAndDropsTheHost) {
  EXPECT_EQ(parse_repository_name("team/app"), "team/app");
  EXPECT_EQ(parse_repository_name("app"), "app");
  EXPECT_EQ(parse_repository_name("myregistry:5000/team/app"), "team/app");
  EXPECT_EQ(parse_repository_name("localhost/team/app"), "team/app");
  EXPECT_EQ(parse_repository_name("registry.example.com/a"), "a");
  EXPECT_EQ(parse_repository_name("a/b/c"), "a/b/c");
}

TEST(ParseRepositoryName, RefusesMalformed) {
  for (const std::string text : {"", "team/app:v1", "team/app@sha256:" /* digest */, "Team/app", "/team/app",
                                 "team/../app", "team//app", "team/app/", "team app", "myregistry:5000/"}) {
    SCOPED_TRACE("name \"" + text + "\"");
    EXPECT_THROW(parse_repository_name(text), UsageError);
  }
}

}  // namespace
}  // namespace regsweep
