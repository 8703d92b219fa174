// `regsweep report`: what could be reclaimed, changing nothing.
#include "cli.h"
#include "regsweep/error.h"
#include "regsweep/plan/report.h"
#include "regsweep/util/format.h"
#include "regsweep/util/table.h"

namespace regsweep::cli {

namespace {

using nlohmann::json;

json amount_json(const plan::Amount& a) { return {{"count", a.count}, {"bytes", a.bytes}}; }

json report_json(const storage::Model& model, const plan::StorageReport& r) {
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
  return {{"root", model.root},
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

void print_text(Context& ctx, const storage::Model& model, const plan::StorageReport& r) {
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
  for (const auto& note : r.notes) out << "note: " << note << "\n";
  if (ctx.options.verbose > 0)
    for (const auto& d : r.unreferenced_digests) out << "  unreferenced blob " << d.str() << "\n";
  if (!r.repositories.empty()) {
    out << "\n";
    util::Table t({"REPOSITORY", "TAGS", "UNTAGGED", "REFERENCED", "EXCLUSIVE", "SHARED"}, {false, true, true, true, true, true});
    for (const auto& u : r.repositories)
      t.add_row({u.name, std::to_string(u.tags), std::to_string(u.untagged_revisions), ctx.size(u.bytes_referenced),
                 ctx.size(u.bytes_exclusive), ctx.size(u.bytes_shared())});
    t.print(out, ctx.out_style());
  }
  if (!model.findings.empty()) out << "\n" << model.findings.size() << " finding(s) in the storage (stderr lists them; -v adds the informational ones; --json has all)\n";
}

void print_csv(Context& ctx, const plan::StorageReport& r) {
  *ctx.out << "repository,tags,revisions,untagged_revisions,bytes_referenced,bytes_exclusive,bytes_shared\n";
  for (const auto& u : r.repositories)
    *ctx.out << util::csv_field(u.name) << ',' << u.tags << ',' << u.revisions << ',' << u.untagged_revisions << ','
             << u.bytes_referenced << ',' << u.bytes_exclusive << ',' << u.bytes_shared() << '\n';
}

}  // namespace

Command add_report_command(CLI::App& parent, Context& context) {
  auto csv = std::make_shared<bool>(false);
  CLI::App* app = parent.add_subcommand("report", "report reclaimable space (changes nothing)");
  app->add_flag("--csv", *csv, "the per-repository table as CSV");
  return Command{app, [&context, csv] {
                   if (*csv && context.options.json) throw UsageError("--csv and --json exclude each other", "");
                   storage::Model model = context.load_model();
                   plan::StorageReport r = plan::build_report(model, plan::ReportOptions{context.now_ns()});
                   if (context.options.json)
                     print_json(context, report_json(model, r));
                   else if (*csv)
                     print_csv(context, r);
                   else
                     print_text(context, model, r);
                   return kExitOk;
                 }};
}

}  // namespace regsweep::cli
