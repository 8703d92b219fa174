// `regsweep gc`: multi-arch- and referrer-safe mark & sweep.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli.h"
#include "regsweep/apply/live_registry.h"
#include "regsweep/apply/registry_gc.h"
#include "regsweep/error.h"
#include "regsweep/plan/gc.h"
#include "regsweep/plan/registry_gc.h"
#include "regsweep/storage/walker.h"
#include "regsweep/util/format.h"

namespace regsweep::cli {

namespace {

using nlohmann::json;

struct GcOptions {
  bool delete_untagged = false;
  std::string min_age = "1h";
  std::string uploads_older_than = "168h";
  bool prune_empty_repos = false;
  bool trash = false;
  std::string registry_bin;
  bool restart_ack = false;  // --i-will-restart-the-registry
  MutationOptions mutation;
};

constexpr const char* kRestartFlag = "--i-will-restart-the-registry";

constexpr int kMaxReplans = 3;

// Plans, then looks again: links that appeared while we planned (a push under a registry we
// were told to ignore) are marked from too, by planning again from the newer tree.
// On return `model` is the storage as walked after the final plan was made.
plan::GcPlan plan_with_recheck(Context& ctx, storage::Model& model, const plan::GcRequest& req, bool recheck) {
  plan::GcPlan gc = plan::plan_gc(model, req);
  for (int i = 0; recheck && i < kMaxReplans; ++i) {
    storage::Model again = ctx.walk_again();
    if (!plan::links_appeared(model, again)) {
      model = std::move(again);
      return gc;
    }
    *ctx.err << "regsweep: links appeared while planning (is something pushing?); planning again\n";
    model = std::move(again);
    gc = plan::plan_gc(model, req);
  }
  if (recheck) throw SafetyRefusal("the storage keeps changing while gc plans; refusing to sweep", ctx.root(),
                                   "stop whatever writes to it (a registry?) and run gc again");
  return gc;
}

}  // namespace

json gc_stats_json(const plan::GcStats& s) {
  return {{"untagged_manifests", s.untagged_manifests},
          {"blobs", {{"count", s.blobs}, {"bytes", s.blob_bytes}}},
          {"young_blobs_kept", {{"count", s.young_blobs_kept}, {"bytes", s.young_blob_bytes_kept}}},
          {"push_blobs_kept", {{"count", s.push_blobs_kept}, {"bytes", s.push_blob_bytes_kept}}},
          {"layer_links", s.layer_links},
          {"uploads", {{"count", s.uploads}, {"bytes", s.upload_bytes}}},
          {"empty_repositories", s.empty_repositories},
          {"bytes", s.blob_bytes + s.upload_bytes}};
}

void print_gc_stats(Context& ctx, const plan::GcStats& s, const GcStatsShown& shown) {
  if (ctx.options.json || ctx.options.quiet) return;
  std::ostream& out = *ctx.out;
  char line[200];
  auto row = [&](const char* what, std::uint64_t n, std::uint64_t bytes, bool with_bytes) {
    std::snprintf(line, sizeof line, "  %-22s %8llu  %s\n", what, static_cast<unsigned long long>(n),
                  with_bytes ? ctx.size(bytes).c_str() : "");
    out << line;
  };
  out << (shown.done ? "gc removed:\n" : shown.dry_run ? "gc would remove:\n" : "gc will remove:\n");
  if (shown.delete_untagged) row("untagged manifests", s.untagged_manifests, 0, false);
  row("blobs", s.blobs, s.blob_bytes, true);
  row("layer links", s.layer_links, 0, false);
  row("uploads", s.uploads, s.upload_bytes, true);
  if (shown.prune_empty_repos) row("empty repositories", s.empty_repositories, 0, false);
  out << "  total: " << ctx.out_style().bold(ctx.size_and_bytes(s.blob_bytes + s.upload_bytes)) << "\n";
  if (s.young_blobs_kept)
    out << "  kept: " << s.young_blobs_kept << " unreferenced blobs younger than --min-age " << shown.min_age << " ("
        << ctx.size(s.young_blob_bytes_kept) << ")\n";
  if (s.push_blobs_kept)
    out << "  kept: " << s.push_blobs_kept << " unreferenced blobs linked in a repository with a push in progress (an upload younger than "
        << "--uploads-older-than) (" << ctx.size(s.push_blob_bytes_kept) << ")\n";
}

namespace {

// "42s", "17m", "5h": how old a blob is, for people.
std::string age_text(std::int64_t seconds) {
  if (seconds < 120) return std::to_string(std::max<std::int64_t>(seconds, 0)) + "s";
  if (seconds < 120 * 60) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds / 3600) + "h";
}

constexpr std::size_t kYoungBlobsNamed = 10;

// "sha256:… (7 B, 3m old), …" for the first few, then how many more.
std::string young_blobs_text(const Context& ctx, const std::vector<plan::YoungBlob>& young, std::int64_t now_ns) {
  std::string text;
  for (std::size_t i = 0; i < young.size() && i < kYoungBlobsNamed; ++i)
    text += (i ? ", " : "") + young[i].digest.str() + " (" + ctx.size(young[i].size) + ", " +
            age_text((now_ns - young[i].mtime_ns) / 1'000'000'000) + " old)";
  if (young.size() > kYoungBlobsNamed) text += " and " + std::to_string(young.size() - kYoungBlobsNamed) + " more";
  return text;
}

// The registry's collector has no grace window: it deletes every blob its mark misses, the
// layers of a push still in progress included. While such blobs are younger than --min-age,
// a sweep through it is refused; `done` says what regsweep itself did already.
SafetyRefusal young_blobs_refusal(const Context& ctx, const GcOptions& o, const std::vector<plan::YoungBlob>& young,
                                  std::int64_t now_ns, const std::string& done) {
  std::int64_t wait_s = young.front().mtime_ns / 1'000'000'000 + duration_option(o.min_age, "--min-age") - now_ns / 1'000'000'000;
  const bool in_push = std::any_of(young.begin(), young.end(), [](const plan::YoungBlob& b) { return b.in_push; });
  return SafetyRefusal(
      "--registry-bin: the registry's garbage-collect has no grace window and would delete " + std::to_string(young.size()) +
          " unreferenced blob" + (young.size() == 1 ? "" : "s") + " younger than --min-age " + o.min_age +
          (in_push ? " or linked in a repository with an upload younger than --uploads-older-than" : "") +
          " (a push may still be on its way): " + young_blobs_text(ctx, young, now_ns) + done,
      ctx.root(),
      (in_push ? std::string("wait until the pushes in progress are finished (or their uploads are older than --uploads-older-than); ")
               : std::string()) +
          "wait until they are older than " + o.min_age + " (about " + age_text(std::max<std::int64_t>(wait_s, 0)) +
          "), or, if nothing is pushing to this registry, pass --min-age 0s --uploads-older-than 0s; plain gc (without --registry-bin) keeps them and sweeps the rest");
}

nlohmann::json digests_json(const std::vector<Digest>& digests, const storage::Model& before, std::uint64_t* bytes) {
  json list = json::array();
  *bytes = 0;
  for (const Digest& d : digests) {
    list.push_back(d.str());
    std::int64_t i = before.blob_index(d);
    if (i >= 0 && before.blobs[static_cast<std::size_t>(i)].has_data) *bytes += before.blobs[static_cast<std::size_t>(i)].size;
  }
  return list;
}

std::uint64_t bytes_with_data(const storage::Model& m) {
  std::uint64_t total = 0;
  for (const auto& b : m.blobs) total += b.has_data ? b.size : 0;
  return total;
}

// The blob sweep through the registry's own collector: a last look for young blobs (the tree
// is as regsweep's own steps left it), the run, and what it listed or deleted.
json sweep_with_registry(Context& ctx, const GcOptions& o, const plan::GcRequest& req, const std::string& run_id) {
  storage::Model before = ctx.walk_again();
  if (!o.mutation.dry_run) {
    std::int64_t now_ns = ctx.now_ns();
    auto young = plan::young_blobs_registry_gc_would_delete(before, plan::Plan{}, req.min_age_s, req.uploads_older_than_s, now_ns);
    if (!young.empty())
      throw young_blobs_refusal(ctx, o, young, now_ns,
                                "; regsweep's own steps are done" + (run_id.empty() ? std::string() : " (run " + run_id + ")") +
                                    ", the registry's garbage-collect was not run");
  }
  std::ostream& echo_to = ctx.options.json ? *ctx.err : *ctx.out;
  apply::RegistryGcRun run = apply::run_registry_gc(
      o.registry_bin, ctx.root(), ctx.options.config.value_or(""), o.mutation.dry_run,
      [&](std::string_view chunk) { echo_to.write(chunk.data(), static_cast<std::streamsize>(chunk.size())); }, *ctx.err);
  echo_to.flush();
  storage::Model after = ctx.walk_again();
  plan::RegistryGcOutput said = plan::parse_registry_gc_output(run.output);
  std::uint64_t eligible_bytes = 0, deleted_bytes = 0;
  json eligible = digests_json(said.blobs_eligible, before, &eligible_bytes);
  json deleted = digests_json(said.blobs_deleted, before, &deleted_bytes);
  std::uint64_t bytes_before = bytes_with_data(before), bytes_after = bytes_with_data(after);
  std::uint64_t freed = bytes_before > bytes_after ? bytes_before - bytes_after : 0;
  json doc = {{"command", run.command},
              {"dry_run", o.mutation.dry_run},
              {"marked", said.marked ? json(*said.marked) : json(nullptr)},
              {"eligible", {{"count", said.blobs_eligible.size()}, {"bytes", eligible_bytes}, {"digests", eligible}}},
              {"deleted", {{"count", said.blobs_deleted.size()}, {"bytes", deleted_bytes}, {"digests", deleted}}},
              {"bytes_before", bytes_before},
              {"bytes_after", bytes_after},
              {"bytes_freed", freed}};
  if (!ctx.options.json && !ctx.options.quiet) {
    const std::size_t n = said.blobs_eligible.size();
    std::string blobs = std::to_string(n) + (n == 1 ? " blob" : " blobs");
    if (o.mutation.dry_run) {
      *ctx.out << "the registry's garbage-collect --dry-run lists " << blobs << " eligible for deletion, "
               << ctx.size_and_bytes(eligible_bytes) << "; nothing was deleted\n";
    } else {
      const std::size_t d = said.blobs_deleted.size();
      *ctx.out << "the registry's garbage-collect listed " << blobs << " eligible for deletion and deleted " << d
               << (d == 1 ? " blob" : " blobs") << "; freed " << ctx.size_and_bytes(freed) << "\n";
    }
  }
  if (!run.failure.empty())
    throw Error("the registry's garbage-collect failed (" + run.failure + ")", o.registry_bin,
                o.mutation.dry_run ? "its output is above" : "its output is above; blobs it deleted before failing are gone");
  return doc;
}

// --dry-run / --plan-out under a read-only registry: allowed (mark and report), with a word on
// what a real sweep would need.
void note_readonly_registries(Context& ctx) {
  for (const apply::LiveRegistry& live : apply::find_live_registries(ctx.root(), ctx.registry_config()))
    if (live.readonly && !live.root_unknown)
      *ctx.err << "regsweep: note: a read-only registry serves this storage (" << live.description << "); a real gc needs "
               << kRestartFlag << " and a restart of it afterwards\n";
}

int run_gc(Context& ctx, const GcOptions& o) {
  plan::GcRequest req;
  req.delete_untagged = o.delete_untagged;
  req.min_age_s = duration_option(o.min_age, "--min-age");
  req.uploads_older_than_s = duration_option(o.uploads_older_than, "--uploads-older-than");
  req.prune_empty_repos = o.prune_empty_repos;
  req.trash_blobs = o.trash;
  req.now_ns = ctx.now_ns();
  const MutationOptions& m = o.mutation;
  const bool read_only = m.dry_run || !m.plan_out.empty();
  if (!o.registry_bin.empty() && ::access(o.registry_bin.c_str(), X_OK) != 0)
    throw UsageError("--registry-bin is not an executable", o.registry_bin);
  if (!read_only) require_confirmation_channel(ctx, m);

  // A read-only registry serving the root keeps its blob descriptor cache: a sweep under it
  // needs the operator's word that it will be restarted (and its redis cache flushed).
  std::vector<apply::LiveRegistry> readonly;
  apply::SessionOptions so = session_options(ctx, read_only, m.force, false);
  so.readonly_registries = &readonly;
  apply::Session session(ctx.store(), so, *ctx.err);
  if (!m.force && !read_only && !readonly.empty() && !o.restart_ack)
    throw SafetyRefusal("a read-only registry serves this storage (" + apply::describe_live_registries(readonly) +
                            "): blobs swept under it stay in its blob descriptor cache, and once it is read-write a "
                            "push of one of them is skipped, leaving a broken image",
                        ctx.root(),
                        std::string("look with --dry-run; sweep with ") + kRestartFlag +
                            ", then restart it (the last line printed says how, redis cache included); or stop it first");
  if (!m.force && read_only) note_readonly_registries(ctx);

  storage::Model model = ctx.load_model();
  plan::GcPlan gc = plan_with_recheck(ctx, model, req, !read_only);
  gc.plan.arguments = {o.delete_untagged ? "--delete-untagged" : "", "--min-age=" + o.min_age,
                       "--uploads-older-than=" + o.uploads_older_than};
  std::erase(gc.plan.arguments, "");
  std::vector<plan::YoungBlob> young;  // what the registry's collector would take too early
  if (!o.registry_bin.empty()) {  // the registry sweeps the blobs itself
    std::erase_if(gc.plan.actions, [](const plan::Action& a) {
      return a.kind == plan::ActionKind::RemoveBlob || a.kind == plan::ActionKind::RemoveLayerLink;
    });
    // Refused before anything is written: the young blobs it would take once our steps are done.
    young = plan::young_blobs_registry_gc_would_delete(model, gc.plan, req.min_age_s, req.uploads_older_than_s, req.now_ns);
    if (!young.empty() && !read_only) throw young_blobs_refusal(ctx, o, young, req.now_ns, "");
    if (!young.empty() && m.dry_run) {
      SafetyRefusal would = young_blobs_refusal(ctx, o, young, req.now_ns, "");
      *ctx.err << ctx.severity_prefix("warning") << would.what() << "; without --dry-run gc refuses (exit 3)\n"
               << ctx.err_style().dim("hint: ") << would.hint() << "\n";
    }
  }
  if (ctx.options.verbose > 0 || !m.plan_out.empty())
    print_plan(ctx, gc.plan, m);
  else
    print_notes(ctx, gc.plan);  // why more is kept than the counts alone would say
  GcStatsShown shown{m.dry_run, false, o.delete_untagged, o.prune_empty_repos, o.min_age};
  if (o.registry_bin.empty()) print_gc_stats(ctx, gc.stats, shown);
  if (!m.plan_out.empty()) {
    if (ctx.options.json) print_json(ctx, {{"plan", plan::plan_to_json(gc.plan)}, {"plan_out", m.plan_out}});
    return kExitOk;
  }
  // A run stopped part-way under a read-only registry may have swept some blobs: the advice
  // is printed before the error.
  auto advise_on_error = [&] {
    if (!readonly.empty() && !m.dry_run)
      *ctx.err << apply::restart_advice(readonly, -1, ctx.registry_config()) << " (if any blob was swept before it stopped)\n";
  };
  std::optional<apply::RunSummary> done;
  try {
    done = confirm_and_execute(ctx, session, gc.plan, m, "sweep these?", &model);
  } catch (const Error&) {
    advise_on_error();
    throw;
  }
  if (!done) return kExitOk;
  const apply::RunSummary& summary = *done;
  json doc = {{"dry_run", m.dry_run}, {"mark", o.delete_untagged ? "tags" : "revisions"}, {"summary", gc_stats_json(gc.stats)},
              {"result", run_summary_json(summary)},
              {"notes", gc.plan.notes}, {"findings", findings_json(model)}};
  if (ctx.options.verbose > 0) doc["plan"] = plan::plan_to_json(gc.plan);
  if (!o.registry_bin.empty()) {
    try {
      doc["registry_gc"] = sweep_with_registry(ctx, o, req, m.dry_run ? std::string() : summary.run_id);
      json young_json = json::array();  // not empty only in a dry run: a real one refuses
      for (const plan::YoungBlob& b : young) young_json.push_back(b.digest.str());
      doc["registry_gc"]["young_blobs"] = young_json;
    } catch (const Error&) {
      advise_on_error();
      throw;
    }
  } else if (!m.dry_run && !ctx.options.json && !ctx.options.quiet) {
    shown.done = true;
    print_gc_stats(ctx, gc.stats, shown);
  }
  // Last words: what the operator must do about the read-only registry's cache.
  std::string advice;
  if (!readonly.empty() && !m.dry_run) {
    long long blobs = o.registry_bin.empty() ? static_cast<long long>(gc.stats.blobs) : -1;
    if (blobs != 0) advice = apply::restart_advice(readonly, blobs, ctx.registry_config());
    else advice = "regsweep: no blob was swept: the read-only registry's cache is still right, it need not be restarted";
    json restart = {{"required", blobs != 0}, {"message", advice}, {"registries", json::array()}};
    for (const auto& r : readonly) {
      const auto& c = r.config ? r.config : ctx.registry_config();
      auto flush = c ? apply::redis_flush_command(*c) : std::nullopt;
      restart["registries"].push_back({{"pid", r.pid}, {"description", r.description},
                                       {"blobdescriptor_cache", c ? c->blobdescriptor_cache : ""},
                                       {"redis_flush", flush ? json(*flush) : json(nullptr)}});
    }
    doc["registry_restart"] = restart;
  }
  if (ctx.options.json) print_json(ctx, doc);
  print_run_summary(ctx, summary, m);
  if (!advice.empty()) {
    if (ctx.options.json) {
      ctx.out->flush();
      *ctx.err << advice << "\n" << std::flush;
    } else {
      *ctx.out << advice << "\n" << std::flush;
    }
  }
  return kExitOk;
}

}  // namespace

Command add_gc_command(CLI::App& parent, Context& context) {
  auto o = std::make_shared<GcOptions>();
  CLI::App* app = parent.add_subcommand("gc", "mark & sweep unreferenced blobs, safely for multi-arch images and referrers");
  app->add_flag("-m,--delete-untagged", o->delete_untagged,
                "also delete manifests no tag reaches (index children and referrers of tagged manifests are kept)");
  app->add_option("--min-age", o->min_age, "keep unreferenced blobs younger than this (default 1h)");
  app->add_option("--uploads-older-than", o->uploads_older_than, "delete uploads started longer ago (default 168h)");
  app->add_flag("--prune-empty-repos", o->prune_empty_repos, "remove repositories left with no tag and no manifest");
  app->add_flag("--trash", o->trash, "keep swept blobs in the trash (restorable) instead of deleting them");
  app->add_option("--registry-bin", o->registry_bin, "run PATH garbage-collect for the blob sweep after regsweep's own steps");
  app->add_flag(kRestartFlag, o->restart_ack,
                "sweep even though a read-only registry serves this storage; you restart it afterwards (and flush its redis cache)");
  add_mutation_options(*app, o->mutation);
  return Command{app, [&context, o] { return run_gc(context, *o); }};
}

}  // namespace regsweep::cli
