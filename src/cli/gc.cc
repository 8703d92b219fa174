// `regsweep gc`: multi-arch- and referrer-safe mark & sweep.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cli.h"
#include "regsweep/apply/live_registry.h"
#include "regsweep/error.h"
#include "regsweep/plan/gc.h"
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
}

namespace {

std::uint64_t blob_bytes_on_disk(Context& ctx) {
  storage::Model m = ctx.walk_again();
  std::uint64_t total = 0;
  for (const auto& b : m.blobs) total += b.has_data ? b.size : 0;
  return total;
}

// Runs `<bin> garbage-collect [--dry-run] <config>` for the blob sweep.
int run_registry_gc(Context& ctx, const GcOptions& o) {
  std::string config = ctx.options.config.value_or("");
  std::string temp;
  if (config.empty()) {
    temp = (std::filesystem::temp_directory_path() / ("regsweep-gc-" + std::to_string(::getpid()) + ".yml")).string();
    std::ofstream f(temp);
    f << "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: " << json(ctx.root()).dump()
      << "\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n";
    config = temp;
  }
  std::string cmd = "'" + o.registry_bin + "' garbage-collect " + (o.mutation.dry_run ? "--dry-run " : "") + "'" + config + "' 2>&1";
  std::fflush(nullptr);
  *ctx.err << "regsweep: running " << o.registry_bin << " garbage-collect" << (o.mutation.dry_run ? " --dry-run " : " ") << config
           << "\n";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw Error("cannot run the registry's garbage-collect", o.registry_bin);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) (ctx.options.json ? *ctx.err : *ctx.out).write(buf, static_cast<std::streamsize>(n));
  int status = ::pclose(p);
  if (!temp.empty()) std::filesystem::remove(temp);
  if (status != 0) throw Error("the registry's garbage-collect failed (exit status " + std::to_string(status) + ")", o.registry_bin);
  return 0;
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
  apply::Session session(*ctx.fs, ctx.root(), so, *ctx.err);
  if (!m.force && !read_only && !readonly.empty() && !o.restart_ack)
    throw SafetyRefusal("a read-only registry serves this storage (" + readonly.front().description +
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
  if (!o.registry_bin.empty())  // the registry sweeps the blobs itself
    std::erase_if(gc.plan.actions, [](const plan::Action& a) {
      return a.kind == plan::ActionKind::RemoveBlob || a.kind == plan::ActionKind::RemoveLayerLink;
    });
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
    std::uint64_t before = blob_bytes_on_disk(ctx);
    try {
      run_registry_gc(ctx, o);
    } catch (const Error&) {
      advise_on_error();
      throw;
    }
    std::uint64_t after = blob_bytes_on_disk(ctx);
    doc["registry_gc"] = {{"bytes_before", before}, {"bytes_after", after}, {"bytes_freed", before - after}};
    if (!ctx.options.json && !ctx.options.quiet)
      *ctx.out << "the registry's garbage-collect freed " << ctx.size_and_bytes(before - after) << "\n";
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
