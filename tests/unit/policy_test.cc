// plan/policy: the policy file (docs/policies.md) parsed and checked.
#include "regsweep/plan/policy.h"

#include <gtest/gtest.h>

#include <string>

#include "regsweep/storage/model.h"

namespace regsweep::plan {
namespace {

// Parses `text` expecting a PolicyError at line:column whose message contains `part`.
void expect_error(const std::string& text, int line, int column, const std::string& part) {
  try {
    parse_policy(text, "p.yml");
    ADD_FAILURE() << "no error for:\n" << text;
  } catch (const PolicyError& e) {
    EXPECT_EQ(e.file(), "p.yml");
    EXPECT_EQ(e.location().line, line) << e.what();
    EXPECT_EQ(e.location().column, column) << e.what();
    EXPECT_NE(e.message().find(part), std::string::npos) << e.what();
    const std::string prefix = "p.yml:" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u) << e.what();
    EXPECT_EQ(e.exit_code(), kExitUsage);
  }
}

const char* const kEveryFeature = R"(version: 1
delete_referrers: false
rules:
  - name: old dev
    priority: 20
    action: delete
    repositories: ["team/**", "other/*"]
    exclude_repositories: team/sandbox/**
    select: tagged
    tag_regex: ["^dev-", "-snapshot$"]
    tag_glob: "pr-*"
    exclude_tag_regex: ["keep"]
    exclude_tag_glob: ["*-pinned"]
    match_all: false
    count_more_than: 3
    count_by: created
    pushed_older_than: 30d
    created_newer_than: 52w
  - priority: 5
    action: keep
    select: any
    most_recent: 2
    count_by: pulled
    pulled_newer_than: 1d12h
  - priority: 7
    action: delete
    select: untagged
    pushed_older_than: 0
    pulled_older_than: 90d
    created_older_than: 2w
)";

TEST(Policy, EveryFeatureParsesInPriorityOrder) {
  Policy p = parse_policy(kEveryFeature, "p.yml");
  EXPECT_EQ(p.file, "p.yml");
  EXPECT_FALSE(p.delete_referrers);
  ASSERT_EQ(p.rules.size(), 3u);
  EXPECT_EQ(p.rules[0].priority, 5u);
  EXPECT_EQ(p.rules[1].priority, 7u);
  EXPECT_EQ(p.rules[2].priority, 20u);

  const PolicyRule& keep = p.rules[0];
  EXPECT_EQ(keep.name, "rule 5");
  EXPECT_EQ(keep.action, PolicyAction::Keep);
  EXPECT_EQ(keep.select, PolicySelection::Any);
  EXPECT_EQ(keep.most_recent, 2u);
  EXPECT_FALSE(keep.count_more_than);
  EXPECT_EQ(keep.count_by, PolicyTime::Pulled);
  ASSERT_EQ(keep.ages.size(), 1u);
  EXPECT_EQ(keep.ages[0].key(), "pulled_newer_than");
  EXPECT_EQ(keep.ages[0].seconds, 36 * 3600);
  EXPECT_EQ(keep.ages[0].at.line, 24);

  const PolicyRule& untagged = p.rules[1];
  EXPECT_EQ(untagged.select, PolicySelection::Untagged);
  ASSERT_EQ(untagged.ages.size(), 3u);
  EXPECT_EQ(untagged.ages[0].key(), "pushed_older_than");
  EXPECT_EQ(untagged.ages[0].seconds, 0);
  EXPECT_EQ(untagged.ages[1].key(), "pulled_older_than");
  EXPECT_EQ(untagged.ages[1].seconds, 90 * 86400);
  EXPECT_EQ(untagged.ages[2].key(), "created_older_than");
  EXPECT_EQ(untagged.ages[2].seconds, 14 * 86400);

  const PolicyRule& dev = p.rules[2];
  EXPECT_EQ(dev.name, "old dev");
  EXPECT_EQ(dev.action, PolicyAction::Delete);
  EXPECT_EQ(dev.select, PolicySelection::Tagged);
  EXPECT_EQ(dev.repositories, (std::vector<std::string>{"team/**", "other/*"}));
  EXPECT_EQ(dev.exclude_repositories, (std::vector<std::string>{"team/sandbox/**"}));
  ASSERT_EQ(dev.include.size(), 3u);
  EXPECT_TRUE(dev.include[0].regex);
  EXPECT_EQ(dev.include[2].text, "pr-*");
  EXPECT_FALSE(dev.include[2].regex);
  ASSERT_EQ(dev.exclude.size(), 2u);
  EXPECT_EQ(dev.count_more_than, 3u);
  EXPECT_EQ(dev.count_by, PolicyTime::Created);
  EXPECT_EQ(dev.at.line, 4);
  EXPECT_EQ(dev.at.column, 5);

  EXPECT_TRUE(p.needs(PolicyTime::Pulled));
  EXPECT_TRUE(p.needs(PolicyTime::Created));
  EXPECT_FALSE(dev.needs(PolicyTime::Pulled));
  EXPECT_TRUE(keep.needs(PolicyTime::Pulled));
  EXPECT_EQ(dev.summary(),
            "delete tagged images of team/**, other/* but team/sandbox/** tagged /^dev-/ or /-snapshot$/ or pr-*, none tagged "
            "/keep/ or *-pinned when beyond the 3 most recent by created time and pushed more than 30d ago and created at most "
            "52w ago");
}

TEST(Policy, RepositoriesAndTagsAreSelectedAsDocumented) {
  Policy p = parse_policy(kEveryFeature, "p.yml");
  const PolicyRule& dev = p.rules[2];
  EXPECT_TRUE(dev.covers_repository("team/app"));
  EXPECT_TRUE(dev.covers_repository("team/a/b"));
  EXPECT_TRUE(dev.covers_repository("other/x"));
  EXPECT_FALSE(dev.covers_repository("other/x/y"));    // * is one component
  EXPECT_FALSE(dev.covers_repository("team/sandbox/x"));  // excluded
  EXPECT_FALSE(dev.covers_repository("elsewhere"));
  EXPECT_TRUE(p.rules[0].covers_repository("anything/at/all"));

  EXPECT_TRUE(dev.selects({"dev-1"}));
  EXPECT_TRUE(dev.selects({"x-snapshot"}));
  EXPECT_TRUE(dev.selects({"pr-12"}));
  EXPECT_TRUE(dev.selects({"v1", "dev-2"}));         // one tag matching is enough
  EXPECT_FALSE(dev.selects({"v1"}));
  EXPECT_TRUE(dev.selects({"dev-1", "prod"}));       // prod is in no exclude list
  EXPECT_FALSE(dev.selects({"dev-keep"}));           // an exclude pattern: NOT
  EXPECT_FALSE(dev.selects({"dev-1", "v2-pinned"}));  // any tag excluded excludes the image
  EXPECT_FALSE(dev.selects({}));                     // tagged only

  EXPECT_TRUE(p.rules[0].selects({}));      // any
  EXPECT_TRUE(p.rules[0].selects({"v1"}));
  EXPECT_TRUE(p.rules[1].selects({}));      // untagged
  EXPECT_FALSE(p.rules[1].selects({"v1"}));
}

TEST(Policy, MatchAllNeedsATagForEveryPattern) {
  Policy p = parse_policy("rules:\n  - {priority: 1, action: delete, tag_glob: [\"prod*\", \"*-x\"], match_all: true}\n", "p.yml");
  EXPECT_TRUE(p.rules[0].selects({"prod1", "a-x"}));
  EXPECT_TRUE(p.rules[0].selects({"prod-x"}));
  EXPECT_FALSE(p.rules[0].selects({"prod1"}));
}

TEST(Policy, TheDocumentedExamplesParse) {
  // docs/policies.md, "Today's flags are one rule" and the Harbor example.
  EXPECT_NO_THROW(parse_policy(R"(rules:
  - priority: 1
    action: delete
    repositories: ["team/**"]
    tag_regex: ["^v"]
    exclude_tag_regex: ["^latest$"]
    count_more_than: 10
    pushed_older_than: 30d
  - priority: 2
    action: delete
    repositories: ["team/**"]
    select: untagged
)", "p.yml"));
  EXPECT_NO_THROW(parse_policy(R"(rules:
  - {priority: 1, action: keep, repositories: ["team/**"], tag_glob: ["v*"], exclude_tag_glob: ["*-rc"], most_recent: 10}
  - {priority: 2, action: keep, repositories: ["team/**"], select: any, pulled_newer_than: 30d}
  - {priority: 3, action: delete, repositories: ["team/**"], select: any}
)", "p.yml"));
}

TEST(PolicyErrors, InvalidYaml) { expect_error("rules:\n  - priority: [1\n", 3, 1, "not valid YAML"); }

TEST(PolicyErrors, EmptyFileAndNoRules) {
  try {
    parse_policy("", "p.yml");
    ADD_FAILURE();
  } catch (const PolicyError& e) {
    EXPECT_NE(std::string(e.what()).find("p.yml: the policy file is empty"), std::string::npos) << e.what();
  }
  expect_error("version: 1\n", 1, 1, "has no rules");
  expect_error("rules: 3\n", 1, 8, "rules must be a list");
  expect_error("- a\n", 1, 1, "must be a mapping");
}

TEST(PolicyErrors, UnknownKeySuggestsTheNearest) {
  expect_error("rules:\n  - priority: 1\n    action: delete\n    priorty: 2\n", 4, 5, "unknown key \"priorty\" in rule 1 (did you mean \"priority\"?)");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    pushed_older: 2d\n", 4, 5, "unknown key \"pushed_older\"");
  expect_error("rulez: []\n", 1, 1, "(did you mean \"rules\"?)");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    zzzzzzzz: 1\n", 4, 5, "known keys: name, priority");
}

TEST(PolicyErrors, KeyGivenTwice) {
  expect_error("rules:\n  - priority: 1\n    action: delete\n    action: keep\n", 4, 5, "key \"action\" is given twice in rule 1");
}

TEST(PolicyErrors, RegexThatDoesNotCompile) {
  expect_error("rules:\n  - priority: 1\n    action: delete\n    tag_regex: [\"ok\", \"(unclosed\"]\n", 4, 23,
               "tag_regex: \"(unclosed\" is not a valid regular expression");
  expect_error("rules:\n  - priority: 1\n    action: keep\n    exclude_tag_regex: \"[z-a]\"\n", 4, 24, "exclude_tag_regex: \"[z-a]\"");
}

TEST(PolicyErrors, InvalidGlob) {
  expect_error("rules:\n  - priority: 1\n    action: delete\n    repositories: [\"team**\"]\n", 4, 20, "\"team**\" is not a valid glob");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    exclude_repositories: \"/team\"\n", 4, 27, "starts or ends with /");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    tag_glob: \"\"\n", 4, 15, "it is empty");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    repositories: \"a//b\"\n", 4, 19, "//");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    repositories: \"a/***\"\n", 4, 19, "***");
}

TEST(PolicyErrors, NegativeOrNonIntegerCount) {
  expect_error("rules:\n  - priority: 1\n    action: delete\n    count_more_than: -3\n", 4, 22,
               "count_more_than takes a count of images, a whole number 0 or more, not \"-3\"");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    most_recent: 2.5\n", 4, 18, "not \"2.5\"");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    most_recent: ten\n", 4, 18, "not \"ten\"");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    most_recent: [1]\n", 4, 18, "single value");
  expect_error("rules:\n  - priority: -1\n    action: delete\n", 2, 15, "priority takes a priority");
  expect_error("rules:\n  - priority: 99999999999999999999999\n    action: delete\n", 2, 15, "priority takes");
}

TEST(PolicyErrors, BadDuration) {
  expect_error("rules:\n  - priority: 1\n    action: delete\n    pushed_older_than: 30\n", 4, 24,
               "pushed_older_than takes a duration such as 90s, 30m, 12h, 7d or 2w, not \"30\"");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    created_newer_than: 3 days\n", 4, 25, "not \"3 days\"");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    pulled_newer_than: -1d\n", 4, 24, "pulled_newer_than");
}

TEST(PolicyErrors, SamePriorityTwice) {
  expect_error("rules:\n  - priority: 4\n    action: delete\n  - priority: 4\n    action: keep\n", 4, 15,
               "two rules have priority 4 (the other is at line 2)");
}

TEST(PolicyErrors, RuleWithoutActionOrPriority) {
  expect_error("rules:\n  - priority: 1\n    select: any\n", 2, 5, "rule 1 has no action (keep or delete)");
  expect_error("rules:\n  - priority: 1\n    action: delete\n  - action: keep\n", 4, 5, "rule 2 has no priority");
  expect_error("rules:\n  - priority: 1\n    action: remove\n", 3, 13, "action takes keep or delete, not \"remove\"");
}

TEST(PolicyErrors, OtherValues) {
  expect_error("rules:\n  - priority: 1\n    action: delete\n    select: some\n", 4, 13, "select takes tagged, untagged or any");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    count_by: pushed\n", 4, 15, "count_by without");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    most_recent: 1\n    count_by: age\n", 5, 15, "count_by takes pushed, pulled or created");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    select: untagged\n    tag_glob: v*\n", 5, 15, "untagged image has no tag");
  expect_error("rules:\n  - priority: 1\n    action: delete\n    match_all: yes\n", 4, 16, "match_all takes true or false");
  expect_error("version: 2\nrules: []\n", 1, 10, "only version 1");
  expect_error("delete_referrers: maybe\nrules: []\n", 1, 19, "delete_referrers takes true or false");
}

TEST(PolicyGlob, Problems) {
  EXPECT_FALSE(glob_problem("team/*"));
  EXPECT_FALSE(glob_problem("team/**"));
  EXPECT_FALSE(glob_problem("**/app"));
  EXPECT_FALSE(glob_problem("a/**/b"));
  EXPECT_FALSE(glob_problem("**"));
  EXPECT_FALSE(glob_problem("v?.*"));
  EXPECT_TRUE(glob_problem(""));
  EXPECT_TRUE(glob_problem("a**"));
  EXPECT_TRUE(glob_problem("**b/c"));
  EXPECT_TRUE(glob_problem("a/"));
}

// --- the engine ------------------------------------------------------------------------------

constexpr std::int64_t kDay = 86400LL * 1'000'000'000;
constexpr std::int64_t kNow = 1'000 * kDay;  // pinned: no test reads the calendar

Digest digest_of(char c) { return Digest::parse("sha256:" + std::string(64, c)).value(); }  // c: a hex digit

storage::TagLink tag(const std::string& name, char image, std::int64_t days_ago) {
  return storage::TagLink{name, digest_of(image), kNow - days_ago * kDay, {}};
}

// team/app: a = {latest, v3} 1 day old, b = v2 5d, c = v1 10d, d = dev-1 20d, e = dev-2 30d,
// f untagged (its revision 40d); other/x: g = v1 40d, h = v2 2d.
storage::Model engine_model() {
  storage::Model m;
  storage::Repository app;
  app.name = "team/app";
  app.tags = {tag("dev-1", 'd', 20), tag("dev-2", 'e', 30), tag("latest", 'a', 1), tag("v1", 'c', 10), tag("v2", 'b', 5),
              tag("v3", 'a', 1)};
  for (char c : std::string("abcdef")) app.revisions.push_back({digest_of(c), false});
  storage::Repository other;
  other.name = "other/x";
  other.tags = {tag("v1", '1', 40), tag("v2", '2', 2)};
  other.revisions = {{digest_of('1'), false}, {digest_of('2'), false}};
  m.repositories = {other, app};
  return m;
}

const ImageDecision& find(const std::vector<ImageDecision>& ds, const std::string& repo, char image) {
  for (const auto& d : ds)
    if (d.repository == repo && d.digest == digest_of(image)) return d;
  throw std::runtime_error("no decision for " + repo + " " + image);
}

TEST(PolicyEngine, RulesDecideImagesAsDocumented) {
  Policy p = parse_policy(R"(rules:
  - {priority: 0, action: keep, repositories: other/x, most_recent: 1}
  - {priority: 1, action: keep, tag_regex: '^latest$'}
  - {priority: 2, action: delete, repositories: "team/**", tag_glob: "v*", count_more_than: 1}
  - {priority: 3, action: delete, tag_regex: '^dev-', pushed_older_than: 25d}
  - {priority: 4, action: delete, repositories: "team/**", select: any, count_more_than: 1}
  - {priority: 5, action: delete, repositories: other/x}
)", "p.yml");
  PolicyTimes times;
  times.revision_pushed_ns[{"team/app", digest_of('f')}] = kNow - 40 * kDay;
  auto ds = decide(engine_model(), p, kNow, times);
  ASSERT_EQ(ds.size(), 8u);
  struct Row {
    const char* repo;
    char image;
    bool deleted;
    std::uint64_t rule;
    const char* why;
  };
  // Expected from the rules' definitions (docs/policies.md, "Semantics"):
  const Row rows[] = {
      // rule 2 counts a, b, c (newest first: a is 1st); beyond the 1st: b, c. a is also kept by rule 1.
      {"team/app", 'a', false, 1, "kept by rule 1: selected, no condition"},  // rule 2 would not delete it either
      {"team/app", 'b', true, 2, "deleted by rule 2: beyond the 1 most recent (2nd)"},
      {"team/app", 'c', true, 2, "deleted by rule 2: beyond the 1 most recent (3rd)"},
      // rule 3: dev-1 is 20d old (at most 25d: kept by the rule that selects it), dev-2 30d.
      {"team/app", 'd', false, 3, "kept by rule 3, which selects it: pushed at most 25d ago"},
      {"team/app", 'e', true, 3, "deleted by rule 3: pushed more than 25d ago"},
      // rule 4 counts only what no earlier delete rule decided: f alone, 1st, not beyond 1.
      {"team/app", 'f', false, 4, "kept by rule 4, which selects it: among the 1 most recent (1st)"},
      // other/x: rule 0 keeps the newest (h); rule 5 deletes every image: g goes, h is kept (keep wins).
      {"other/x", '1', true, 5, "deleted by rule 5: selected, no condition"},
      {"other/x", '2', false, 0, "kept by rule 0: among the 1 most recent (1st); a keep wins over rule 5"},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(std::string(r.repo) + " " + r.image);
    const ImageDecision& d = find(ds, r.repo, r.image);
    EXPECT_EQ(d.deleted, r.deleted) << d.reason;
    ASSERT_TRUE(d.rule);
    EXPECT_EQ(*d.rule, r.rule) << d.reason;
    EXPECT_EQ(d.reason.rfind(r.why, 0), 0u) << d.reason;
  }
  EXPECT_EQ(find(ds, "team/app", 'a').tags, (std::vector<std::string>{"latest", "v3"}));
  EXPECT_TRUE(find(ds, "team/app", 'f').tags.empty());
}

TEST(PolicyEngine, NoRuleKeepsAndPullRulesNeedLogs) {
  Policy p = parse_policy("rules:\n  - {priority: 1, action: delete, repositories: nothing/here}\n", "p.yml");
  for (const auto& d : decide(engine_model(), p, kNow, {})) {
    EXPECT_FALSE(d.deleted);
    EXPECT_FALSE(d.rule);
    EXPECT_EQ(d.reason, "kept: no rule selects it");
  }
  Policy pulls = parse_policy("rules:\n  - {priority: 1, action: delete, pulled_older_than: 30d}\n", "p.yml");
  EXPECT_THROW(decide(engine_model(), pulls, kNow, {}), UsageError);
  PolicyTimes times;
  times.pulled_ns.emplace();
  (*times.pulled_ns)[{"other/x", digest_of('2')}] = kNow - 1 * kDay;
  // Logs that start 10 days ago cannot say "not pulled for 30 days": refused, naming the rule.
  times.pulls_seen_since_ns = kNow - 10 * kDay;
  try {
    decide(engine_model(), pulls, kNow, times);
    ADD_FAILURE() << "a 30-day pull condition was decided from 10 days of logs";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("30d back"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.path()), "p.yml:2");
  }
  times.pulls_seen_since_ns = kNow - 31 * kDay;
  auto ds = decide(engine_model(), pulls, kNow, times);
  EXPECT_FALSE(find(ds, "other/x", '2').deleted);  // pulled a day ago
  EXPECT_TRUE(find(ds, "other/x", '1').deleted);   // never seen pulled: longer ago than any duration
}

TEST(PolicyEngine, ImagesAreSelectedThroughTheirTagsAndUntaggedMeansNoTagNoParent) {
  // r: index 2 (tag "multi") with child 1; image 3 (tags "v1" and "keep-me"); a referrer 6 of 3
  // (subject 3) whose only tag is cosign-style; 4 untagged; 5 (tag "v2").
  storage::Model m;
  const std::string sig = "sha256-" + std::string(64, '3') + ".sig";
  storage::Repository r;
  r.name = "r";
  r.tags = {tag("keep-me", '3', 3), tag("multi", '2', 4), tag(sig, '6', 3), tag("v1", '3', 3), tag("v2", '5', 9)};
  for (char c : std::string("123456")) r.revisions.push_back({digest_of(c), false});
  storage::ManifestRecord index;
  index.digest = digest_of('2');
  index.parsed.children.push_back({digest_of('1'), 0, ""});
  storage::ManifestRecord referrer;
  referrer.digest = digest_of('6');
  referrer.parsed.subject = digest_of('3');
  m.manifests = {index, referrer};  // sorted by digest
  m.repositories = {r};
  Policy p = parse_policy(R"(rules:
  - {priority: 1, action: delete, tag_glob: ["v*", "multi"], exclude_tag_regex: ["^keep-"]}
  - {priority: 2, action: delete, select: untagged}
)", "p.yml");
  auto ds = decide(m, p, kNow, {});
  std::vector<std::string> got;
  for (const auto& d : ds) got.push_back(std::string(1, d.digest.str().back()) + (d.deleted ? "-" : "+"));
  // Expected: 2 (multi) and 5 (v2) selected and deleted; 3 has a tag the exclude list matches:
  // NOT selected, kept; 4 is untagged: deleted; 1 (an index child) and 6 (a referrer, its only
  // tag cosign-style) are no images of their own.
  EXPECT_EQ(got, (std::vector<std::string>{"2-", "3+", "5-", "4-"}));
  EXPECT_EQ(find(ds, "r", '3').reason, "kept: no rule selects it");
  m.repositories[0].tags_incomplete = true;  // a tag could not be read: nothing is untagged
  EXPECT_EQ(decide(m, p, kNow, {}).size(), 3u);
}

}  // namespace
}  // namespace regsweep::plan
