// `regsweep __complete refs PREFIX` (hidden): repository names and repo:tag references for
// the shell completions. Reads only repositories/ (names and tags), never blobs or
// manifests, so it answers at once on a large store. Prints nothing on any error.
#include "cli.h"
#include "regsweep/error.h"
#include "regsweep/storage/walker.h"

namespace regsweep::cli {

namespace {

int complete_refs(Context& ctx, const std::string& prefix) {
  try {
    auto colon = prefix.find(':');
    for (const auto& repo : storage::repository_names(ctx.store())) {
      if (colon == std::string::npos) {
        if (repo.starts_with(prefix)) *ctx.out << repo << "\n";
        continue;
      }
      if (repo != prefix.substr(0, colon)) continue;
      for (const auto& t : storage::tag_names(ctx.store(), repo))
        if ((repo + ":" + t).starts_with(prefix)) *ctx.out << repo << ":" << t << "\n";
    }
  } catch (...) {
    // Completion must never print an error into the user's command line.
  }
  return kExitOk;
}

}  // namespace

Command add_complete_command(CLI::App& parent, Context& context) {
  auto what = std::make_shared<std::string>();
  auto prefix = std::make_shared<std::string>();
  CLI::App* app = parent.add_subcommand("__complete", "for shell completions");
  app->group("");  // hidden from --help
  app->add_option("what", *what, "refs")->required();
  app->add_option("prefix", *prefix, "what has been typed");
  return Command{app, [&context, what, prefix] { return *what == "refs" ? complete_refs(context, *prefix) : kExitOk; }};
}

}  // namespace regsweep::cli
