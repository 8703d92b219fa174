// `regsweep fsck`: check the storage, say which tags the problems break, and (--repair)
// fix what cannot lose an intact image, through the one executor.
#include <map>

#include "cli.h"
#include "regsweep/error.h"
#include "regsweep/plan/fsck.h"
#include "regsweep/plan/blind_spots.h"
#include "regsweep/storage/layout.h"
#include "regsweep/storage/verify.h"
#include "regsweep/util/format.h"
#include "regsweep/util/table.h"

namespace regsweep::cli {

namespace {

using nlohmann::json;

struct FsckOptionsCli {
  std::vector<std::string> repositories;
  bool verify = false;
  bool repair = false;
  std::string upload_age = "168h";
  MutationOptions mutation;
};

// The mtime of every *.tmp file the walker reported, by key: the repair keeps young ones.
std::map<std::string, std::int64_t> temp_file_mtimes(Context& ctx, const storage::Model& model) {
  std::map<std::string, std::int64_t> out;
  for (const auto& f : model.findings) {
    if (f.kind != storage::FindingKind::UnexpectedFile || !f.path.ends_with(".tmp")) continue;
    if (f.key.empty()) continue;
    storage::FileStat st = ctx.store().stat(f.key);
    if (st.type == storage::FileType::Regular) out[f.key] = st.mtime_ns;
  }
  return out;
}

plan::FsckReport check(Context& ctx, const storage::Model& model, const FsckOptionsCli& o, const storage::VerifyResult* verified) {
  plan::FsckOptions fo;
  fo.repositories = o.repositories;
  fo.now_ns = ctx.now_ns();
  fo.upload_max_age_ns = duration_option(o.upload_age, "--upload-age") * 1'000'000'000LL;
  fo.verified = verified;
  fo.temp_file_mtimes = temp_file_mtimes(ctx, model);
  plan::FsckReport report = plan::check_storage(model, fo);
  report.repair.arguments = o.repositories;
  return report;
}

json report_json(const plan::FsckReport& r, const storage::VerifyResult* verified) {
  json problems = json::array();
  std::map<std::pair<std::string, std::string>, std::size_t> summary;
  for (const auto& p : r.problems) {
    problems.push_back({{"kind", storage::to_string(p.kind)},
                        {"severity", storage::to_string(p.severity)},
                        {"path", p.path},
                        {"message", p.message},
                        {"breaks", p.breaks},
                        {"repair", p.repair.empty() ? json(nullptr) : json(p.repair)}});
    ++summary[{std::string(storage::to_string(p.kind)), std::string(storage::to_string(p.severity))}];
  }
  json sum = json::array();
  for (const auto& [k, n] : summary) sum.push_back({{"kind", k.first}, {"severity", k.second}, {"count", n}});
  json tags = json::array();
  for (const auto& t : r.tags)
    tags.push_back({{"repository", t.repository},
                    {"tag", t.tag},
                    {"digest", t.digest ? json(t.digest->str()) : json(nullptr)},
                    {"intact", t.intact},
                    {"broken_platforms", t.broken_platforms},
                    {"reasons", t.reasons},
                    {"remove_with", t.intact ? json(nullptr) : json("regsweep rm " + t.repository + ":" + t.tag)}});
  json doc = {{"clean", r.clean()},
              {"checked", {{"repositories", r.repositories}, {"tags", r.tags.size()}, {"blobs", r.blobs}}},
              {"broken_tags", r.broken_tags()},
              {"problems", problems},
              {"summary", sum},
              {"tags", tags}};
  if (verified)
    doc["verify"] = {{"files", verified->files},
                     {"bytes", verified->bytes},
                     {"seconds", verified->seconds},
                     {"bytes_per_second", verified->bytes_per_second()},
                     {"corrupt", verified->corrupt.size()},
                     {"unreadable", verified->unreadable.size()}};
  return doc;
}

void print_report(Context& ctx, const plan::FsckReport& r, const storage::VerifyResult* verified) {
  std::ostream& out = *ctx.out;
  util::Style st = ctx.out_style();
  out << "checked " << r.repositories << " repositories, " << r.tags.size() << " tags, " << r.blobs << " blobs\n";
  if (verified) {
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.2f s", verified->seconds);
    out << "verified " << verified->files << " blobs, " << ctx.size(verified->bytes) << " in " << rate << " ("
        << ctx.size(static_cast<std::uint64_t>(verified->bytes_per_second())) << "/s)\n";
  }
  std::size_t shown = 0;
  for (const auto& p : r.problems) {
    if (p.severity == storage::Severity::Info && ctx.options.verbose == 0) continue;
    if (!shown++) out << "\n";
    std::string sev(storage::to_string(p.severity));
    sev = p.severity == storage::Severity::Error ? st.red(sev) : p.severity == storage::Severity::Warning ? st.yellow(sev) : sev;
    out << sev << ": " << storage::to_string(p.kind) << ": " << p.message << " (" << p.path << ")\n";
    if (!p.breaks.empty()) {
      out << "  breaks:";
      for (const auto& b : p.breaks) out << " " << b;
      out << "\n";
    }
    if (!p.repair.empty()) out << "  repair: " << p.repair << "\n";
  }
  std::map<std::pair<std::string, std::string>, std::size_t> summary;
  for (const auto& p : r.problems) ++summary[{std::string(storage::to_string(p.kind)), std::string(storage::to_string(p.severity))}];
  if (!summary.empty()) {
    out << "\n";
    util::Table t({"PROBLEM", "SEVERITY", "COUNT"}, {false, false, true});
    for (const auto& [k, n] : summary) t.add_row({k.first, k.second, std::to_string(n)});
    t.print(out, st);
  }
  if (r.broken_tags()) {
    out << "\n" << st.bold("tags that cannot be pulled completely:") << "\n";
    for (const auto& t : r.tags) {
      if (t.intact) continue;
      out << "  " << t.repository << ":" << t.tag;
      if (!t.broken_platforms.empty()) {
        out << " (platforms:";
        for (const auto& pl : t.broken_platforms) out << " " << pl;
        out << ")";
      }
      out << "\n";
      for (const auto& why : t.reasons) out << "    " << why << "\n";
      out << "    to remove it: regsweep rm " << t.repository << ":" << t.tag << "\n";
    }
  }
  out << "\n" << (r.tags.size() - r.broken_tags()) << " of " << r.tags.size() << " tags intact; ";
  out << (r.clean() ? st.green("no problems") : st.bold(std::to_string(r.problems.size()) + " problem(s)")) << "\n";
}

int run_fsck(Context& ctx, const FsckOptionsCli& o) {
  const MutationOptions& m = o.mutation;
  const bool read_only = !o.repair || m.dry_run || !m.plan_out.empty();
  if (!o.repair && (m.dry_run || m.yes || !m.plan_out.empty()))
    throw UsageError("--dry-run, --yes and --plan-out go with --repair (fsck alone changes nothing)", "");
  duration_option(o.upload_age, "--upload-age");  // refuse a bad value before any work
  if (!read_only) require_confirmation_channel(ctx, m);

  std::optional<apply::Session> session;
  if (o.repair) session.emplace(ctx.store(), session_options(ctx, read_only, m.force, true), *ctx.err);

  storage::Model model = ctx.walk_again();
  std::optional<storage::VerifyResult> verified;
  if (o.verify) verified = storage::verify_blobs(ctx.store(), model, ctx.jobs(), ctx.progress());
  plan::FsckReport report = check(ctx, model, o, verified ? &*verified : nullptr);

  json doc = report_json(report, verified ? &*verified : nullptr);
  if (!ctx.options.json && !ctx.options.quiet) print_report(ctx, report, verified ? &*verified : nullptr);
  bool clean = report.clean();

  if (o.repair) {
    // What a repair removes is judged by what references it: not while part of the storage is unseen.
    if (!report.repair.actions.empty()) plan::refuse_sweep_with_blind_spots(model, "fsck --repair");
    if (!ctx.options.json && !ctx.options.quiet) *ctx.out << "\nrepair:\n";
    print_plan(ctx, report.repair, m);
    doc["repair"] = {{"plan", plan::plan_to_json(report.repair)}};
    if (!m.plan_out.empty()) {
      doc["plan_out"] = m.plan_out;
    } else if (!report.repair.actions.empty()) {
      auto done = confirm_and_execute(ctx, *session, report.repair, m, "repair these?");
      if (done) {
        doc["repair"]["result"] = run_summary_json(*done);
        print_run_summary(ctx, *done, m);
        if (!m.dry_run) {
          // What is left: walked again; blobs --verify found corrupt and still in place stay so.
          storage::Model after = ctx.walk_again();
          storage::VerifyResult still;
          if (verified)
            for (const auto& c : verified->corrupt)
              if (after.blob_present(c.digest)) still.corrupt.push_back(c);
          plan::FsckReport again = check(ctx, after, o, verified ? &still : nullptr);
          clean = again.clean();
          doc["after_repair"] = report_json(again, nullptr);
          if (!ctx.options.json && !ctx.options.quiet)
            *ctx.out << "after the repair: " << again.problems.size() << " problem(s), " << again.broken_tags() << " of "
                     << again.tags.size() << " tags cannot be pulled completely\n";
        }
      }
    }
  }
  int code = clean ? kExitOk : kExitProblems;
  doc["exit_code"] = code;
  if (ctx.options.json) print_json(ctx, doc);
  return code;
}

}  // namespace

Command add_fsck_command(CLI::App& parent, Context& context) {
  auto o = std::make_shared<FsckOptionsCli>();
  CLI::App* app = parent.add_subcommand("fsck", "check the storage, name the tags its problems break, repair what is safe (exit 4: problems)");
  app->add_option("repositories", o->repositories, "check only these repositories (default: all, and the blobs)");
  app->add_flag("--verify", o->verify, "also hash every blob's data and compare it with its digest");
  app->add_flag("--repair", o->repair, "fix what cannot lose an intact image (each action printed, trashed, audited)");
  app->add_option("--upload-age", o->upload_age, "uploads and *.tmp files older than this may be removed by --repair (default 168h)");
  add_mutation_options(*app, o->mutation);
  return Command{app, [&context, o] { return run_fsck(context, *o); }};
}

}  // namespace regsweep::cli
