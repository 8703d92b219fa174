// `regsweep why`: the paths by which tags keep a digest alive, or what deleting a tag frees.
#include "cli.h"
#include "regsweep/error.h"
#include "regsweep/plan/why.h"
#include "regsweep/util/reference.h"

namespace regsweep::cli {

namespace {

using nlohmann::json;


std::string verdict_of(const plan::DigestWhy& w) {
  if (w.path_count) return "kept by tags";
  if (!w.untagged_revisions.empty()) return "kept by untagged manifests";
  return w.referenced_by_gc ? "kept by the registry's garbage-collect" : "unreferenced";
}

int why_digest(Context& ctx, const Digest& digest) {
  const storage::Model model = ctx.load_model();
  const plan::DigestWhy w = plan::why_digest(model, digest);
  const std::string verdict = verdict_of(w);
  if (ctx.options.json) {
    json paths = json::array();
    for (const plan::KeepPath& p : w.paths) {
      json steps = json::array();
      for (const plan::KeepStep& s : p.steps) steps.push_back({{"role", plan::to_string(s.role)}, {"digest", s.digest.str()}});
      paths.push_back({{"repository", p.repository}, {"tag", p.tag}, {"steps", steps}});
    }
    json untagged = json::array();
    for (const auto& [repo, d] : w.untagged_revisions) untagged.push_back({{"repository", repo}, {"digest", d.str()}});
    print_json(ctx, {{"digest", w.digest.str()}, {"blob", w.blob}, {"manifest", w.manifest}, {"size", w.size},
                     {"verdict", verdict}, {"path_count", w.path_count}, {"paths", paths}, {"untagged_revisions", untagged}});
    return kExitOk;
  }
  std::ostream& out = *ctx.out;
  out << w.digest.str() << (w.manifest ? " (a manifest" : " (a blob") << (w.blob ? ", " + ctx.size(w.size) + ")" : ", its blob is missing)")
      << "\n";
  if (w.path_count) {
    out << "kept by " << w.path_count << " path(s) from tags:\n";
    for (const plan::KeepPath& p : w.paths) {
      out << "  " << p.repository << ":" << p.tag;
      for (const plan::KeepStep& s : p.steps) out << " -> " << plan::to_string(s.role) << " " << short_digest(s.digest);
      out << "\n";
    }
    if (w.path_count > w.paths.size()) out << "  ... and " << (w.path_count - w.paths.size()) << " more (--json lists the first " << w.paths.size() << ")\n";
  }
  if (!w.untagged_revisions.empty()) {
    out << (w.path_count ? "also referenced" : "no tag reaches it; the registry's garbage-collect (without -m) keeps it") << " through "
        << w.untagged_revisions.size() << " untagged manifest(s):\n";
    for (const auto& [repo, d] : w.untagged_revisions) out << "  " << repo << "@" << d.str() << "\n";
    if (!w.path_count) out << "`regsweep gc --delete-untagged` (gc -m) frees it\n";
  }
  if (!w.path_count && w.untagged_revisions.empty())
    out << (w.referenced_by_gc ? "no tag reaches it, but a revision link the registry reads does: the next gc keeps it\n"
                               : "unreferenced: the next gc frees it\n");
  return kExitOk;
}

int why_tag(Context& ctx, const std::string& repository, const std::string& tag) {
  const storage::Model model = ctx.load_model();
  const plan::TagWhy w = plan::why_tag(model, repository, tag);
  if (ctx.options.json) {
    json shared = json::array();
    for (const plan::SharedBlob& s : w.shared) shared.push_back({{"digest", s.digest.str()}, {"size", s.size}, {"tags", s.tags}});
    print_json(ctx, {{"repository", w.repository}, {"tag", w.tag}, {"digest", w.manifest.str()},
                     {"deleted_with_it", w.same_digest_tags}, {"closure", amount_json(w.closure)},
                     {"exclusive", amount_json(w.exclusive)}, {"shared", shared}, {"freed", amount_json(w.freed)},
                     {"freed_with_m", amount_json(w.freed_with_m)}});
    return kExitOk;
  }
  std::ostream& out = *ctx.out;
  auto amount = [&](const plan::Amount& a) { return std::to_string(a.count) + " blob(s), " + ctx.size(a.bytes); };
  out << w.repository << ":" << w.tag << " -> " << w.manifest.str() << "\n";
  out << "the image reaches " << amount(w.closure) << "; no other tag reaches " << amount(w.exclusive) << "\n";
  if (!w.shared.empty()) {
    out << "shared with other tags:\n";
    for (const plan::SharedBlob& s : w.shared) {
      std::string tags;
      for (std::size_t i = 0; i < s.tags.size() && i < 5; ++i) tags += (i ? ", " : "") + s.tags[i];
      if (s.tags.size() > 5) tags += ", and " + std::to_string(s.tags.size() - 5) + " more";
      out << "  " << short_digest(s.digest) << " (" << ctx.size(s.size) << "): " << tags << "\n";
    }
  }
  out << "deleting it (as `rm " << w.repository << ":" << w.tag << "` would, referrers included";
  for (std::size_t i = 0; i < w.same_digest_tags.size(); ++i) out << (i ? ", " : "; with ") << w.same_digest_tags[i];
  if (!w.same_digest_tags.empty()) out << ", which name the same digest";
  out << ") lets garbage-collect free " << ctx.out_style().bold(amount(w.freed)) << "\n";
  if (w.freed_with_m.count) out << "gc -m frees " << amount(w.freed_with_m) << " more (untagged manifests hold them)\n";
  return kExitOk;
}

}  // namespace

Command add_why_command(CLI::App& parent, Context& context) {
  auto what = std::make_shared<std::string>();
  CLI::App* app = parent.add_subcommand("why", "why a digest is kept (the paths from tags), or what deleting a tag frees");
  app->add_option("WHAT", *what, "sha256:<hex> (a blob or a manifest), REPO@sha256:<hex>, or REPO:TAG")->required();
  return Command{app, [&context, what] {
                   if (what->starts_with("sha256:")) {
                     std::optional<Digest> d = Digest::parse(*what);
                     if (!d) throw UsageError("not a digest (sha256:<64 hex>)", *what);
                     return why_digest(context, *d);
                   }
                   const util::ImageReference ref = util::parse_image_reference(*what);
                   if (ref.digest) return why_digest(context, *ref.digest);
                   return why_tag(context, ref.repository, ref.tag);
                 }};
}

}  // namespace regsweep::cli
