// online/: the WWW-Authenticate parser, Link paging and its loop guard, and where credentials
// come from (options, REGISTRY_PASSWORD, Docker's config.json and its credential helpers),
// with a made-up environment and real temporary files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "regsweep/error.h"
#include "regsweep/util/sha256.h"
#include "regsweep/online/challenge.h"
#include "regsweep/online/credentials.h"
#include "regsweep/online/execute.h"
#include "regsweep/online/paging.h"
#include "regsweep/online/registry_client.h"

namespace regsweep::online {
namespace {

namespace fs = std::filesystem;

// --- WWW-Authenticate -------------------------------------------------------------------------

TEST(WwwAuthenticate, BearerAsDistributionSendsIt) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull,delete")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].realm, "https://auth.example/token");
  EXPECT_EQ(c[0].service, "registry.example");
  EXPECT_EQ(c[0].scope, "repository:team/app:pull,delete");  // the comma inside quotes stays
  EXPECT_EQ(c[0].error, "");
}

TEST(WwwAuthenticate, InsufficientScopeAndSpacesAndCase) {
  auto c = parse_www_authenticate(
      R"(BEARER  Realm = "http://127.0.0.1:5001/auth" , Service="reg" ,scope="registry:catalog:*", error="insufficient_scope")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].realm, "http://127.0.0.1:5001/auth");
  EXPECT_EQ(c[0].service, "reg");
  EXPECT_EQ(c[0].scope, "registry:catalog:*");
  EXPECT_EQ(c[0].error, "insufficient_scope");
}

TEST(WwwAuthenticate, BasicAndSeveralChallengesAndEscapes) {
  auto c = parse_www_authenticate(R"(Basic realm="Registry \"Realm\"", Bearer realm=https://a/token,service=s)");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].realm, "Registry \"Realm\"");
  ASSERT_NE(find_challenge(c, "bearer"), nullptr);
  EXPECT_EQ(find_challenge(c, "bearer")->realm, "https://a/token");  // a token value, unquoted
  EXPECT_EQ(find_challenge(c, "bearer")->service, "s");
  EXPECT_EQ(find_challenge(c, "digest"), nullptr);
}

TEST(WwwAuthenticate, NotAChallenge) {
  EXPECT_TRUE(parse_www_authenticate("").empty());
  EXPECT_TRUE(parse_www_authenticate("  ,  ").empty());
  EXPECT_TRUE(parse_www_authenticate("\"quoted\"").empty());
}

// --- Link and paging ---------------------------------------------------------------------------

TEST(Link, NextOfTheRegistry) {
  EXPECT_EQ(next_link_target(R"(</v2/_catalog?last=team%2Fapp&n=100>; rel="next")"), "/v2/_catalog?last=team%2Fapp&n=100");
  EXPECT_EQ(next_link_target(R"(</v2/a/tags/list?n=2&last=b>; rel=next)"), "/v2/a/tags/list?n=2&last=b");
  EXPECT_EQ(next_link_target(R"(</first>; rel="prev", </second>; rel="next last")"), "/second");
  EXPECT_EQ(next_link_target(R"(</p>; REL="Next")"), "/p");
  EXPECT_EQ(next_link_target(R"(</p>; rel="prev")"), std::nullopt);
  EXPECT_EQ(next_link_target(""), std::nullopt);
  EXPECT_EQ(next_link_target("garbage <unclosed"), std::nullopt);
}

TEST(Link, ResolvedOnTheRegistryOnly) {
  EXPECT_EQ(resolve_link("https://reg:5000", "/v2/_catalog?n=1&last=a"), "https://reg:5000/v2/_catalog?n=1&last=a");
  EXPECT_EQ(resolve_link("https://reg:5000", "https://reg:5000/v2/x"), "https://reg:5000/v2/x");
  EXPECT_THROW(resolve_link("https://reg:5000", "https://evil.example/v2/x"), Error);
  EXPECT_THROW(resolve_link("https://reg:5000", "https://reg:50001/v2/x"), Error);  // not a prefix match
  EXPECT_THROW(resolve_link("https://reg:5000", "//evil.example/v2"), Error);
  EXPECT_THROW(resolve_link("https://reg:5000", "v2/relative"), Error);
}

TEST(Link, ALoopIsAnErrorNamingTheUrl) {
  PageTrail trail("https://r/v2/_catalog?n=2");
  trail.advance("https://r/v2/_catalog?n=2&last=b");
  trail.advance("https://r/v2/_catalog?n=2&last=d");
  EXPECT_EQ(trail.pages(), 3u);
  try {
    trail.advance("https://r/v2/_catalog?n=2&last=b");
    FAIL() << "a loop was followed";
  } catch (const Error& e) {
    EXPECT_EQ(e.path(), "https://r/v2/_catalog?n=2&last=b");
    EXPECT_NE(std::string(e.what()).find("loops"), std::string::npos);
  }
  EXPECT_THROW(PageTrail("https://r/a").advance("https://r/a"), Error);  // a page that names itself
}

// --- The --registry URL ------------------------------------------------------------------------

TEST(RegistryUrl, SchemeAndHostOnly) {
  EXPECT_EQ(registry_host("https://Registry.Example:5000/"), "registry.example:5000");
  EXPECT_EQ(registry_host("http://127.0.0.1:5000"), "127.0.0.1:5000");
  EXPECT_THROW(registry_host("registry.example:5000"), UsageError);
  EXPECT_THROW(registry_host("https://registry.example/v2/"), UsageError);
  EXPECT_THROW(registry_host("https://user:pw@registry.example"), UsageError);
  EXPECT_THROW(registry_host("ftp://registry.example"), UsageError);
}

// --- base64 (OpenSSL) --------------------------------------------------------------------------

TEST(Base64, RoundTripsAndPadding) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "user:pass word:with:colons"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s) << s;
  }
  EXPECT_EQ(base64_encode("alice:secret"), "YWxpY2U6c2VjcmV0");
  EXPECT_EQ(base64_decode("YQ=="), "a");
  EXPECT_EQ(base64_decode("not base64!"), std::nullopt);
  EXPECT_EQ(base64_decode("abc"), std::nullopt);
}

// --- Credentials -------------------------------------------------------------------------------

using OnlineEnv = std::map<std::string, std::string>;

std::optional<std::string> online_env_lookup(const char* name, const void* context) {
  const OnlineEnv& env = *static_cast<const OnlineEnv*>(context);
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("regsweep-online-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    env_["DOCKER_CONFIG"] = dir_.string();
    sources_.env = online_env_lookup;
    sources_.env_context = &env_;
    sources_.read_stdin = [] { return std::string("from-stdin"); };
    sources_.prompt_password = [] { return std::string("from-prompt"); };
    sources_.run_helper = [this](const std::string& program, const std::string& input) {
      helper_calls_.push_back(program + " <" + input);
      return helper_result_;
    };
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write_config(const std::string& text) { std::ofstream(dir_ / "config.json") << text; }

  fs::path dir_;
  OnlineEnv env_;
  CredentialSources sources_;
  HelperResult helper_result_;
  std::vector<std::string> helper_calls_;
};

TEST_F(CredentialsTest, UserWithEachPasswordSource) {
  Credentials c = resolve_credentials({"alice", false, true}, "reg:5000", sources_);
  EXPECT_EQ(c.username, "alice");
  EXPECT_EQ(c.password, "from-stdin");
  EXPECT_EQ(c.source, "-u with --password-stdin");
  c = resolve_credentials({"alice", true, false}, "reg:5000", sources_);
  EXPECT_EQ(c.password, "from-prompt");
  env_["REGISTRY_PASSWORD"] = "from-env";
  c = resolve_credentials({"alice", false, false}, "reg:5000", sources_);
  EXPECT_EQ(c.password, "from-env");
  EXPECT_EQ(c.source, "-u with REGISTRY_PASSWORD");
  // An explicit way wins over the variable.
  EXPECT_EQ(resolve_credentials({"alice", false, true}, "reg:5000", sources_).password, "from-stdin");
}

TEST_F(CredentialsTest, UsageMistakes) {
  EXPECT_THROW(resolve_credentials({"alice", true, true}, "reg:5000", sources_), UsageError);
  EXPECT_THROW(resolve_credentials({"", false, true}, "reg:5000", sources_), UsageError);
  EXPECT_THROW(resolve_credentials({"", true, false}, "reg:5000", sources_), UsageError);
  try {
    resolve_credentials({"alice", false, false}, "reg:5000", sources_);  // no password anywhere
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.hint()).find("REGISTRY_PASSWORD"), std::string::npos);
  }
  sources_.read_stdin = [] { return std::string(); };
  EXPECT_THROW(resolve_credentials({"alice", false, true}, "reg:5000", sources_), UsageError);
}

TEST_F(CredentialsTest, RegistryPasswordAloneIsNotAUser) {
  env_["REGISTRY_PASSWORD"] = "from-env";  // as the seed tool: it goes with -u
  EXPECT_FALSE(resolve_credentials({}, "reg:5000", sources_).present());
}

TEST_F(CredentialsTest, DockerConfigAuths) {
  write_config(R"({"auths": {"https://other:5000/v1/": {"auth": "b3RoZXI6eA=="},
                            "https://REG:5000": {"auth": ")" + base64_encode("bob:s3cr:et") + R"("}}})");
  Credentials c = resolve_credentials({}, "reg:5000", sources_);
  EXPECT_EQ(c.username, "bob");
  EXPECT_EQ(c.password, "s3cr:et");  // split at the first colon only
  EXPECT_EQ(c.source, (dir_ / "config.json").string());
  EXPECT_FALSE(resolve_credentials({}, "unknown:5000", sources_).present());
  EXPECT_EQ(auth_key_host("https://index.docker.io/v1/"), "index.docker.io");
}

TEST_F(CredentialsTest, DockerConfigFoundThroughHome) {
  env_.erase("DOCKER_CONFIG");
  env_["HOME"] = dir_.string();
  fs::create_directories(dir_ / ".docker");
  std::ofstream(dir_ / ".docker" / "config.json") << R"({"auths": {"reg:5000": {"auth": ")" + base64_encode("carol:pw") + R"("}}})";
  EXPECT_EQ(resolve_credentials({}, "reg:5000", sources_).username, "carol");
}

TEST_F(CredentialsTest, BadConfigNamesTheFileNotTheSecret) {
  write_config(R"({"auths": {"reg:5000": {"auth": "bm8tY29sb24taGVyZQ=="}}})");  // "no-colon-here"
  try {
    resolve_credentials({}, "reg:5000", sources_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.path(), (dir_ / "config.json").string());
    EXPECT_EQ(std::string(e.what()).find("no-colon-here"), std::string::npos);
  }
  write_config("not json");
  EXPECT_THROW(resolve_credentials({}, "reg:5000", sources_), Error);
  fs::remove(dir_ / "config.json");
  EXPECT_FALSE(resolve_credentials({}, "reg:5000", sources_).present());  // no file: anonymous
}

TEST_F(CredentialsTest, CredentialHelpers) {
  helper_result_ = {0, R"({"ServerURL":"reg:5000","Username":"dave","Secret":"helper-secret"})"};
  write_config(R"({"credsStore": "pass", "credHelpers": {"reg:5000": "ecr-login"},
                   "auths": {"reg:5000": {"auth": ")" + base64_encode("ignored:x") + R"("}}})");
  Credentials c = resolve_credentials({}, "reg:5000", sources_);
  EXPECT_EQ(c.username, "dave");
  EXPECT_EQ(c.password, "helper-secret");
  ASSERT_EQ(helper_calls_.size(), 1u);
  EXPECT_EQ(helper_calls_[0], "docker-credential-ecr-login <reg:5000");  // credHelpers first
  resolve_credentials({}, "other:1", sources_);
  EXPECT_EQ(helper_calls_.back(), "docker-credential-pass <other:1");  // then credsStore
  helper_result_ = {1, "credentials not found in native keychain\n"};
  EXPECT_FALSE(resolve_credentials({}, "other:1", sources_).present());
  helper_result_ = {1, "the keyring is locked\n"};
  EXPECT_THROW(resolve_credentials({}, "other:1", sources_), Error);
  helper_result_ = {0, "garbage"};
  EXPECT_THROW(resolve_credentials({}, "other:1", sources_), Error);
  // -u overrides the config entirely: no helper runs.
  helper_calls_.clear();
  env_["REGISTRY_PASSWORD"] = "pw";
  EXPECT_EQ(resolve_credentials({"erin", false, false}, "reg:5000", sources_).username, "erin");
  EXPECT_TRUE(helper_calls_.empty());
}

TEST_F(CredentialsTest, AMissingHelperIsAnError) {
  CredentialSources real = sources_;
  real.run_helper = nullptr;  // posix_spawnp of a program that does not exist
  write_config(R"({"credsStore": "regsweep-test-no-such-helper"})");
  try {
    resolve_credentials({}, "reg:5000", real);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("docker-credential-regsweep-test-no-such-helper"), std::string::npos);
  }
}

// --- Online runs: the state folder, and which plans the API can carry out -------------------------

TEST(OnlineReference, HostAsDockerTellsIt) {
  EXPECT_EQ(reference_host("myregistry:5000/team/app:v1"), "myregistry:5000");
  EXPECT_EQ(reference_host("Registry.Example/app@sha256:00"), "registry.example");
  EXPECT_EQ(reference_host("localhost/app:1"), "localhost");
  EXPECT_EQ(reference_host("team/app:v1"), "");
  EXPECT_EQ(reference_host("app:v1"), "");
}

TEST(OnlineState, FolderPerRegistry) {
  EXPECT_EQ(state_folder("registry.example:5000", "", "/x/state", "/home/u"), "/x/state/regsweep/registry.example_5000");
  EXPECT_EQ(state_folder("registry.example", "", "", "/home/u"), "/home/u/.local/state/regsweep/registry.example");
  // XDG says a relative XDG_STATE_HOME is to be ignored.
  EXPECT_EQ(state_folder("h:1", "", "relative", "/home/u"), "/home/u/.local/state/regsweep/h_1");
  EXPECT_EQ(state_folder("h:1", "/my/state", "/x", "/home/u"), "/my/state");
  EXPECT_THROW(state_folder("h:1", "", "", ""), UsageError);
}

TEST(OnlinePlan, DeletesByDigestWithTheirTags) {
  const Digest d = util::sha256("a"), other = util::sha256("b");
  plan::Plan p;
  p.actions.push_back(plan::remove_tag("team/app", "v1", d, "requested"));
  p.actions.push_back(plan::remove_revision("team/app", d, false, "requested"));
  EXPECT_NO_THROW(check_online_plan(p));
  // A tag whose digest stays needs 3.x's DELETE by tag.
  p.actions.push_back(plan::remove_tag("team/app", "v2", other, "untag"));
  try {
    check_online_plan(p);
    FAIL() << "an untag was accepted online";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("registry 2.8 has no DELETE by tag"), std::string::npos) << e.what();
    EXPECT_EQ(e.path(), "team/app:v2");
  }
  // The same digest in another repository is another manifest.
  plan::Plan q;
  q.actions.push_back(plan::remove_tag("team/web", "v1", d, "requested"));
  q.actions.push_back(plan::remove_revision("team/app", d, false, "requested"));
  EXPECT_THROW(check_online_plan(q), UsageError);
  // Nothing the API cannot do: a blob, a whole revision folder's parts, a repository.
  plan::Plan r;
  r.actions.push_back(plan::remove_blob(d, "gc", 10));
  EXPECT_THROW(check_online_plan(r), UsageError);
  plan::Plan s;
  s.actions.push_back(plan::remove_repository_part("team/app", "_manifests", "rm --repository"));
  EXPECT_THROW(check_online_plan(s), UsageError);
  // A repository name from a registry's catalog becomes a key of the state folder: never a path.
  plan::Plan t;
  t.actions.push_back(plan::remove_revision("../../etc", d, false, "requested"));
  EXPECT_THROW(check_online_plan(t), Error);
}

TEST(OnlinePlan, TrashKeysStayInTheRunFolder) {
  const Digest d = util::sha256("a");
  EXPECT_EQ(trashed_manifest_meta("R1", "team/app", d), ".regsweep/trash/R1/online/team/app/" + d.hex() + ".json");
  EXPECT_EQ(trashed_manifest_body("R1", "team/app", d), ".regsweep/trash/R1/online/team/app/" + d.hex() + ".manifest");
}

}  // namespace
}  // namespace regsweep::online
