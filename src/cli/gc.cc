// `regsweep gc`: multi-arch- and referrer-safe mark & sweep.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli.h"
#include "pipeline.h"
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

// gc's part in the pipeline: the mark and sweep plan, its counts, the registry's own blob
// sweep with --registry-bin, and what a read-only registry serving the storage needs.
class GcCommand : public MutationCommand {
 public:
  GcCommand(Context& ctx, const GcOptions& o, const plan::GcRequest& req, std::vector<apply::LiveRegistry>& readonly)
      : ctx_(ctx), o_(o), req_(req), readonly_(readonly) {}

  plan::Plan plan(const storage::Model& model) override {
    gc_ = plan::plan_gc(model, req_);
    gc_.plan.arguments = {o_.delete_untagged ? "--delete-untagged" : "", "--min-age=" + o_.min_age,
                          "--uploads-older-than=" + o_.uploads_older_than};
    std::erase(gc_.plan.arguments, "");
    young_.clear();
    if (!o_.registry_bin.empty()) {
      // Refused before anything is written: the young blobs the registry's collector would
      // take once our steps are done.
      const MutationOptions& m = o_.mutation;
      young_ = plan::young_blobs_registry_gc_would_delete(model, gc_.plan, req_.min_age_s, req_.uploads_older_than_s, req_.now_ns);
      if (!young_.empty() && !m.dry_run && m.plan_out.empty()) throw young_blobs_refusal(ctx_, o_, young_, req_.now_ns, "");
      if (!young_.empty() && m.dry_run) {
        SafetyRefusal would = young_blobs_refusal(ctx_, o_, young_, req_.now_ns, "");
        *ctx_.err << ctx_.severity_prefix("warning") << would.what() << "; without --dry-run gc refuses (exit 3)\n"
                  << ctx_.err_style().dim("hint: ") << would.hint() << "\n";
      }
    }
    return std::move(gc_.plan);  // kept once: the pipeline holds it from here
  }

  // A gc sweeps, by itself or through the registry's collector.
  bool sweeps(const plan::Plan&) const override { return true; }

  void show(const plan::Plan& plan, const MutationOptions& m) override {
    if (ctx_.options.verbose > 0 || !m.plan_out.empty())
      print_plan(ctx_, plan, m);
    else
      print_notes(ctx_, plan);  // why more is kept than the counts alone would say
    if (o_.registry_bin.empty()) print_gc_stats(ctx_, gc_.stats, shown(m, false));
  }

  json document(const plan::Plan& plan, const storage::Model& model, const MutationOptions& m) override {
    json doc = {{"dry_run", m.dry_run}, {"mark", o_.delete_untagged ? "tags" : "revisions"}, {"summary", gc_stats_json(gc_.stats)},
                {"notes", plan.notes}, {"findings", findings_json(model)}};
    if (ctx_.options.verbose > 0) doc["plan"] = plan::plan_to_json(plan);
    return doc;
  }

  void after_run(const apply::RunSummary& summary, json& doc, const MutationOptions& m) override {
    if (!o_.registry_bin.empty()) {
      doc["registry_gc"] = sweep_with_registry(ctx_, o_, req_, m.dry_run ? std::string() : summary.run_id);
      json young_json = json::array();  // not empty only in a dry run: a real one refuses
      for (const plan::YoungBlob& b : young_) young_json.push_back(b.digest.str());
      doc["registry_gc"]["young_blobs"] = young_json;
    } else if (!m.dry_run && !ctx_.options.json && !ctx_.options.quiet) {
      print_gc_stats(ctx_, gc_.stats, shown(m, true));
    }
    // What the operator must do about the read-only registry's cache.
    if (readonly_.empty() || m.dry_run) return;
    long long blobs = o_.registry_bin.empty() ? static_cast<long long>(gc_.stats.blobs) : -1;
    if (blobs != 0) advice_ = apply::restart_advice(readonly_, blobs, ctx_.registry_config());
    else advice_ = "regsweep: no blob was swept: the read-only registry's cache is still right, it need not be restarted";
    json restart = {{"required", blobs != 0}, {"message", advice_}, {"registries", json::array()}};
    for (const auto& r : readonly_) {
      const auto& c = r.config ? r.config : ctx_.registry_config();
      auto flush = c ? apply::redis_flush_command(*c) : std::nullopt;
      restart["registries"].push_back({{"pid", r.pid}, {"description", r.description},
                                       {"blobdescriptor_cache", c ? c->blobdescriptor_cache : ""},
                                       {"redis_flush", flush ? json(*flush) : json(nullptr)}});
    }
    doc["registry_restart"] = restart;
  }

  void last_words(const MutationOptions&) override {
    if (advice_.empty()) return;
    if (ctx_.options.json) {
      ctx_.out->flush();
      *ctx_.err << advice_ << "\n" << std::flush;
    } else {
      *ctx_.out << advice_ << "\n" << std::flush;
    }
  }

  // A run stopped part-way under a read-only registry may have swept some blobs: the advice
  // is printed before the error.
  void on_error(const MutationOptions& m) override {
    if (!readonly_.empty() && !m.dry_run)
      *ctx_.err << apply::restart_advice(readonly_, -1, ctx_.registry_config()) << " (if any blob was swept before it stopped)\n";
  }

  std::string question() const override { return "sweep these?"; }

 private:
  GcStatsShown shown(const MutationOptions& m, bool done) const {
    return GcStatsShown{m.dry_run, done, o_.delete_untagged, o_.prune_empty_repos, o_.min_age};
  }

  Context& ctx_;
  const GcOptions& o_;
  const plan::GcRequest& req_;
  std::vector<apply::LiveRegistry>& readonly_;
  plan::GcPlan gc_;
  std::vector<plan::YoungBlob> young_;  // what the registry's collector would take too early
  std::string advice_;
};

int run_gc(Context& ctx, const GcOptions& o) {
  plan::GcRequest req;
  req.delete_untagged = o.delete_untagged;
  req.min_age_s = duration_option(o.min_age, "--min-age");
  req.uploads_older_than_s = duration_option(o.uploads_older_than, "--uploads-older-than");
  req.prune_empty_repos = o.prune_empty_repos;
  req.trash_blobs = o.trash;
  req.sweep_blobs = o.registry_bin.empty();  // else the registry sweeps the blobs itself
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
  GcCommand command(ctx, o, req, readonly);
  return run_mutation(ctx, session, command, m);
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
