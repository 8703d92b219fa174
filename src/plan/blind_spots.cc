#include "regsweep/plan/blind_spots.h"

#include <algorithm>
#include <set>
#include <string>

#include "regsweep/error.h"
#include "regsweep/storage/layout.h"

namespace regsweep::plan {

using storage::Model;
namespace layout = storage::layout;

namespace {

std::string listing(const std::vector<const storage::Finding*>& blind) {
  std::string out;
  for (const storage::Finding* f : blind) out += "\n  " + f->path + ": " + f->message;
  return out;
}

std::string hint_for(const std::vector<const storage::Finding*>& blind) {
  std::string hint = "run regsweep as a user who can read the whole storage (the registry's user, or root)";
  if (std::any_of(blind.begin(), blind.end(), [](const storage::Finding* f) { return f->kind == storage::FindingKind::Symlink; }))
    hint += "; regsweep follows no symbolic link inside the storage although the registry does: move what a "
            "link points at back under the root (or bind-mount it there) first";
  return hint;
}

}  // namespace

void refuse_sweep_with_blind_spots(const Model& model, std::string_view command) {
  std::vector<const storage::Finding*> blind = model.blind_spots();
  if (blind.empty()) return;
  std::string what = std::string(command) + " refused: " + std::to_string(blind.size()) +
                     (blind.size() == 1 ? " part" : " parts") +
                     " of the storage could not be read, and what is there may reference any blob; nothing was changed:";
  what += listing(blind);
  throw SafetyRefusal(what, model.root, hint_for(blind) + ". `rm` of tags in readable repositories still works");
}

std::size_t refuse_blind_spots_in_touched_repositories(const Model& model, const Plan& plan, std::string_view command) {
  std::vector<const storage::Finding*> blind = model.blind_spots();
  if (blind.empty()) return 0;
  std::set<std::string> folders;  // "<root>/docker/registry/v2/repositories/<repo>/" of every repository touched
  for (const Action& a : plan.actions)
    if (!a.repository.empty()) folders.insert(model.root + "/" + layout::repo_dir(a.repository) + "/");
  std::vector<const storage::Finding*> inside;
  for (const storage::Finding* f : blind)
    for (const std::string& folder : folders)
      if ((f->path + "/").starts_with(folder)) {
        inside.push_back(f);
        break;
      }
  if (!inside.empty())
    throw SafetyRefusal(std::string(command) + " refused: part of a repository it changes could not be read, and "
                            "what is there (a tag, a revision, a referrer) is unknown; nothing was changed:" + listing(inside),
                        model.root, hint_for(inside));
  return blind.size();
}

}  // namespace regsweep::plan
