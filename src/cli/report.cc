// `regsweep report`: what could be reclaimed, changing nothing.
#include "cli.h"
#include "regsweep/error.h"
#include "regsweep/online/registry_client.h"
#include "regsweep/plan/report.h"
#include "regsweep/plan/rm.h"
#include "regsweep/util/format.h"
#include "regsweep/util/table.h"

namespace regsweep::cli {

namespace {

using nlohmann::json;

// What `report REF...` adds: what deleting those (as `rm` would) lets the registry's GC free.
struct Estimate {
  std::vector<std::string> references;
  std::uint64_t tags = 0, manifests = 0;  // what rm would remove with them (referrers included)
  plan::Amount freed;
};

// Online, the model is what the tags reach, read over the API: the storage's own counts
// (unreferenced blobs, untagged manifests, uploads) cannot be seen from there.
// Without --delete-untagged: that would also delete every untagged manifest, chosen or not.
constexpr const char* kOnlineGcCommand = "docker-registry garbage-collect /etc/docker/registry/config.yml";

std::vector<std::string> online_notes() {
  return {"online: an estimate from the manifests the tags reach; blobs no tag reaches, untagged manifests (registry 2.8's "
          "API lists none) and uploads cannot be seen over the API (`regsweep report` on the storage, --root or --config, shows them)",
          std::string("online: nothing is freed until the registry's garbage-collect runs on its host, with the registry stopped or "
                      "read-only: `") + kOnlineGcCommand + "` (your config's path), then restart the registry"};
}

json estimate_json(const Estimate& e) {
  return {{"references", e.references}, {"tags", e.tags}, {"manifests", e.manifests}, {"blobs", e.freed.count}, {"bytes", e.freed.bytes}};
}


json report_json(const storage::Model& model, const plan::StorageReport& r, bool online, const std::optional<Estimate>& estimate) {
  json digests = json::array();
  for (const auto& d : r.unreferenced_digests) digests.push_back(d.str());
  json repos = json::array();
  for (const auto& u : r.repositories)
    repos.push_back({{"name", u.name},
                     {"tags", u.tags},
                     {"revisions", u.revisions},
                     {"untagged_revisions", u.untagged_revisions},
                     {"bytes_referenced", u.bytes_referenced},
                     {"bytes_exclusive", u.bytes_exclusive},
                     {"bytes_shared", u.bytes_shared()}});
  json unreferenced = amount_json(r.unreferenced);
  unreferenced["digests"] = digests;
  if (online) {
    json notes = r.notes;
    for (const std::string& n : online_notes()) notes.push_back(n);
    return {{"root", model.root},
            {"online", true},
            {"referenced_by_tags", amount_json(r.referenced_by_tags)},
            {"estimate", estimate ? estimate_json(*estimate) : json(nullptr)},
            {"garbage_collect", kOnlineGcCommand},
            {"repositories", repos},
            {"notes", notes},
            {"findings", findings_json(model)}};
  }
  return {{"root", model.root},
          {"estimate", estimate ? estimate_json(*estimate) : json(nullptr)},
          {"blobs", amount_json(r.blobs)},
          {"referenced_by_tags", amount_json(r.referenced_by_tags)},
          {"unreferenced", unreferenced},
          {"untagged", {{"manifests", r.untagged_manifests}, {"blobs", r.untagged.count}, {"bytes", r.untagged.bytes}}},
          {"uploads",
           {{"count", r.uploads.count}, {"bytes", r.uploads.bytes}, {"stale", r.stale_uploads.count}, {"stale_bytes", r.stale_uploads.bytes}}},
          {"reclaimable",
           {{"now", r.unreferenced.bytes + r.stale_uploads.bytes},
            {"with_untagged", r.unreferenced.bytes + r.untagged.bytes + r.stale_uploads.bytes}}},
          {"repositories", repos},
          {"notes", r.notes},
          {"findings", findings_json(model)}};
}

void print_estimate(Context& ctx, const Estimate& e) {
  std::string refs;
  for (const std::string& r : e.references) refs += (refs.empty() ? "" : ", ") + r;
  *ctx.out << "Deleting " << refs << " (as `rm` would: " << e.tags << " tag(s), " << e.manifests
           << " manifest(s)) lets the registry's garbage-collect free: " << e.freed.count << " blob(s), "
           << ctx.out_style().bold(ctx.size(e.freed.bytes)) << "\n";
}

void print_repositories(Context& ctx, const plan::StorageReport& r, bool online) {
  if (r.repositories.empty()) return;
  *ctx.out << "\n";
  util::Table t = online ? util::Table({"REPOSITORY", "TAGS", "REFERENCED", "EXCLUSIVE", "SHARED"}, {false, true, true, true, true})
                         : util::Table({"REPOSITORY", "TAGS", "UNTAGGED", "REFERENCED", "EXCLUSIVE", "SHARED"}, {false, true, true, true, true, true});
  for (const auto& u : r.repositories) {
    std::vector<std::string> row = {u.name, std::to_string(u.tags)};
    if (!online) row.push_back(std::to_string(u.untagged_revisions));
    for (std::uint64_t b : {u.bytes_referenced, u.bytes_exclusive, u.bytes_shared()}) row.push_back(ctx.size(b));
    t.add_row(row);
  }
  t.print(*ctx.out, ctx.out_style());
}

void print_online(Context& ctx, const storage::Model& model, const plan::StorageReport& r, const std::optional<Estimate>& estimate) {
  std::ostream& out = *ctx.out;
  out << "Registry: " << model.root << " (online: an estimate)\n\n";
  char buf[160];
  std::snprintf(buf, sizeof buf, "  %-34s %8llu  %10s\n", "blobs the tagged images reference",
                static_cast<unsigned long long>(r.referenced_by_tags.count), ctx.size(r.referenced_by_tags.bytes).c_str());
  out << buf;
  if (estimate) {
    out << "\n";
    print_estimate(ctx, *estimate);
  }
  for (const auto& note : r.notes) out << "note: " << note << "\n";
  for (const auto& note : online_notes()) out << "note: " << note << "\n";
  print_repositories(ctx, r, /*online=*/true);
}

void print_text(Context& ctx, const storage::Model& model, const plan::StorageReport& r, const std::optional<Estimate>& estimate) {
  std::ostream& out = *ctx.out;
  auto line = [&](const std::string& label, const plan::Amount& a, const std::string& note = {}) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "  %-34s %8llu  %10s", label.c_str(), static_cast<unsigned long long>(a.count),
                  ctx.size(a.bytes).c_str());
    out << buf << (note.empty() ? "" : "  " + note) << "\n";
  };
  out << "Storage: " << model.root << "\n\n";
  line("blobs", r.blobs);
  line("referenced by tagged images", r.referenced_by_tags);
  line("unreferenced (garbage-collect now)", r.unreferenced, "what `registry garbage-collect` deletes");
  line("untagged (on top, -m)", r.untagged, std::to_string(r.untagged_manifests) + " untagged manifest revisions");
  line("uploads", r.uploads);
  line("stale uploads (older than 168h)", r.stale_uploads);
  out << "\nReclaimable now: " << ctx.out_style().bold(ctx.size(r.unreferenced.bytes + r.stale_uploads.bytes))
      << "; with untagged manifests deleted: "
      << ctx.size(r.unreferenced.bytes + r.untagged.bytes + r.stale_uploads.bytes) << "\n";
  if (estimate) print_estimate(ctx, *estimate);
  for (const auto& note : r.notes) out << "note: " << note << "\n";
  if (ctx.options.verbose > 0)
    for (const auto& d : r.unreferenced_digests) out << "  unreferenced blob " << d.str() << "\n";
  print_repositories(ctx, r, /*online=*/false);
  if (!model.findings.empty()) out << "\n" << model.findings.size() << " finding(s) in the storage (stderr lists them; -v adds the informational ones; --json has all)\n";
}

void print_csv(Context& ctx, const plan::StorageReport& r) {
  *ctx.out << "repository,tags,revisions,untagged_revisions,bytes_referenced,bytes_exclusive,bytes_shared\n";
  for (const auto& u : r.repositories)
    *ctx.out << util::csv_field(u.name) << ',' << u.tags << ',' << u.revisions << ',' << u.untagged_revisions << ','
             << u.bytes_referenced << ',' << u.bytes_exclusive << ',' << u.bytes_shared() << '\n';
}

Estimate estimate_deleting(const storage::Model& model, const std::vector<std::string>& references) {
  plan::RmRequest request;
  for (const std::string& r : references) request.references.push_back(util::parse_image_reference(r));
  const plan::Plan plan = plan::plan_rm(model, request);
  Estimate e;
  e.references = references;
  for (const plan::Action& a : plan.actions) {
    if (a.kind == plan::ActionKind::RemoveTag) ++e.tags;
    if (a.kind == plan::ActionKind::RemoveRevision) ++e.manifests;
  }
  e.freed = plan::freed_by(model, plan);
  return e;
}

}  // namespace

Command add_report_command(CLI::App& parent, Context& context) {
  auto csv = std::make_shared<bool>(false);
  auto references = std::make_shared<std::vector<std::string>>();
  CLI::App* app = parent.add_subcommand("report", "report reclaimable space (changes nothing); online (--registry), an estimate");
  app->add_flag("--csv", *csv, "the per-repository table as CSV");
  app->add_option("REF", *references,
                  "also estimate what deleting these (repo:tag, repo@sha256:...; as `rm` would) lets the registry's garbage-collect free");
  return Command{app, [&context, csv, references] {
                   if (*csv && context.options.json) throw UsageError("--csv and --json exclude each other", "");
                   if (context.online()) refuse_references_to_another_registry(context, *references);
                   // Online the whole catalog is read: a blob another repository shares is not freed.
                   storage::Model model = context.load_model();
                   plan::StorageReport r = plan::build_report(model, plan::ReportOptions{context.now_ns()});
                   std::optional<Estimate> estimate;
                   if (!references->empty()) estimate = estimate_deleting(model, *references);
                   if (context.options.json)
                     print_json(context, report_json(model, r, context.online(), estimate));
                   else if (*csv)
                     print_csv(context, r);
                   else if (context.online())
                     print_online(context, model, r, estimate);
                   else
                     print_text(context, model, r, estimate);
                   return kExitOk;
                 }};
}

}  // namespace regsweep::cli
