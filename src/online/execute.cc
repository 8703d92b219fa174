#include "regsweep/online/execute.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "regsweep/apply/state.h"
#include "regsweep/error.h"
#include "regsweep/storage/manifest.h"
#include "regsweep/util/format.h"
#include "regsweep/util/names.h"

namespace regsweep::online {

using nlohmann::json;
using plan::Action;
using plan::ActionKind;

namespace {

// "team/app@sha256:..." / "team/app:v1": what messages and the journal name.
std::string manifest_name(std::string_view repository, const Digest& d) { return std::string(repository) + "@" + d.str(); }
std::string tag_name(std::string_view repository, std::string_view tag) { return std::string(repository) + ":" + std::string(tag); }

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string dump_line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// One DELETE: a revision, and the tags of the plan that go with it.
struct Deletion {
  const Action* revision = nullptr;
  std::vector<const Action*> tags;
};

std::vector<Deletion> deletions_of(const plan::Plan& plan) {
  std::vector<Deletion> out;
  std::map<std::pair<std::string, Digest>, std::size_t> index;
  for (const Action& a : plan.actions)
    if (a.kind == ActionKind::RemoveRevision) {
      index.emplace(std::pair{a.repository.str(), *a.digest}, out.size());
      out.push_back(Deletion{&a, {}});
    }
  for (const Action& a : plan.actions)
    if (a.kind == ActionKind::RemoveTag) out[index.at({a.repository.str(), *a.digest})].tags.push_back(&a);
  return out;
}

json run_record(const plan::Plan& plan, const std::string& run, const ExecuteOptions& o, const std::string& registry,
                const apply::RunSummary& s, const std::string& status) {
  return {{"id", run},
          {"command", plan.command},
          {"arguments", plan.arguments},
          {"command_line", o.command_line},
          {"time", util::rfc3339_utc(o.now_ns)},
          {"status", status},
          {"registry", registry},
          {"online", true},
          {"removed", s.removed},
          {"restored", s.restored},
          {"bytes_freed", 0},
          {"bytes_in_trash", s.bytes_in_trash},
          {"plan", plan::plan_to_json(plan)}};
}

}  // namespace

std::string state_folder(std::string_view host, std::string_view state_dir, std::string_view xdg_state_home, std::string_view home) {
  if (!state_dir.empty()) return std::string(state_dir);
  std::string base;
  if (!xdg_state_home.empty() && xdg_state_home.front() == '/') base = std::string(xdg_state_home);
  else if (!home.empty()) base = std::string(home) + "/.local/state";
  else
    throw UsageError("no folder for the state of online runs: neither XDG_STATE_HOME nor HOME is set", std::string(host),
                     "give one with --state-dir DIR");
  std::string name(host);
  std::replace(name.begin(), name.end(), ':', '_');
  return base + "/regsweep/" + name;
}

void check_online_plan(const plan::Plan& plan) {
  std::set<std::pair<std::string, Digest>> deleted;
  for (const Action& a : plan.actions)
    if (a.kind == ActionKind::RemoveRevision && a.digest) deleted.emplace(a.repository.str(), *a.digest);
  for (const Action& a : plan.actions) {
    // The repository is part of a key in the state folder (and of a URL): never a path.
    if (!a.repository.empty() && !util::is_valid_repository_name(a.repository.str()))
      throw Error("refusing an action on a repository whose name is not a repository name", a.repository.str());
    switch (a.kind) {
      case ActionKind::RemoveRevision:
        if (!a.digest) throw Error("an online deletion needs the manifest's digest", a.repository.str());
        continue;
      case ActionKind::RemoveTag:
        if (a.digest && deleted.count({a.repository.str(), *a.digest})) continue;
        throw UsageError("cannot remove the tag " + tag_name(a.repository.str(), a.tag.str()) +
                             " alone online: registry 2.8 has no DELETE by tag (distribution 3.x has), and deleting its digest would "
                             "remove the manifest and every other tag on it",
                         tag_name(a.repository.str(), a.tag.str()),
                         "delete the manifest itself (rm REPO@DIGEST), or run `regsweep rm --untag` on the registry's storage");
      case ActionKind::RemoveRepositoryPart:
      case ActionKind::RemoveEmptyFolder:
        throw UsageError("the registry's API cannot delete a repository; delete its tags and manifests instead", a.repository.str(),
                         "regsweep --registry URL rm REPO:TAG..., or rm --repository on the registry's storage");
      default:
        throw UsageError("`" + std::string(plan::to_string(a.kind)) + "` cannot be done over the registry's API",
                         a.repository.empty() ? a.key.str() : a.repository.str());
    }
  }
}

std::string trashed_manifest_meta(std::string_view run, std::string_view repository, const Digest& digest) {
  return apply::state::run_dir(run) + "/online/" + std::string(repository) + "/" + digest.hex() + ".json";
}
std::string trashed_manifest_body(std::string_view run, std::string_view repository, const Digest& digest) {
  return apply::state::run_dir(run) + "/online/" + std::string(repository) + "/" + digest.hex() + ".manifest";
}

apply::RunSummary execute_online(RegistryClient& client, storage::Store* store_ptr, apply::StateStore* state_ptr, const plan::Plan& plan,
                                 const ExecuteOptions& o) {
  check_online_plan(plan);
  if (!o.dry_run && (!store_ptr || !state_ptr)) throw Error("an online run needs its state folder", client.base_url());
  storage::Store& store = *store_ptr;
  apply::StateStore& state = *state_ptr;
  apply::RunSummary s;
  s.command = plan.command;
  s.arguments = plan.arguments;
  if (plan.actions.empty()) return s;
  const std::string run = o.dry_run ? std::string() : apply::state::new_run_id(o.now_ns, static_cast<int>(::getpid()));
  if (!o.dry_run) {
    s.run_id = run;
    state.write_record(run, run_record(plan, run, o, client.base_url(), s, "running"));
  }
  std::size_t seq = 0;
  auto audit = [&](const Action& a, const std::string& what) {
    json line = {{"time", util::rfc3339_utc(o.now_ns)}, {"run", run},          {"command", plan.command},
                 {"action", plan::to_string(a.kind)},   {"path", a.storage_key()}, {"object", what},
                 {"registry", client.base_url()},        {"reason", a.reason.str()}, {"bytes", a.bytes}};
    if (a.digest) line["digest"] = a.digest->str();
    state.append(apply::state::kAudit, dump_line(line));
  };
  auto delete_one = [&](const Deletion& d) {
    const Action& rev = *d.revision;
    const std::string repo = rev.repository.str();
    const Digest digest = *rev.digest;
    // The precondition, just before the DELETE: each tag still names the planned digest.
    std::vector<std::string> tags;
    for (const Action* t : d.tags) {
      std::optional<Digest> now = client.manifest_digest(repo, t->tag.str());
      if (!now) {
        ++s.already_gone;
        continue;
      }
      if (*now != digest) {
        throw SafetyRefusal("the registry changed since the plan was made: " + tag_name(repo, t->tag.str()) + " now names " + now->str() +
                                ", not " + digest.str() + "; nothing after it was deleted",
                            client.base_url() + "/v2/" + repo + "/manifests/" + t->tag.str(),
                            "the tag was pushed again since; run the command again to plan from what the registry holds now");
      }
      tags.push_back(t->tag.str());
    }
    std::optional<FetchedManifest> m = client.manifest(repo, digest.str());
    if (!m) {
      s.already_gone += 1 + tags.size();
      return;
    }
    if (o.dry_run) {
      s.removed += 1 + tags.size();
      return;
    }
    // Undo first: the bytes and the tags on them, before anything is deleted.
    const json meta = {{"repository", repo}, {"digest", digest.str()}, {"media_type", m->media_type}, {"tags", tags}};
    store.put(trashed_manifest_body(run, repo, digest), m->body);
    store.put(trashed_manifest_meta(run, repo, digest), dump_line(meta) + "\n");
    s.bytes_in_trash += m->body.size();
    state.append(apply::state::run_journal(run),
                 dump_line({{"seq", seq++}, {"action", plan::to_string(rev.kind)}, {"path", rev.storage_key()}, {"digest", digest.str()},
                            {"repository", repo}, {"tags", tags}}));
    if (client.delete_manifest(repo, digest) == DeleteResult::AlreadyGone) {
      // Someone else deleted it meanwhile: not this run's to put back.
      state.append(apply::state::run_journal(run), dump_line({{"seq", seq++}, {"action", plan::to_string(rev.kind)},
                                                              {"digest", digest.str()}, {"repository", repo}, {"already_gone", true}}));
      s.already_gone += 1 + tags.size();
      return;
    }
    for (const Action* t : d.tags)
      if (std::find(tags.begin(), tags.end(), t->tag.str()) != tags.end()) audit(*t, tag_name(repo, t->tag.str()));
    audit(rev, manifest_name(repo, digest));
    s.removed += 1 + tags.size();
  };
  try {
    for (const Deletion& d : deletions_of(plan)) delete_one(d);
  } catch (const Error&) {
    if (!o.dry_run) {
      // What was saved and deleted so far stays in the run's trash, for `restore`; a run that
      // deleted nothing leaves no trace.
      if (s.removed == 0) store.remove_prefix(apply::state::run_dir(run));
      else state.write_record(run, run_record(plan, run, o, client.base_url(), s, "stopped"));
    }
    throw;
  }
  if (!o.dry_run) {
    if (s.removed == 0) {
      // Nothing deleted: no trace left in the trash.
      store.remove_prefix(apply::state::run_dir(run));
      s.run_id.clear();
    } else {
      state.write_record(run, run_record(plan, run, o, client.base_url(), s, "complete"));
    }
  }
  return s;
}

OnlineRestorePlan plan_online_restore(storage::Store& store, apply::StateStore& state, const std::string& run, bool lock_held) {
  const std::string dir = apply::state::run_dir(run);
  std::optional<json> record = state.read_record(run);
  if (!record) throw Error("no such run in the state folder", store.locate(dir), "regsweep --registry URL trash ls lists the runs");
  if (!record->value("online", false))
    throw Error("run " + run + " is not an online run (it was made on a storage)", store.locate(dir),
                "restore it with --root or --config on that storage");
  const std::string status = record->value("status", "");
  if (status == "running" && !lock_held)
    throw SafetyRefusal("run " + run + " is still running (or was killed)", store.locate(dir),
                        "without --dry-run, restore takes the lock: a run still `running` then was killed, and is restored");
  if (status == "emptying") throw SafetyRefusal("run " + run + " is being emptied from the trash", store.locate(dir));
  if (status == "restored") throw SafetyRefusal("run " + run + " was restored already", store.locate(dir));
  OnlineRestorePlan out;
  out.plan.command = "restore";
  out.plan.arguments = {run};
  out.plan.restores_run = run;
  // The journal says what was deleted, in order (less what was gone before its DELETE).
  std::set<std::pair<std::string, std::string>> gone;
  state.for_each_line(apply::state::run_journal(run), [&](const json& j) {
    if (j.value("already_gone", false)) gone.emplace(j.value("repository", ""), j.value("digest", ""));
  });
  state.for_each_line(apply::state::run_journal(run), [&](const json& j) {
    auto digest = Digest::parse(j.value("digest", ""));
    const std::string repo = j.value("repository", "");
    if (!digest || repo.empty() || j.value("already_gone", false) || gone.count({repo, digest->str()})) return;
    if (!util::is_valid_repository_name(repo))
      throw Error("the journal of run " + run + " names something else than a repository: " + repo, store.locate(apply::state::run_journal(run)));
    std::string meta_text, body;
    const std::string meta_key = trashed_manifest_meta(run, repo, *digest), body_key = trashed_manifest_body(run, repo, *digest);
    if (!store.read(meta_key, 1u << 20, meta_text).ok() || !store.read(body_key, storage::kMaxManifestBytes, body).ok())
      throw Error("the trash of run " + run + " lacks the saved manifest " + manifest_name(repo, *digest), store.locate(meta_key),
                  "was it emptied (regsweep trash empty)?");
    json meta = json::parse(meta_text, nullptr, false);
    if (!meta.is_object()) throw Error("the saved manifest's record is not JSON", store.locate(meta_key));
    TrashedManifest m;
    m.repository = repo;
    m.digest = *digest;
    m.media_type = meta.value("media_type", "");
    for (const auto& t : meta.value("tags", json::array())) m.tags.push_back(t.get<std::string>());
    m.body = std::move(body);
    out.manifests.push_back(std::move(m));
  });
  // Children before the indexes that list them, else the order of deletion.
  std::stable_partition(out.manifests.begin(), out.manifests.end(),
                        [](const TrashedManifest& m) { return storage::parse_manifest(m.body).children.empty(); });
  for (const TrashedManifest& m : out.manifests) {
    Action a;
    a.kind = ActionKind::RestoreItem;
    a.expect = plan::Expect::Restorable;
    a.repository = m.repository;
    a.digest = m.digest;
    a.key = manifest_name(m.repository, m.digest);
    a.reason = m.tags.empty() ? "untagged" : "with its tags " + joined(m.tags);
    out.plan.actions.push_back(a);
  }
  return out;
}

std::vector<std::string> missing_for_restore(RegistryClient& client, const OnlineRestorePlan& restore) {
  std::set<std::pair<std::string, Digest>> restored;
  for (const TrashedManifest& m : restore.manifests) restored.emplace(m.repository, m.digest);
  std::vector<std::string> missing;
  std::set<std::pair<std::string, Digest>> seen;
  for (const TrashedManifest& m : restore.manifests) {
    const storage::ParsedManifest p = storage::parse_manifest(m.body);
    std::vector<Digest> blobs;
    if (p.config) blobs.push_back(p.config->digest);
    for (const storage::BlobRef& l : p.layers)
      if (!l.foreign) blobs.push_back(l.digest);
    for (const Digest& b : blobs)
      if (seen.emplace(m.repository, b).second && !client.blob_exists(m.repository, b)) missing.push_back(manifest_name(m.repository, b));
    for (const storage::ChildRef& c : p.children)
      if (!restored.count({m.repository, c.digest}) && seen.emplace(m.repository, c.digest).second &&
          !client.manifest_digest(m.repository, c.digest.str()))
        missing.push_back(manifest_name(m.repository, c.digest) + " (a child manifest)");
  }
  return missing;
}

std::vector<std::string> conflicts_for_restore(RegistryClient& client, OnlineRestorePlan& restore, bool keep_newer) {
  std::vector<std::string> out;
  for (TrashedManifest& m : restore.manifests) {
    std::vector<std::string> kept;
    for (const std::string& t : m.tags) {
      std::optional<Digest> now = client.manifest_digest(m.repository, t);
      if (now && *now != m.digest) out.push_back(tag_name(m.repository, t) + " (now " + now->str() + ")");
      else kept.push_back(t);
    }
    if (keep_newer) m.tags = std::move(kept);
  }
  return out;
}

apply::RunSummary restore_online(RegistryClient& client, storage::Store& store, apply::StateStore& state, const OnlineRestorePlan& r,
                                 const ExecuteOptions& o) {
  apply::RunSummary s;
  s.command = "restore";
  s.arguments = r.plan.arguments;
  if (o.dry_run || r.manifests.empty()) return s;
  (void)store;
  const std::string run = apply::state::new_run_id(o.now_ns, static_cast<int>(::getpid()));
  s.run_id = run;
  state.write_record(run, run_record(r.plan, run, o, client.base_url(), s, "running"));
  std::size_t seq = 0;
  auto audit = [&](const std::string& what, const TrashedManifest& m) {
    state.append(apply::state::kAudit, dump_line({{"time", util::rfc3339_utc(o.now_ns)},
                                                  {"run", run},
                                                  {"command", "restore"},
                                                  {"action", "restore-item"},
                                                  {"object", what},
                                                  {"registry", client.base_url()},
                                                  {"digest", m.digest.str()},
                                                  {"restores", r.plan.restores_run}}));
  };
  for (const TrashedManifest& m : r.manifests) {
    state.append(apply::state::run_journal(run), dump_line({{"seq", seq++}, {"action", "restore-item"}, {"repository", m.repository},
                                                            {"digest", m.digest.str()}, {"tags", m.tags}}));
    client.put_manifest(m.repository, m.digest.str(), m.media_type, m.body);
    audit(manifest_name(m.repository, m.digest), m);
    ++s.restored;
    for (const std::string& t : m.tags) {
      client.put_manifest(m.repository, t, m.media_type, m.body);
      audit(tag_name(m.repository, t), m);
      ++s.restored;
    }
  }
  state.write_record(run, run_record(r.plan, run, o, client.base_url(), s, "complete"));
  state.mark_run(r.plan.restores_run, "restored");
  return s;
}

}  // namespace regsweep::online
