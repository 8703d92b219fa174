// plan/plan: the Plan value, its execution order, and its JSON form (written by --plan-out,
// read back by `apply` and by the recovery of an interrupted run).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_store.h"
#include "regsweep/error.h"
#include "regsweep/plan/gc.h"
#include "regsweep/plan/plan.h"
#include "regsweep/plan/rm.h"
#include "regsweep/util/reference.h"

namespace regsweep::test {
namespace {

using plan::Action;
using plan::ActionKind;
using plan::Expect;
using plan::Plan;

const Digest kA = util::sha256("a");
const Digest kB = util::sha256("b");

// Every field of an action, as one line: two actions are equal when their lines are.
std::string describe(const Action& a) {
  return std::string(plan::to_string(a.kind)) + "|" + a.storage_key() + "|" + std::string(plan::to_string(a.expect)) + "|" + a.check_key() +
         "|" + (a.digest ? a.digest->str() : "-") + "|" + a.repository + "|" + a.tag + "|" + a.upload + "|" + a.part + "|" +
         (a.whole ? "whole" : "") + "|" + a.key + "|" + a.source + "|" + a.reason + "|" + std::to_string(a.bytes);
}

void expect_same_plan(const Plan& x, const Plan& y) {
  EXPECT_EQ(x.command, y.command);
  EXPECT_EQ(x.arguments, y.arguments);
  EXPECT_EQ(x.notes, y.notes);
  EXPECT_EQ(x.gc_would_free, y.gc_would_free);
  EXPECT_EQ(x.trash_blobs, y.trash_blobs);
  std::vector<std::string> xs, ys;
  for (const Action& a : x.actions) xs.push_back(describe(a));
  for (const Action& a : y.actions) ys.push_back(describe(a));
  EXPECT_EQ(xs, ys);
}

// One action of every kind and expectation, with and without the optional fields.
Plan every_kind() {
  Plan p;
  p.command = "gc";
  p.arguments = {"--delete-untagged", "--min-age=2h"};
  p.notes = {"a note", "another, with \"quotes\" and ünïcode"};
  p.gc_would_free = 123456789012ull;
  p.trash_blobs = true;
  p.actions = {
      plan::remove_tag("team/app", "v1", kA, "requested: team/app:v1"),
      plan::remove_tag_index_entry("team/app", "v1", kB, "history"),
      plan::remove_revision("team/app", kB, /*whole=*/true, "untagged"),
      plan::remove_layer_link("team/app", kA, Expect::Exists, "swept"),
      plan::remove_upload("team/app", "u-1", "old", 42),
      plan::remove_repository_part("team/app", layout::kLayers, "whole"),
      plan::remove_empty_folder("team/app", "empty"),
      plan::remove_blob(kA, "unreferenced", 1ull << 40),
      plan::remove_revision("team/app", kA, /*whole=*/false, "requested"),
      plan::remove_layer_link("team/app", kB, Expect::BlobMissing, "dangling"),
      plan::repair_key(ActionKind::RemoveTempFile, layout::v2("blobs/sha256/ab/x.tmp"), "leftover"),
  };
  return p;
}

// --- names and order ---------------------------------------------------------------------------

TEST(Plan, KindAndExpectNamesRoundTrip) {
  for (int k = 0; k <= static_cast<int>(ActionKind::RemoveBlob); ++k) {
    auto kind = static_cast<ActionKind>(k);
    EXPECT_NE(plan::to_string(kind), "unknown");
    EXPECT_EQ(plan::action_kind_from_string(plan::to_string(kind)), kind);
  }
  for (int e = 0; e <= static_cast<int>(Expect::BlobUnreferenced); ++e) {
    auto expect = static_cast<Expect>(e);
    EXPECT_EQ(plan::expect_from_string(plan::to_string(expect)), expect);
  }
  EXPECT_EQ(plan::to_string(ActionKind::RemoveTag), "remove-tag");
  EXPECT_EQ(plan::to_string(Expect::LinkIs), "link-is");
  EXPECT_FALSE(plan::action_kind_from_string("remove-everything"));
  EXPECT_FALSE(plan::expect_from_string(""));
}

TEST(Plan, OrderIsStableByKindAndBytesAddUp) {
  Plan p;
  auto add = [&](ActionKind kind, const std::string& label, std::uint64_t bytes) {
    Action a;
    a.kind = kind;
    a.reason = label;
    a.bytes = bytes;
    p.actions.push_back(a);
  };
  add(ActionKind::RemoveBlob, "blob-2", 20);
  add(ActionKind::RemoveRevision, "rev-1", 0);
  add(ActionKind::RemoveBlob, "blob-1", 10);
  add(ActionKind::RemoveTag, "tag-2", 0);
  add(ActionKind::RemoveUpload, "upload", 5);
  add(ActionKind::RemoveTag, "tag-1", 0);
  p.order();
  std::vector<std::string> paths;
  for (const Action& a : p.actions) paths.push_back(a.reason);
  EXPECT_EQ(paths, (std::vector<std::string>{"tag-2", "tag-1", "rev-1", "upload", "blob-2", "blob-1"}));
  EXPECT_EQ(p.bytes(), 35u);
}

// --- JSON round trip ---------------------------------------------------------------------------

TEST(PlanJson, RoundTripKeepsEveryField) {
  Plan p = every_kind();
  nlohmann::json doc = plan::plan_to_json(p);
  EXPECT_EQ(doc["format"], "regsweep-plan/2");
  EXPECT_EQ(doc["bytes"], p.bytes());
  ASSERT_EQ(doc["actions"].size(), 11u);
  EXPECT_EQ(doc["actions"][0]["path"], layout::tag_dir("team/app", "v1"));  // for people; checked on reading
  EXPECT_EQ(doc["actions"][4]["upload"], "u-1");
  EXPECT_EQ(doc["actions"][0]["action"], "remove-tag");
  EXPECT_EQ(doc["actions"][0]["digest"], kA.str());
  EXPECT_FALSE(doc["actions"][4].contains("digest"));  // absent optional fields are left out

  Plan back = plan::plan_from_json(doc, "plan.json");
  expect_same_plan(back, p);
  // Through text too, as --plan-out writes it.
  Plan reparsed = plan::plan_from_json(nlohmann::json::parse(doc.dump(2)), "plan.json");
  expect_same_plan(reparsed, p);
  EXPECT_EQ(plan::plan_to_json(reparsed), doc);
}

TEST(PlanJson, AnOnlinePlanKeepsItsRegistry) {
  Plan p = every_kind();
  EXPECT_FALSE(plan::plan_to_json(p).contains("registry"));  // a storage's plan: none
  p.registry = "https://registry.example:5000";
  nlohmann::json doc = plan::plan_to_json(p);
  EXPECT_EQ(doc["registry"], "https://registry.example:5000");
  EXPECT_EQ(plan::plan_from_json(doc, "plan.json").registry, "https://registry.example:5000");
}

TEST(PlanJson, RoundTripOfRealPlans) {
  FakeStore s;
  Image a = s.add_image("team/app", "v1", {"l1", "l2"});
  s.add_referrer("team/app", a.manifest, "application/vnd.dev.sigstore.bundle+json", {"sig"});
  s.add_image("other", "v1", {"o"});
  s.add_blob("orphan");
  storage::Model m = s.walk();

  plan::RmRequest rm;
  rm.references.push_back(util::parse_image_reference("team/app:v1"));
  rm.repositories.push_back("other");
  Plan rm_plan = plan::plan_rm(m, rm);
  ASSERT_GT(rm_plan.actions.size(), 4u);
  expect_same_plan(plan::plan_from_json(plan::plan_to_json(rm_plan), "rm"), rm_plan);

  plan::GcRequest gc;
  gc.delete_untagged = true;
  gc.now_ns = 4'000'000'000'000'000'000;
  Plan gc_plan = plan::plan_gc(m, gc).plan;
  ASSERT_FALSE(gc_plan.actions.empty());
  expect_same_plan(plan::plan_from_json(plan::plan_to_json(gc_plan), "gc"), gc_plan);
}

TEST(PlanJson, EmptyPlanRoundTrips) {
  Plan p;
  p.command = "rm";
  Plan back = plan::plan_from_json(plan::plan_to_json(p), "x");
  expect_same_plan(back, p);
  EXPECT_TRUE(back.actions.empty());
}

// --- refusals ----------------------------------------------------------------------------------

// The Error plan_from_json throws, as "path: message" ("accepted" when it throws none).
std::string refusal(const nlohmann::json& doc) {
  try {
    plan::plan_from_json(doc, "/tmp/my-plan.json");
  } catch (const Error& e) {
    return e.path() + ": " + e.what();
  }
  return "accepted";
}

TEST(PlanJson, RefusesWhatRegsweepDidNotWrite) {
  const nlohmann::json good = plan::plan_to_json(every_kind());
  ASSERT_EQ(refusal(good), "accepted");

  auto with = [&](auto change) {
    nlohmann::json doc = good;
    change(doc);
    return refusal(doc);
  };
  const std::string source = "/tmp/my-plan.json: not a regsweep plan";
  auto refused = [&](const std::string& r) { return r.starts_with(source); };

  EXPECT_PRED1(refused, refusal(nlohmann::json::array()));
  EXPECT_PRED1(refused, refusal("regsweep-plan/1"));
  EXPECT_PRED1(refused, with([](auto& d) { d["format"] = "regsweep-plan/3"; }));
  // The path must be where the object is kept, and the object must be named whole.
  EXPECT_PRED1(refused, with([](auto& d) { d["actions"][0]["path"] = "docker/registry/v2/repositories/team/app/_manifests/tags/v2"; }));
  EXPECT_PRED1(refused, with([](auto& d) { d["actions"][0]["tag"] = "v2"; }));
  EXPECT_PRED1(refused, with([](auto& d) { d["actions"][2].erase("digest"); }));
  EXPECT_PRED1(refused, with([](auto& d) { d.erase("format"); }));
  EXPECT_PRED1(refused, with([](auto& d) { d.erase("command"); }));
  EXPECT_PRED1(refused, with([](auto& d) { d.erase("actions"); }));
  EXPECT_PRED1(refused, with([](auto& d) { d["actions"][2]["action"] = "remove-everything"; }));
  EXPECT_PRED1(refused, with([](auto& d) { d["actions"][2]["expect"] = "hope"; }));
  EXPECT_PRED1(refused, with([](auto& d) { d["actions"][2].erase("path"); }));
  EXPECT_PRED1(refused, with([](auto& d) { d["actions"][0]["digest"] = "sha256:XYZ"; }));
  EXPECT_PRED1(refused, with([](auto& d) { d["actions"][0]["digest"] = "md5:" + kA.hex(); }));
  EXPECT_PRED1(refused, with([](auto& d) { d["actions"][0]["digest"] = 7; }));
  EXPECT_PRED1(refused, with([](auto& d) { d["actions"][1] = "remove-tag"; }));
  EXPECT_PRED1(refused, with([](auto& d) { d["actions"][1]["bytes"] = "many"; }));
  EXPECT_PRED1(refused, with([](auto& d) { d["arguments"] = "not a list"; }));

  EXPECT_NE(with([](auto& d) { d["actions"][2]["action"] = "remove-everything"; }).find("unknown action"), std::string::npos);
  EXPECT_NE(with([](auto& d) { d["actions"][0]["digest"] = "sha256:XYZ"; }).find("bad digest"), std::string::npos);
}

// --- plans written by regsweep before actions named objects (format 1) --------------------------

// What today's plan of `p` looked like in format 1: paths, and check_path where a link is read.
nlohmann::json as_format_1(const Plan& p) {
  nlohmann::json doc = plan::plan_to_json(p);
  doc["format"] = "regsweep-plan/1";
  for (std::size_t i = 0; i < p.actions.size(); ++i) {
    nlohmann::json& j = doc["actions"][i];
    for (const char* field : {"upload", "part", "whole", "key"}) j.erase(field);
    if (!p.actions[i].check_key().empty()) j["check_path"] = p.actions[i].check_key();
    // Empty folders named the repository they were planned for, not the folder.
    if (p.actions[i].kind == ActionKind::RemoveEmptyFolder) j["repository"] = "team/app/deeper";
  }
  return doc;
}

TEST(PlanJson, AFormat1PlanLoadsAsTheObjectsItsPathsName) {
  Plan p = every_kind();
  expect_same_plan(plan::plan_from_json(as_format_1(p), "old.json"), p);
}

TEST(PlanJson, AFormat1PlanWhosePathsAreNotTheLayoutsIsRefusedSayingWhy) {
  Plan p = every_kind();
  nlohmann::json doc = as_format_1(p);
  doc["actions"][0]["path"] = "docker/registry/v2/repositories/team/app/_manifests/tags/v1/current";  // not a tag folder
  std::string why = refusal(doc);
  EXPECT_NE(why.find("written by an older regsweep"), std::string::npos) << why;
  EXPECT_NE(why.find("make the plan again"), std::string::npos) << why;
  doc = as_format_1(p);
  doc["actions"][0]["check_path"] = layout::revision_link("team/app", kA);  // reads another link than the tag's
  EXPECT_NE(refusal(doc).find("precondition"), std::string::npos);
  doc = as_format_1(p);
  doc["actions"][3]["path"] = "etc/passwd";
  EXPECT_NE(refusal(doc).find("older regsweep"), std::string::npos);
}

TEST(Layout, EveryObjectIsFoundAgainAtItsKey) {
  for (const Action& a : every_kind().actions) {
    const layout::Object o = a.object();
    const layout::Object back = layout::object_at(layout::key_of(o));
    EXPECT_EQ(back.kind, o.kind) << layout::key_of(o);
    EXPECT_EQ(layout::key_of(back), layout::key_of(o));
  }
  // A name the registry could not have written is no object of the layout.
  EXPECT_EQ(layout::object_at("docker/registry/v2/repositories/app/_manifests/revisions/sha256/xyz").kind, layout::ObjectKind::Key);
  EXPECT_EQ(layout::object_at("docker/registry/v2/blobs/sha256/aa/" + kA.hex()).kind, layout::ObjectKind::Key);  // wrong prefix folder
  EXPECT_EQ(layout::link_role(layout::tag_current_link("a/b", "v1")), layout::LinkRole::TagCurrent);
  EXPECT_EQ(layout::link_role(layout::tag_index_dir("a/b", "v1", kA) + "/link"), layout::LinkRole::TagHistory);
  EXPECT_EQ(layout::link_role(layout::revision_link("a/b", kA)), layout::LinkRole::Revision);
  EXPECT_EQ(layout::link_role(layout::layer_link("a/b", kA)), layout::LinkRole::Layer);
  EXPECT_EQ(layout::repository_of(layout::tag_current_link("a/b", "v1")), "a/b");
  EXPECT_EQ(layout::repository_of(layout::repo_dir("a/b")), "a/b");  // the folder itself
  EXPECT_EQ(layout::repository_of(layout::blob_data(kA)), "");
  EXPECT_EQ(layout::digest_at(layout::blob_data(kA)), kA);
  EXPECT_EQ(layout::digest_at(layout::layer_link("a/b", kB)), kB);
  EXPECT_FALSE(layout::digest_at(layout::tag_current_link("a/b", "v1")));
}

}  // namespace
}  // namespace regsweep::test
