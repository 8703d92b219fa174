// `regsweep ls [REPO[:TAG]]`: repositories, or the tags of one repository.
#include <algorithm>

#include "cli.h"
#include "regsweep/storage/layout.h"
#include "regsweep/error.h"
#include "regsweep/plan/reachability.h"
#include "regsweep/plan/report.h"
#include "regsweep/storage/image_info.h"
#include "regsweep/util/format.h"
#include "regsweep/util/table.h"

namespace regsweep::cli {

namespace {

using nlohmann::json;
using storage::Model;

struct TagRow {
  std::string name;
  std::optional<Digest> digest;
  std::string media_type;
  std::vector<std::string> platforms;
  std::uint64_t size = 0;
  std::int64_t pushed_ns = 0;
  std::optional<std::string> created;
};

TagRow tag_row(Context& ctx, const Model& model, const storage::Repository& repo, const storage::TagLink& tag, bool with_created) {
  TagRow row;
  row.name = tag.name;
  row.digest = tag.current;
  row.pushed_ns = tag.pushed_ns;
  if (!tag.current) return row;
  if (const auto* m = model.find_manifest(*tag.current)) row.media_type = m->parsed.media_type;
  row.platforms = plan::index_platforms(model, *tag.current);
  row.size = plan::image_bytes(model, *tag.current);
  if (with_created) row.created = ctx.image_created(model, repo.name, *tag.current);
  return row;
}

json tag_json(const TagRow& r) {
  return {{"name", r.name},
          {"digest", r.digest ? json(r.digest->str()) : json(nullptr)},
          {"media_type", r.media_type},
          {"platforms", r.platforms},
          {"size", r.size},
          {"pushed", r.pushed_ns ? json(util::rfc3339_utc(r.pushed_ns)) : json(nullptr)},
          {"created", r.created ? json(*r.created) : json(nullptr)}};
}

// The image config's `created`, in local time like `pushed`; as written when it is not RFC 3339.
std::string created_cell(const Context& ctx, const std::optional<std::string>& created) {
  if (!created) return "-";
  auto ns = util::parse_rfc3339(*created);
  return ns && *ns > 0 ? ctx.time(*ns) : *created;  // "0001-01-01T00:00:00Z" (Go zero time) as written
}

// "team/app" of "team/app:v1".
std::string repository_of(const std::string& ref) {
  auto colon = ref.rfind(':');
  return colon != std::string::npos && ref.find('/', colon) == std::string::npos ? ref.substr(0, colon) : ref;
}

std::string short_digest_or_none(const std::optional<Digest>& d) { return d ? short_digest(*d) : "(none)"; }

int list_repositories(Context& ctx, const Model& model) {
  auto usage = plan::repository_usage(model);
  if (ctx.options.json) {
    json repos = json::array();
    for (std::size_t i = 0; i < model.repositories.size(); ++i) {
      const auto& repo = model.repositories[i];
      const auto& u = usage[i];
      json tags = json::array();
      for (const auto& t : repo.tags) tags.push_back(tag_json(tag_row(ctx, model, repo, t, /*with_created=*/false)));
      repos.push_back({{"name", repo.name},
                       {"tags", tags},
                       {"tag_count", u.tags},
                       {"revision_count", u.revisions},
                       {"untagged_revisions", u.untagged_revisions},
                       {"layer_links", repo.layers.size()},
                       {"uploads", repo.uploads.size()},
                       {"bytes_referenced", u.bytes_referenced},
                       {"bytes_exclusive", u.bytes_exclusive}});
    }
    print_json(ctx, {{"root", model.root}, {"repositories", repos}, {"findings", findings_json(model)}});
    return kExitOk;
  }
  util::Table table({"REPOSITORY", "TAGS", "REVISIONS", "UNTAGGED", "REFERENCED", "EXCLUSIVE"},
                    {false, true, true, true, true, true});
  for (const auto& u : usage)
    table.add_row({u.name, std::to_string(u.tags), std::to_string(u.revisions), std::to_string(u.untagged_revisions),
                   ctx.size(u.bytes_referenced), ctx.size(u.bytes_exclusive)});
  const std::size_t blind = model.blind_spots().size();
  if (table.empty() && blind == 0)
    *ctx.out << "no repositories in " << model.root << "\n";
  else if (!table.empty())
    table.print(*ctx.out, ctx.out_style());
  if (blind)  // never "no repositories": some may be where the walk could not look
    *ctx.out << ctx.out_style().red("incomplete: ") << blind << (blind == 1 ? " part" : " parts") << " of " << model.root
             << " could not be read (named above); repositories there are not listed\n";
  return kExitOk;
}

int list_tags(Context& ctx, const Model& model, const std::string& ref) {
  const std::string repo_name = repository_of(ref);
  const std::string tag_name = repo_name.size() < ref.size() ? ref.substr(repo_name.size() + 1) : std::string();
  const auto* repo = model.find_repository(repo_name);
  if (!repo)
    throw Error("no such repository: " + repo_name,
                ctx.online() ? model.root + "/v2/" + repo_name + "/tags/list" : model.root + "/docker/registry/v2/repositories/" + repo_name);
  std::vector<TagRow> rows;
  for (const auto& t : repo->tags)
    if (tag_name.empty() || t.name == tag_name) rows.push_back(tag_row(ctx, model, *repo, t, /*with_created=*/true));
  if (!tag_name.empty() && rows.empty())
    throw Error("no such tag: " + repo_name + ":" + tag_name,
                ctx.online() ? model.root + "/v2/" + repo_name + "/tags/list" : ctx.store().locate(storage::layout::tag_dir(repo_name, tag_name)));
  if (ctx.options.json) {
    json tags = json::array();
    for (const auto& r : rows) tags.push_back(tag_json(r));
    auto usage = plan::repository_usage(model);
    const auto& u = usage[static_cast<std::size_t>(repo - model.repositories.data())];
    json revisions = json::array();
    for (const auto& rev : repo->revisions) revisions.push_back(rev.digest.str());
    json repo_json = {{"name", repo->name},
                      {"tags", tags},
                      {"tag_count", u.tags},
                      {"revision_count", u.revisions},
                      {"untagged_revisions", u.untagged_revisions},
                      {"revisions", revisions},
                      {"bytes_referenced", u.bytes_referenced},
                      // Online only this repository was read: what no other one shares is unknown.
                      {"bytes_exclusive", ctx.online() ? json(nullptr) : json(u.bytes_exclusive)}};
    print_json(ctx, {{"root", model.root}, {"repositories", json::array({repo_json})}, {"findings", findings_json(model)}});
    return kExitOk;
  }
  util::Table table({"TAG", "DIGEST", "TYPE", "PLATFORMS", "SIZE", "PUSHED", "CREATED"},
                    {false, false, false, false, true, false, false});
  for (const auto& r : rows) {
    std::string platforms;
    for (const auto& p : r.platforms) platforms += (platforms.empty() ? "" : ",") + p;
    std::string type = r.media_type;
    if (auto slash = type.rfind('/'); slash != std::string::npos) type = type.substr(slash + 1);
    table.add_row({r.name, short_digest_or_none(r.digest), type, platforms.empty() ? "-" : platforms, ctx.size(r.size),
                   r.pushed_ns ? ctx.time(r.pushed_ns) : "-", created_cell(ctx, r.created)});
  }
  table.print(*ctx.out, ctx.out_style());
  return kExitOk;
}

}  // namespace

Command add_ls_command(CLI::App& parent, Context& context) {
  auto ref = std::make_shared<std::string>();
  CLI::App* app = parent.add_subcommand("ls", "list repositories, or the tags of REPO[:TAG]");
  app->add_option("ref", *ref, "a repository (team/app) or one tag (team/app:v1)");
  return Command{app, [&context, ref] {
                   if (ref->empty()) return list_repositories(context, context.load_model());
                   // Online, one repository is read, not the catalog: a user allowed to pull only
                   // it can list it. Its exclusive bytes are then among what was read.
                   Model model = context.online() ? context.load_online_model({repository_of(*ref)}) : context.load_model();
                   return list_tags(context, model, *ref);
                 }};
}

}  // namespace regsweep::cli
