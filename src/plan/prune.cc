#include "regsweep/plan/prune.h"

#include <algorithm>
#include <set>

#include "regsweep/error.h"
#include "regsweep/plan/gc.h"
#include "regsweep/plan/rm.h"
#include "regsweep/util/glob.h"
#include "regsweep/util/hex.h"

namespace regsweep::plan {

using storage::Model;
using storage::Repository;

bool is_referrer_tag(std::string_view tag) {
  if (!tag.starts_with("sha256-") || tag.size() < 7 + 64) return false;
  if (!util::is_lower_hex(tag.substr(7, 64))) return false;
  std::string_view rest = tag.substr(7 + 64);
  return rest.empty() || rest == ".sig" || rest == ".att" || rest == ".sbom";
}

namespace {

struct CompiledRegex {
  std::string text;
  std::regex re;
};

std::vector<CompiledRegex> compile(const std::vector<std::string>& patterns, const char* option) {
  std::vector<CompiledRegex> out;
  for (const auto& p : patterns) {
    try {
      out.push_back({p, std::regex(p, std::regex::ECMAScript)});
    } catch (const std::regex_error& e) {
      throw UsageError(std::string(option) + " \"" + p + "\" is not a valid regular expression: " + e.what(), "");
    }
  }
  return out;
}

const CompiledRegex* first_match(const std::vector<CompiledRegex>& res, const std::string& tag) {
  for (const auto& r : res)
    if (std::regex_search(tag, r.re)) return &r;
  return nullptr;
}

bool selected(const std::vector<std::string>& globs, const std::string& repo) {
  if (globs.empty()) return true;
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) { return util::glob_match(g, repo); });
}

std::string age_text(std::int64_t seconds) {
  if (seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
  if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

}  // namespace

PrunePlan plan_prune(const Model& model, const PrunePolicy& policy, const std::map<Digest, std::int64_t>& created_ns) {
  const auto match = compile(policy.match, "--match");
  const auto keep = compile(policy.keep, "--keep");
  PrunePlan out;
  RmRequest rm;
  rm.referrers = policy.referrers;
  std::vector<std::pair<std::string, std::string>> untags;  // (repo, tag)

  for (const Repository& repo : model.repositories) {
    if (!selected(policy.repo_globs, repo.name)) continue;
    std::vector<TagDecision> decisions;
    std::vector<std::size_t> candidates;  // considered, not kept
    for (const auto& tag : repo.tags) {
      TagDecision d{repo.name, tag.name, tag.current, tag.pushed_ns, TagVerdict::Kept, "", false};
      if (is_referrer_tag(tag.name)) {
        d.reason = "referrer tag: follows its subject";
      } else if (!tag.current) {
        d.reason = "kept: its current link is unreadable (see findings)";
      } else if (!match.empty() && !first_match(match, tag.name)) {
        d.reason = "kept: not matched by --match";
      } else if (const CompiledRegex* k = first_match(keep, tag.name)) {
        d.reason = "kept: matches --keep " + k->text;
      } else {
        candidates.push_back(decisions.size());
      }
      decisions.push_back(std::move(d));
    }
    // Newest first: push time, then the image's created time, then name.
    auto created = [&](const TagDecision& d) {
      auto it = d.digest ? created_ns.find(*d.digest) : created_ns.end();
      return it == created_ns.end() ? std::int64_t{0} : it->second;
    };
    std::sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
      const TagDecision& x = decisions[a];
      const TagDecision& y = decisions[b];
      if (x.pushed_ns != y.pushed_ns) return x.pushed_ns > y.pushed_ns;
      if (created(x) != created(y)) return created(x) > created(y);
      return x.tag > y.tag;
    });
    for (std::size_t rank = 0; rank < candidates.size(); ++rank) {
      TagDecision& d = decisions[candidates[rank]];
      if (policy.keep_last && rank < *policy.keep_last) {
        d.reason = "kept: among the " + std::to_string(*policy.keep_last) + " most recently pushed";
      } else if (policy.older_than_s && policy.now_ns - d.pushed_ns <= *policy.older_than_s * 1'000'000'000) {
        d.reason = "kept: pushed less than " + age_text(*policy.older_than_s) + " ago";
      } else {
        d.verdict = TagVerdict::Deleted;
        d.reason = policy.older_than_s ? "deleted: pushed more than " + age_text(*policy.older_than_s) + " ago"
                                       : policy.keep_last ? "deleted: older than the " + std::to_string(*policy.keep_last) + " newest"
                                                          : "deleted: matched";
      }
    }
    // A digest goes only when no staying image holds it (a staying tag names it, or it is a
    // child of a staying index); otherwise its deleted tags are only untagged.
    std::set<Digest> staying;
    std::vector<Digest> stack;
    for (const auto& d : decisions)
      if (d.verdict == TagVerdict::Kept && d.digest && !is_referrer_tag(d.tag)) stack.push_back(*d.digest);
    while (!stack.empty()) {
      Digest dg = stack.back();
      stack.pop_back();
      if (!staying.insert(dg).second) continue;
      if (const auto* m = model.find_manifest(dg))
        for (const auto& c : m->parsed.children) stack.push_back(c.digest);
    }
    for (auto& d : decisions) {
      if (d.verdict != TagVerdict::Deleted) continue;
      if (staying.count(*d.digest)) {
        d.untag_only = true;
        d.reason += " (untag only: a kept image holds its digest)";
        untags.emplace_back(repo.name, d.tag);
      } else {
        rm.references.push_back(util::ImageReference{repo.name, d.tag, std::nullopt});
      }
    }
    // Referrer tags follow their subject: deleted when the subject digest goes.
    std::set<std::string> gone_hex;
    for (const auto& d : decisions)
      if (d.verdict == TagVerdict::Deleted && !d.untag_only) gone_hex.insert(d.digest->hex());
    for (auto& d : decisions)
      if (is_referrer_tag(d.tag) && gone_hex.count(d.tag.substr(7, 64)) && policy.referrers) {
        d.verdict = TagVerdict::Deleted;
        d.reason = "deleted: referrer of a deleted manifest";
      }
    for (auto& d : decisions) out.decisions.push_back(std::move(d));
  }

  Plan rm_plan = plan_rm(model, rm);
  Plan& plan = out.plan;
  plan.command = "prune";
  plan.notes = rm_plan.notes;
  plan.actions = std::move(rm_plan.actions);
  if (!untags.empty()) {
    RmRequest untag;
    untag.untag = true;
    for (const auto& [repo_name, tag_name] : untags)
      untag.references.push_back(util::ImageReference{repo_name, tag_name, std::nullopt});
    for (Action& a : plan_rm(model, untag).actions) plan.actions.push_back(std::move(a));
  }
  if (policy.untagged) {
    // Untagged manifests of the selected repositories, judged on the tree as it will be.
    Model after = simulate(model, plan);
    GcRequest gc;
    gc.delete_untagged = true;
    gc.min_age_s = INT64_MAX / 2'000'000'000;  // blobs are gc's business, not prune's
    gc.uploads_older_than_s = INT64_MAX / 2'000'000'000;
    gc.now_ns = policy.now_ns;
    std::set<std::string> planned;
    for (const Action& a : plan.actions) planned.insert(a.path);
    for (Action& a : plan_gc(after, gc).plan.actions) {
      if (a.kind != ActionKind::RemoveRevision && a.kind != ActionKind::RemoveTagIndexEntry) continue;
      if (!selected(policy.repo_globs, a.repository)) continue;
      // rm removed the link file of some of these already; the folder is what remains.
      if (a.kind == ActionKind::RemoveRevision) ++out.untagged_manifests;
      if (planned.insert(a.path).second) plan.actions.push_back(std::move(a));
    }
  }
  plan.order();
  const std::uint64_t before = unreferenced_bytes(model);
  plan.gc_would_free = unreferenced_bytes(simulate(model, plan)) - before;
  std::set<std::string> touched;
  for (const Action& a : plan.actions) touched.insert(a.repository);
  for (const std::string& repo : touched) {
    Plan part;
    for (const Action& a : plan.actions)
      if (a.repository == repo) part.actions.push_back(a);
    out.gc_would_free_by_repository[repo] = unreferenced_bytes(simulate(model, part)) - before;
  }
  return out;
}

}  // namespace regsweep::plan
