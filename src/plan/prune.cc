#include "regsweep/plan/prune.h"

#include <algorithm>
#include <set>

#include "regsweep/error.h"
#include "regsweep/plan/gc.h"
#include "regsweep/plan/rm.h"
#include "regsweep/storage/layout.h"
#include "regsweep/util/glob.h"

namespace regsweep::plan {

using storage::Model;
using storage::Repository;

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

// The table is the plan, read per tag: a tag shows `delete` exactly when the plan removes its
// folder, and `untag only` exactly when its digest's revision stays. Cosign-style tags take
// their verdict from the plan (they follow their subject); for every other tag the verdict
// was decided first, and a plan that disagrees is refused (never executed): a keep rule must
// hold on every path by which a tag can go.
void settle_decisions_from_plan(std::vector<TagDecision>& decisions, const Plan& plan,
                                const std::set<std::pair<std::string, std::string>>& kept_tags, bool referrers) {
  std::map<std::pair<std::string, std::string>, const Action*> tag_removals;  // by repository and tag
  std::set<std::pair<std::string, Digest>> revisions_removed;
  for (const Action& a : plan.actions) {
    if (a.kind == ActionKind::RemoveTag) tag_removals[{a.repository, a.tag}] = &a;
    if (a.kind == ActionKind::RemoveRevision && a.digest) revisions_removed.emplace(a.repository, *a.digest);
  }
  for (TagDecision& d : decisions) {
    auto removal = tag_removals.find({d.repository, d.tag});
    const std::string dir = storage::layout::tag_dir(d.repository, d.tag);  // named in a refusal
    const bool tag_goes = removal != tag_removals.end();
    const bool image_goes = d.digest && revisions_removed.count({d.repository, *d.digest});
    const bool follows_subject = is_referrer_tag(d.tag) && !kept_tags.count({d.repository, d.tag});
    if (follows_subject) {
      if (tag_goes) {
        d.verdict = TagVerdict::Deleted;
        d.untag_only = !image_goes;
        d.reason = image_goes ? "deleted: referrer of a deleted manifest" : "deleted: " + removal->second->reason;
      } else {
        d.reason = referrers ? "kept: a referrer tag, and its subject stays" : "kept: a referrer tag (--no-referrers)";
      }
      continue;
    }
    if (d.verdict == TagVerdict::Kept && (tag_goes || image_goes))
      throw SafetyRefusal("refusing to prune: the plan would remove " + std::string(tag_goes ? "" : "the image of ") + "the kept tag " +
                              d.repository + ":" + d.tag + " (" + d.reason + "); this is a bug in regsweep, nothing was changed",
                          dir);
    if (d.verdict == TagVerdict::Deleted && !tag_goes)
      throw SafetyRefusal("refusing to prune: the plan does not remove " + d.repository + ":" + d.tag +
                              ", which its table deletes; this is a bug in regsweep, nothing was changed",
                          dir);
    if (d.verdict == TagVerdict::Deleted && d.untag_only && image_goes)
      throw SafetyRefusal("refusing to prune: the plan removes the image of " + d.repository + ":" + d.tag +
                              ", which its table only untags; this is a bug in regsweep, nothing was changed",
                          dir);
  }
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
    std::vector<bool> kept_by_rule;       // per decision: a --keep matches it (referrer tags too)
    for (const auto& tag : repo.tags) {
      TagDecision d{repo.name, tag.name, tag.current, tag.pushed_ns, TagVerdict::Kept, "", false};
      const CompiledRegex* k = first_match(keep, tag.name);
      kept_by_rule.push_back(k != nullptr);
      if (is_referrer_tag(tag.name) && k) {
        // A keep rule covers every tag, those that otherwise follow their subject included.
        d.reason = "kept: matches --keep " + k->text;
      } else if (is_referrer_tag(tag.name)) {
        d.reason = "referrer tag: follows its subject";  // settled from the plan, below
      } else if (!tag.current) {
        d.reason = "kept: its current link is unreadable (see findings)";
      } else if (!match.empty() && !first_match(match, tag.name)) {
        d.reason = "kept: not matched by --match";
      } else if (k) {
        d.reason = "kept: matches --keep " + k->text;
      } else if ((policy.keep_last || policy.older_than_s) && policy.undated.count({repo.name, tag.name})) {
        d.reason = "kept: no creation time (neither the config's created nor the org.opencontainers.image.created annotation)";
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
    const std::string newest = policy.times_are_created ? " most recently created" : " most recently pushed";
    const std::string aged = policy.times_are_created ? "created " : "pushed ";
    for (std::size_t rank = 0; rank < candidates.size(); ++rank) {
      TagDecision& d = decisions[candidates[rank]];
      if (policy.keep_last && rank < *policy.keep_last) {
        d.reason = "kept: among the " + std::to_string(*policy.keep_last) + newest;
      } else if (policy.older_than_s && policy.now_ns - d.pushed_ns <= *policy.older_than_s * 1'000'000'000) {
        d.reason = "kept: " + aged + "less than " + age_text(*policy.older_than_s) + " ago";
      } else {
        d.verdict = TagVerdict::Deleted;
        d.reason = policy.older_than_s ? "deleted: " + aged + "more than " + age_text(*policy.older_than_s) + " ago"
                                       : policy.keep_last ? "deleted: older than the " + std::to_string(*policy.keep_last) + " newest"
                                                          : "deleted: matched";
      }
    }
    // A digest goes only when no staying image holds it: a tag that stays names it, or it is
    // a child of a staying index; otherwise its deleted tags are only untagged. A cosign-style
    // tag stays with its subject (or by a keep rule), so the manifest it names stays too.
    std::set<Digest> staying;
    auto hold = [&](const Digest& image) {
      std::vector<Digest> stack = {image};
      while (!stack.empty()) {
        Digest dg = stack.back();
        stack.pop_back();
        if (!staying.insert(dg).second) continue;
        if (const auto* m = model.find_manifest(dg))
          for (const auto& c : m->parsed.children) stack.push_back(c.digest);
      }
    };
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      const TagDecision& d = decisions[i];
      if (d.verdict == TagVerdict::Kept && d.digest && (!is_referrer_tag(d.tag) || kept_by_rule[i])) hold(*d.digest);
    }
    // To a fixpoint: holding a signature's manifest may save a subject a deleted tag named.
    for (bool grew = true; grew;) {
      grew = false;
      std::set<Digest> gone;
      for (const auto& d : decisions)
        if (d.verdict == TagVerdict::Deleted && !staying.count(*d.digest)) gone.insert(*d.digest);
      for (const auto& d : decisions) {
        if (!is_referrer_tag(d.tag) || !d.digest || staying.count(*d.digest)) continue;
        auto subject = Digest::from_hex(std::string_view(d.tag).substr(7, 64));
        if (!policy.referrers || !subject || !gone.count(*subject)) {
          hold(*d.digest);
          grew = true;
        }
      }
    }
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      TagDecision& d = decisions[i];
      if (d.verdict == TagVerdict::Kept) {
        if (!is_referrer_tag(d.tag) || kept_by_rule[i]) rm.kept_tags.emplace(repo.name, d.tag);
        continue;
      }
      if (staying.count(*d.digest)) {
        d.untag_only = true;
        d.reason += " (untag only: a kept image holds its digest)";
        untags.emplace_back(repo.name, d.tag);
      } else {
        rm.references.push_back(util::ImageReference{repo.name, d.tag, std::nullopt});
      }
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
    for (Action& a : plan_rm(model, untag).actions)
      if (std::none_of(plan.actions.begin(), plan.actions.end(), [&](const Action& x) { return x.storage_key() == a.storage_key(); }))
        plan.actions.push_back(std::move(a));
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
    for (const Action& a : plan.actions) planned.insert(a.storage_key());
    for (Action& a : plan_gc(after, gc).plan.actions) {
      if (a.kind != ActionKind::RemoveRevision && a.kind != ActionKind::RemoveTagIndexEntry) continue;
      if (!selected(policy.repo_globs, a.repository)) continue;
      // rm removed the link file of some of these already; the folder is what remains.
      if (a.kind == ActionKind::RemoveRevision) ++out.untagged_manifests;
      if (planned.insert(a.storage_key()).second) plan.actions.push_back(std::move(a));
    }
  }
  plan.order();
  settle_decisions_from_plan(out.decisions, plan, rm.kept_tags, policy.referrers);
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
