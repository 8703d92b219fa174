#include <iostream>
#include <vector>

#include "cli.h"
#include "regsweep/error.h"
#include "regsweep/storage/real_filesystem.h"

#ifndef REGSWEEP_VERSION
#define REGSWEEP_VERSION "unknown"
#endif

namespace regsweep::cli {

namespace {

constexpr CommandFactory kCommands[] = {
    add_ls_command,
    add_report_command,
    add_rm_command,
    add_gc_command,
    add_prune_command,
    add_apply_command,
    add_interactive_command,
    add_complete_command,
};

void print_error(const Error& e) {
  std::cerr << "regsweep: error: " << e.what();
  if (!e.path().empty()) std::cerr << " (" << e.path() << ")";
  std::cerr << "\n";
  if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
}

}  // namespace

int run(int argc, char** argv) {
  Context context;
  context.out = &std::cout;
  context.err = &std::cerr;
  context.fs = std::make_unique<storage::RealFileSystem>();
  for (int i = 0; i < argc; ++i) context.command_line += (i ? " " : "") + std::string(argv[i]);

  CLI::App app{"regsweep: an offline cleaner for the distribution registry's filesystem storage"};
  app.set_version_flag("--version", std::string("regsweep ") + REGSWEEP_VERSION);
  app.require_subcommand(0, 1);
  bool interactive = false;
  app.add_flag("-i", interactive, "the interactive menu (same as `regsweep interactive`)");
  app.fallthrough();  // global options are accepted after the command too: `regsweep report --json`
  GlobalOptions& g = context.options;
  app.add_option("--root", g.root, "the storage's rootdirectory (holds docker/registry/v2); default /var/lib/registry");
  app.add_option("--config", g.config, "the registry's config.yml (its storage.filesystem.rootdirectory is used)");
  app.add_flag("--json", g.json, "one JSON document on stdout");
  app.add_option("-j,--jobs", g.jobs, "worker threads (default: number of cores)")->check(CLI::Range(1u, 1024u));
  app.add_flag("-q,--quiet", g.quiet, "print only results and errors");
  app.add_flag("-v,--verbose", g.verbose, "print more (every item)");

  std::vector<Command> commands;
  for (CommandFactory add : kCommands) commands.push_back(add(app, context));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  try {
    for (const Command& c : commands)
      if (c.app->parsed()) return c.run();
    if (interactive) return run_interactive(context, false, false);
  } catch (const Error& e) {
    std::cout.flush();
    print_error(e);
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "regsweep: error: " << e.what() << "\n";
    return kExitError;
  }
  std::cerr << app.help() << "regsweep: error: a command is required\n";
  return kExitUsage;
}

}  // namespace regsweep::cli
