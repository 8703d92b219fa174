// --protect: the list's forms (kubectl's image and imageID output among them), what it protects
// in a model (a tag's digest, index children, referrers), and the refusal naming the line.
#include <gtest/gtest.h>

#include "regsweep/error.h"
#include "regsweep/plan/protect.h"

namespace regsweep::test {
namespace {

using plan::ProtectEntry;

Digest d(char c) { return *Digest::from_hex(std::string(64, c)); }
std::string hex(char c) { return std::string(64, c); }

TEST(Protect, EveryFormOfTheList) {
  const std::string text =
      "# pods of prod\n"
      "team/app:v1 registry.example:5000/team/web:2.0   library/nginx\n"
      "docker-pullable://registry.example:5000/team/db@sha256:" + hex('a') + "\n"
      "registry.example:5000/team/api:1.2@sha256:" + hex('b') + "  # a tag and the digest it ran\n"
      "sha256:" + hex('c') + "\n\n";
  const std::vector<ProtectEntry> got = plan::parse_protect_list(text, "pods.txt");
  ASSERT_EQ(got.size(), 6u);
  auto is = [](const ProtectEntry& e, const std::string& repo, const std::string& tag, std::optional<Digest> digest, const std::string& where) {
    return e.repository == repo && e.tag == tag && e.digest == digest && e.where == where;
  };
  EXPECT_TRUE(is(got[0], "team/app", "v1", std::nullopt, "pods.txt:2"));
  EXPECT_TRUE(is(got[1], "team/web", "2.0", std::nullopt, "pods.txt:2"));
  EXPECT_TRUE(is(got[2], "library/nginx", "latest", std::nullopt, "pods.txt:2"));  // Docker's default tag
  EXPECT_TRUE(is(got[3], "team/db", "", d('a'), "pods.txt:3"));
  EXPECT_TRUE(is(got[4], "team/api", "", d('b'), "pods.txt:4"));  // the digest counts, not the tag
  EXPECT_TRUE(is(got[5], "", "", d('c'), "pods.txt:5"));           // a bare digest: every repository
}

TEST(Protect, AMistakeNamesFileLineAndToken) {
  for (const std::string& bad : {std::string("ok/repo:v1\nTeam/App:v1\n"), std::string("\n\nsha256:1234\n"), std::string("a:b:c:d\n")}) {
    try {
      plan::parse_protect_list(bad, "p.txt");
      ADD_FAILURE() << bad;
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.path()).substr(0, 6), "p.txt:") << e.path();
    }
  }
}

// r: tag "run" -> index 3 (children 4 and 5); 6 is a referrer of 3; tag "old" -> 1; 2 untagged.
storage::Model model() {
  storage::Model m;
  storage::Repository r;
  r.name = "r";
  r.tags = {storage::TagLink{"old", d('1'), 0, {}}, storage::TagLink{"run", d('3'), 0, {}}};
  for (char c : std::string("123456")) r.revisions.push_back({d(c), false});
  storage::ManifestRecord index, sig;
  index.digest = d('3');
  index.parsed.children = {{d('4'), 0, ""}, {d('5'), 0, ""}};
  sig.digest = d('6');
  sig.parsed.subject = d('3');
  m.manifests = {index, sig};
  m.repositories = {r};
  return m;
}

plan::Plan removing(std::vector<std::pair<plan::ActionKind, std::string>> items) {
  plan::Plan p;
  for (const auto& [kind, what] : items) {
    plan::Action a;
    a.kind = kind;
    a.repository = util::Text("r");
    if (kind == plan::ActionKind::RemoveTag) a.tag = util::Text(what);
    else a.digest = d(what[0]);
    p.actions.push_back(a);
  }
  return p;
}

TEST(Protect, ATagProtectsItsImageChildrenAndReferrers) {
  const plan::Protection p = plan::resolve_protection(model(), plan::parse_protect_list("r:run\n", "pods.txt"));
  for (char c : std::string("3456")) EXPECT_TRUE(p.manifests.count({"r", d(c)})) << c;
  EXPECT_FALSE(p.manifests.count({"r", d('1')}));
  EXPECT_FALSE(p.manifests.count({"r", d('2')}));
  EXPECT_TRUE(p.tags.count({"r", "run"}));
  // What the plan may do, and what it may not.
  EXPECT_NO_THROW(plan::refuse_protected(removing({{plan::ActionKind::RemoveTag, "old"}, {plan::ActionKind::RemoveRevision, "1"},
                                                   {plan::ActionKind::RemoveRevision, "2"}}),
                                         p));
  for (const auto& item : std::vector<std::pair<plan::ActionKind, std::string>>{
           {plan::ActionKind::RemoveTag, "run"}, {plan::ActionKind::RemoveRevision, "5"}, {plan::ActionKind::RemoveRevision, "6"}}) {
    try {
      plan::refuse_protected(removing({item}), p);
      ADD_FAILURE() << item.second;
    } catch (const SafetyRefusal& e) {
      EXPECT_EQ(std::string(e.path()), "pods.txt:1");
      EXPECT_NE(std::string(e.what()).find("nothing was changed"), std::string::npos);
    }
  }
  // A bare digest protects it wherever it is; an unknown tag protects nothing.
  const plan::Protection bare = plan::resolve_protection(model(), plan::parse_protect_list("sha256:" + hex('2') + " r:nope", "x"));
  EXPECT_TRUE(bare.manifests.count({"r", d('2')}));
  EXPECT_EQ(bare.manifests.size(), 1u);
  EXPECT_TRUE(bare.tags.empty());
}

}  // namespace
}  // namespace regsweep::test
