// `regsweep fsck`: check the storage, say which tags the problems break, and (--repair)
// fix what cannot lose an intact image, through the one executor.
#include <map>

#include "cli.h"
#include "pipeline.h"
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

// fsck --repair's part in the pipeline: the report first, then the repair plan; after the
// run, the storage checked again for what is left (exit 4 while problems remain).
class FsckRepairCommand : public MutationCommand {
 public:
  FsckRepairCommand(Context& ctx, const FsckOptionsCli& o) : ctx_(ctx), o_(o) {}

  bool shows_findings() const override { return false; }  // the report says them
  plan::Plan plan(const storage::Model& model) override {
    verified_.reset();
    if (o_.verify) verified_ = storage::verify_blobs(ctx_.store(), model, ctx_.jobs(), ctx_.progress());
    report_ = check(ctx_, model, o_, verified_ ? &*verified_ : nullptr);
    clean_ = report_.clean();
    model_ = &model;
    return report_.repair;
  }
  bool runs_empty_plans() const override { return false; }
  void show(const plan::Plan& plan, const MutationOptions& m) override {
    if (!ctx_.options.json && !ctx_.options.quiet) {
      print_report(ctx_, report_, verified_ ? &*verified_ : nullptr);
    }
    // What a repair removes is judged by what references it: not while part of the storage is
    // unseen (refused once the report is out).
    if (!plan.actions.empty()) plan::refuse_sweep_with_blind_spots(*model_, "fsck --repair");
    if (!ctx_.options.json && !ctx_.options.quiet) *ctx_.out << "\nrepair:\n";
    print_plan(ctx_, plan, m);
  }
  json plan_out_document(const plan::Plan& plan, const MutationOptions& m) override {
    json doc = document(plan, {}, m);
    doc["plan_out"] = m.plan_out;
    return doc;
  }
  json document(const plan::Plan& plan, const storage::Model&, const MutationOptions&) override {
    json doc = report_json(report_, verified_ ? &*verified_ : nullptr);
    doc["repair"] = {{"plan", plan::plan_to_json(plan)}};
    doc["exit_code"] = exit_code();
    return doc;
  }
  void after_run(const apply::RunSummary&, json& doc, const MutationOptions& m) override {
    doc["repair"]["result"] = doc["result"];
    doc.erase("result");
    if (!m.dry_run) {
      // What is left: walked again; blobs --verify found corrupt and still in place stay so.
      storage::Model after = ctx_.walk_again();
      storage::VerifyResult still;
      if (verified_)
        for (const auto& c : verified_->corrupt)
          if (after.blob_present(c.digest)) still.corrupt.push_back(c);
      again_ = check(ctx_, after, o_, verified_ ? &still : nullptr);
      clean_ = again_->clean();
      doc["after_repair"] = report_json(*again_, nullptr);
    }
    doc["exit_code"] = exit_code();
  }
  void last_words(const MutationOptions&) override {
    if (again_ && !ctx_.options.json && !ctx_.options.quiet)
      *ctx_.out << "after the repair: " << again_->problems.size() << " problem(s), " << again_->broken_tags() << " of "
                << again_->tags.size() << " tags cannot be pulled completely\n";
  }
  int exit_code() const override { return clean_ ? kExitOk : kExitProblems; }
  std::string question() const override { return "repair these?"; }

 private:
  Context& ctx_;
  const FsckOptionsCli& o_;
  std::optional<storage::VerifyResult> verified_;
  plan::FsckReport report_;
  std::optional<plan::FsckReport> again_;
  bool clean_ = true;
  const storage::Model* model_ = nullptr;  // the walk the plan was made from (the pipeline's)
};

int run_fsck(Context& ctx, const FsckOptionsCli& o) {
  const MutationOptions& m = o.mutation;
  const bool read_only = !o.repair || m.dry_run || !m.plan_out.empty();
  if (!o.repair && (m.dry_run || m.yes || !m.plan_out.empty()))
    throw UsageError("--dry-run, --yes and --plan-out go with --repair (fsck alone changes nothing)", "");
  duration_option(o.upload_age, "--upload-age");  // refuse a bad value before any work
  if (!read_only) require_confirmation_channel(ctx, m);

  if (o.repair) {
    apply::Session session(ctx.store(), session_options(ctx, read_only, m.force, true), *ctx.err);
    FsckRepairCommand command(ctx, o);
    return run_mutation(ctx, session, command, m);
  }
  // Only the check: no session (nothing is locked or written).
  storage::Model model = ctx.walk_again();
  std::optional<storage::VerifyResult> verified;
  if (o.verify) verified = storage::verify_blobs(ctx.store(), model, ctx.jobs(), ctx.progress());
  plan::FsckReport report = check(ctx, model, o, verified ? &*verified : nullptr);
  if (!ctx.options.json && !ctx.options.quiet) print_report(ctx, report, verified ? &*verified : nullptr);
  const int code = report.clean() ? kExitOk : kExitProblems;
  if (ctx.options.json) {
    json doc = report_json(report, verified ? &*verified : nullptr);
    doc["exit_code"] = code;
    print_json(ctx, doc);
  }
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
