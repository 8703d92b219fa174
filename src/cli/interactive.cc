// `regsweep interactive` (also `regsweep -i`): the menu the original tool's users had,
// on the storage. Reads answers line by line from stdin, so it works piped as on a terminal.
#include <algorithm>
#include <iostream>
#include <map>
#include <optional>

#include "cli.h"
#include "pipeline.h"
#include "regsweep/apply/live_registry.h"
#include "regsweep/error.h"
#include "regsweep/plan/gc.h"
#include "regsweep/plan/report.h"
#include "regsweep/plan/rm.h"
#include "regsweep/util/format.h"
#include "regsweep/util/selection.h"
#include "regsweep/util/table.h"

namespace regsweep::cli {

namespace {

struct InteractiveOptions {
  bool dry_run = false;
  bool force = false;
};

class Menu {
 public:
  Menu(Context& ctx, const InteractiveOptions& o) : ctx_(ctx), o_(o) {}

  int run() {
    check_live_registry();
    while (true) {
      storage::Model model = ctx_.load_model();
      auto usage = plan::repository_usage(model);
      out() << "\nRepositories in " << model.root << ":\n";
      util::Table t({"#", "REPOSITORY", "TAGS", "REFERENCED", "EXCLUSIVE"}, {true, false, true, true, true});
      for (std::size_t i = 0; i < usage.size(); ++i)
        t.add_row({std::to_string(i + 1), usage[i].name, std::to_string(usage[i].tags), ctx_.size(usage[i].bytes_referenced),
                   ctx_.size(usage[i].bytes_exclusive)});
      t.print(out(), ctx_.out_style());
      // A wrong answer asks again, without the list scrolling away.
      while (true) {
        out() << "choose a repository number, g) garbage-collect, q) quit: " << std::flush;
        std::string line;
        if (!ask(line) || line == "q") return kExitOk;
        if (line == "g") {
          garbage_collect(model);
          break;
        }
        auto pick = util::parse_selection(line, usage.size());
        if (!pick || pick->size() != 1) {
          out() << "not a repository number: " << line << "\n";
          continue;
        }
        repository(model, model.repositories[pick->front() - 1]);
        break;
      }
    }
  }

 private:
  std::ostream& out() { return *ctx_.out; }

  bool ask(std::string& line) {
    if (!std::getline(std::cin, line)) return false;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    while (!line.empty() && line.front() == ' ') line.erase(0, 1);
    return true;
  }

  bool confirmed(const std::string& question) {
    out() << question << " [y/N] " << std::flush;
    std::string line;
    return ask(line) && (line == "y" || line == "Y" || line == "yes");
  }

  // Before the first question: a registry serving the root is refused now, not after the
  // user has chosen and confirmed. A read-only one is said once (tags may go; gc will not).
  void check_live_registry() {
    if (o_.dry_run || o_.force) return;
    std::vector<apply::LiveRegistry> serving, readonly;
    for (const apply::LiveRegistry& live : apply::find_live_registries(ctx_.root(), ctx_.registry_config()))
      (live.readonly && !live.root_unknown ? readonly : serving).push_back(live);
    if (!serving.empty()) throw apply::serving_refusal(serving, ctx_.root());
    if (!readonly.empty())
      *ctx_.err << "regsweep: note: a read-only registry serves this storage (" << apply::describe_live_registries(readonly)
                << "): tags can be deleted here, but g) will not sweep under it\n";
  }

  void repository(const storage::Model& model, const storage::Repository& repo) {
    // Tags grouped by digest (numbered one by one, shown together), newest push first: the
    // groups by their newest tag, the tags of a group likewise; ties by name.
    auto newer = [](const storage::TagLink* a, const storage::TagLink* b) {
      return a->pushed_ns != b->pushed_ns ? a->pushed_ns > b->pushed_ns : a->name < b->name;
    };
    std::map<std::string, std::vector<const storage::TagLink*>> by_digest;
    for (const auto& t : repo.tags) by_digest[t.current ? t.current->str() : std::string("(unreadable)")].push_back(&t);
    std::vector<std::pair<std::string, std::vector<const storage::TagLink*>>> groups(by_digest.begin(), by_digest.end());
    for (auto& [digest, tags] : groups) std::sort(tags.begin(), tags.end(), newer);
    std::sort(groups.begin(), groups.end(), [&](const auto& a, const auto& b) { return newer(a.second.front(), b.second.front()); });
    std::vector<const storage::TagLink*> numbered;
    out() << "\n" << repo.name << ":\n";
    util::Table t({"#", "TAG", "DIGEST", "PUSHED", "SIZE"}, {true, false, false, false, true});
    for (const auto& [digest, tags] : groups) {
      std::uint64_t size = tags.front()->current ? plan::image_bytes(model, *tags.front()->current) : 0;
      for (std::size_t k = 0; k < tags.size(); ++k) {
        numbered.push_back(tags[k]);
        t.add_row({std::to_string(numbered.size()), tags[k]->name, k == 0 ? digest.substr(0, 19) : "  \"",
                   ctx_.time(tags[k]->pushed_ns), k == 0 ? ctx_.size(size) : ""});
      }
    }
    t.print(out(), ctx_.out_style());
    std::string line;
    std::optional<std::vector<std::size_t>> pick;
    while (!pick) {  // a wrong answer asks again
      out() << "select tags to delete (e.g. 1,3,5-9), b) back: " << std::flush;
      if (!ask(line) || line == "b" || line.empty()) return;
      pick = util::parse_selection(line, numbered.size());
      if (!pick) out() << "not a selection: " << line << "\n";
    }
    plan::RmRequest req;
    for (std::size_t n : *pick) req.references.push_back(util::ImageReference{repo.name, numbered[n - 1]->name, std::nullopt});
    req.referrer_note =
        "signatures, attestations and SBOMs of the deleted manifests (cosign-style sha256-<hex>.sig/.att/.sbom tags, "
        "manifests whose subject is a deleted digest) are deleted too, unlike the registry's API; the menu always "
        "deletes them: to keep them, answer no and run `regsweep rm --no-referrers " + repo.name +
        ":TAG...` instead. A referrer that another tag names, or that a kept tag holds, stays: only its cosign-style "
        "tag is removed";
    plan::Plan p;
    try {
      p = plan::plan_rm(model, req);
    } catch (const SafetyRefusal& e) {
      // The same refusal as `regsweep rm` (a child of an index that stays): the menu offers
      // no way around it; the command line's --break-index is the explicit one.
      *ctx_.err << ctx_.severity_prefix("error") << e.what() << " (" << e.path() << ")\n"
                << "hint: choose the index's tags too, or run regsweep rm --untag / --break-index outside the menu\n";
      out() << "nothing was changed\n";
      return;
    }
    p.arguments = {"(interactive) " + repo.name + " " + line};
    MenuDeletion deletion(*this, std::move(p));
    run_mutation(ctx_, [this]() -> apply::Session& { return session(); }, deletion, shown());
  }

  void garbage_collect(const storage::Model& model) {
    MenuGc gc(*this, model);
    run_mutation(ctx_, [this]() -> apply::Session& { return session(); }, gc, shown());
  }

  // The menu's parts in the pipeline: the plan made from the model the menu shows (nothing is
  // walked again), its own question on stdin, and "nothing was changed" on stdout.
  class MenuCommand : public MutationCommand {
   public:
    explicit MenuCommand(Menu& menu) : menu_(menu) {}
    bool walks() const override { return false; }
    bool confirm(Context&, const plan::Plan&, const MutationOptions&) override { return menu_.confirmed(question()); }
    void declined(Context&) override { menu_.out() << "nothing was changed\n"; }
    nlohmann::json document(const plan::Plan& plan, const storage::Model&, const MutationOptions&) override {
      return {{"plan", plan::plan_to_json(plan)}};
    }

   protected:
    Menu& menu_;
  };

  class MenuDeletion : public MenuCommand {
   public:
    MenuDeletion(Menu& menu, plan::Plan plan) : MenuCommand(menu), plan_(std::move(plan)) {}
    plan::Plan plan(const storage::Model&) override { return std::move(plan_); }
    void show(const plan::Plan& plan, const MutationOptions& m) override { print_plan(menu_.ctx_, plan, m); }
    std::string question() const override { return "delete these?"; }

   private:
    plan::Plan plan_;
  };

  class MenuGc : public MenuCommand {
   public:
    MenuGc(Menu& menu, const storage::Model& model) : MenuCommand(menu), model_(model) {}
    plan::Plan plan(const storage::Model&) override {
      plan::GcRequest req;
      req.now_ns = menu_.ctx_.now_ns();
      gc_ = plan::plan_gc(model_, req);
      gc_.plan.arguments = {"(interactive)"};
      return std::move(gc_.plan);
    }
    bool runs_empty_plans() const override { return false; }
    void show(const plan::Plan& plan, const MutationOptions&) override {
      print_gc_stats(menu_.ctx_, gc_.stats, GcStatsShown{true, false, false, false, "1h"});
      if (plan.actions.empty()) menu_.out() << "nothing was changed\n";
    }
    // A read-only registry left serving the root keeps the swept blobs in its descriptor
    // cache (see docs/readonly-registry.md): the menu does not sweep under it; `regsweep gc
    // --i-will-restart-the-registry` does, and says how to restart it.
    bool confirm(Context& ctx, const plan::Plan& plan, const MutationOptions& m) override {
      if (!m.dry_run && !menu_.o_.force) {
        std::vector<apply::LiveRegistry> readonly;
        for (const apply::LiveRegistry& live : apply::find_live_registries(ctx.root(), ctx.registry_config()))
          if (live.readonly) readonly.push_back(live);
        if (!readonly.empty()) {
          *ctx.err << "regsweep: a read-only registry serves this storage (" << apply::describe_live_registries(readonly)
                   << "): not sweeping from the menu; stop it, or run regsweep gc --i-will-restart-the-registry\n";
          return false;
        }
      }
      return MenuCommand::confirm(ctx, plan, m);
    }
    std::string question() const override { return "sweep these?"; }

   private:
    const storage::Model& model_;
    plan::GcPlan gc_;
  };

  MutationOptions shown() const {
    MutationOptions m;
    m.dry_run = o_.dry_run;
    return m;
  }

  // Opened at the first confirmed deletion, so that browsing writes nothing (not even the
  // lock file); each deletion's preconditions are checked against the storage as it is then.
  apply::Session& session() {
    if (!session_)
      session_.emplace(ctx_.store(), session_options(ctx_, o_.dry_run, o_.force, false), *ctx_.err);
    return *session_;
  }

  Context& ctx_;
  const InteractiveOptions& o_;
  std::optional<apply::Session> session_;
};

}  // namespace

int run_interactive(Context& ctx, bool dry_run, bool force) {
  InteractiveOptions o{dry_run, force};
  return Menu(ctx, o).run();
}

Command add_interactive_command(CLI::App& parent, Context& context) {
  auto o = std::make_shared<InteractiveOptions>();
  CLI::App* app = parent.add_subcommand("interactive", "a menu: repositories, their tags, select and delete; gc (also: regsweep -i)");
  app->add_flag("-n,--dry-run", o->dry_run, "show what each choice would remove, change nothing");
  app->add_flag("--force", o->force, "act even if a registry appears to be serving this storage");
  return Command{app, [&context, o] { return run_interactive(context, o->dry_run, o->force); }};
}

}  // namespace regsweep::cli
