#include <algorithm>
#include <iostream>
#include <vector>

#include "cli.h"
#include "regsweep/error.h"
#include "regsweep/storage/real_filesystem.h"
#include "version.h"


namespace regsweep::cli {

namespace {

constexpr CommandFactory kCommands[] = {
    add_ls_command,
    add_report_command,
    add_why_command,
    add_rm_command,
    add_gc_command,
    add_prune_command,
    add_policy_command,
    add_apply_command,
    add_fsck_command,
    add_trash_command,
    add_restore_command,
    add_interactive_command,
    add_complete_command,
};

// One line, `regsweep: error: <what> (<path>)`, then a hint where one helps.
void print_error(const Context& context, std::string_view what, std::string_view path = {}, std::string_view hint = {}) {
  std::ostream& err = *context.err;
  err << context.severity_prefix("error") << what;
  if (!path.empty()) err << " (" << path << ")";
  err << "\n";
  if (!hint.empty()) err << context.err_style().dim("hint: ") << hint << "\n";
}

// Command-line mistakes in the same shape as every other error.
std::string usage_failure(const CLI::App* app, const CLI::Error& e) {
  std::string name = "regsweep";
  for (const CLI::App* a = app; a && a->get_parent(); a = a->get_parent()) name = "regsweep " + a->get_name();
  return "regsweep: error: " + std::string(e.what()) + "\nhint: see `" + name + " --help`\n";
}

// Online mode reads the registry's API, and only `ls`, `report`, `rm`, `prune`, `apply`, `restore` and `trash` work so yet (`policy` opens no
// storage, so it runs in either mode): every other command would
// run on a local storage the user did not name, so it is refused, as are the options of the
// other mode.
bool commands_parsed(const std::vector<Command>& commands, const char* name) {
  for (const Command& c : commands)
    if (c.app->parsed() && c.app->get_name() == name) return true;
  return false;
}

void refuse_what_online_mode_cannot(const Context& context, const std::vector<Command>& commands, bool interactive) {
  const GlobalOptions& g = context.options;
  const OnlineOptions& on = g.online;
  if (!context.online()) {
    const char* stray = !on.username.empty() ? "-u/--username" : on.prompt_password ? "-p" : on.password_stdin ? "--password-stdin"
                        : on.insecure ? "--insecure" : !on.ca_cert.empty() ? "--ca-cert" : on.page_size ? "--page-size"
                        : !on.state_dir.empty() ? "--state-dir" : nullptr;
    if (stray) throw UsageError(std::string(stray) + " goes with --registry (online mode)", "", "regsweep --registry https://HOST:PORT ls");
    return;
  }
  if (g.root || g.config || !g.s3_endpoint.empty() || !g.s3_region.empty() || g.registry_stopped)
    throw UsageError("--registry reads the registry over its API; --root, --config and the S3 options name its storage: give one or the other",
                     on.registry);
  std::string command = interactive ? "interactive" : "";
  for (const Command& c : commands)
    if (c.app->parsed()) command = c.app->get_name();
  for (const char* works : {"", "ls", "report", "rm", "prune", "apply", "restore", "trash"})
    if (command == works) return;
  if (command == "policy") return;  // policy opens no storage
  throw UsageError("`regsweep " + command + "` does not work online yet: with --registry, only `ls`, `report`, `rm`, `prune`, `apply`, `restore` and `trash` do",
                   on.registry, "run `regsweep " + command + "` on the registry's storage instead (--root or --config)");
}

}  // namespace

int run(int argc, char** argv) {
  Context context;
  context.out = &std::cout;
  context.err = &std::cerr;
  context.fs = std::make_unique<storage::RealFileSystem>();
  for (int i = 0; i < argc; ++i) context.command_line += (i ? " " : "") + std::string(argv[i]);

  CLI::App app{"regsweep: an offline cleaner for the distribution registry's filesystem storage"};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(0, 1);
  bool interactive = false;
  app.add_flag("-i", interactive, "the interactive menu (same as `regsweep interactive`)");
  app.fallthrough();  // global options are accepted after the command too: `regsweep report --json`
  GlobalOptions& g = context.options;
  app.add_option("--root", g.root, "the storage's rootdirectory (holds docker/registry/v2), or s3://BUCKET/PREFIX; default /var/lib/registry");
  app.add_option("--config", g.config, "the registry's config.yml (its storage.filesystem or storage.s3 section is used)");
  app.add_option("--s3-endpoint", g.s3_endpoint, "with --root s3://BUCKET/PREFIX: the S3 endpoint URL (path-style requests); default AWS");
  app.add_option("--s3-region", g.s3_region, "with --root s3://BUCKET/PREFIX: the region to sign for (default us-east-1)");
  app.add_flag("--registry-stopped", g.registry_stopped,
               "S3: state that no registry serves this storage now (regsweep cannot see another machine's processes)");
  app.add_flag("--json", g.json, "one JSON document on stdout");
  app.add_option("-j,--jobs", g.jobs, "concurrency: worker threads on a disk (default: number of cores), connections on S3 (default 32) and online (default 16)")->check(CLI::Range(1u, 1024u));
  app.add_flag("-q,--quiet", g.quiet, "print only results and errors");
  app.add_flag("-v,--verbose", g.verbose, "print more (every item)");
  app.add_flag("--bytes", g.bytes, "sizes as exact byte counts instead of 1.4 GiB");
  app.add_option("--protect", g.protect,
                 "FILE of references or digests that nothing may delete (repeatable; - for stdin): plain references, "
                 "kubectl's {..image} or {..imageID} output, sha256 digests");
  app.add_option("--color", g.color, "colour: auto (on a terminal, unless NO_COLOR is set), always, never")
      ->check(CLI::IsMember({"auto", "always", "never", "yes", "no"}));
  OnlineOptions& on = g.online;
  const std::string online_group = "Online (the registry's HTTP API: ls, report, rm, prune, apply, restore, trash)";
  app.add_option("--registry", on.registry, "online mode: the registry at https://HOST[:PORT] (http:// for plain HTTP), read over its API")
      ->group(online_group);
  app.add_option("-u,--username", on.username, "online: the user (password from -p, --password-stdin or REGISTRY_PASSWORD); "
                                               "without -u, Docker's config.json (docker login) is used")
      ->group(online_group);
  app.add_flag("-p", on.prompt_password, "online: ask for the password on the terminal, without echo")->group(online_group);
  app.add_flag("--password-stdin", on.password_stdin, "online: read the password from the first line of stdin")->group(online_group);
  app.add_flag("--insecure", on.insecure, "online: do not verify the registry's TLS certificate")->group(online_group);
  app.add_option("--ca-cert", on.ca_cert, "online: trust this CA file for the registry's certificate")
      ->check(CLI::ExistingFile)
      ->group(online_group);
  app.add_option("--page-size", on.page_size, "online: entries per page of the catalog and tag lists (default 1000, the registry's limit)")
      ->check(CLI::Range(1u, 100000u))
      ->group(online_group);
  app.add_option("--state-dir", on.state_dir,
                 "online: the local folder of the lock, journal, audit log and trash of online runs "
                 "(default $XDG_STATE_HOME/regsweep/HOST[_PORT], else ~/.local/state/regsweep/...)")
      ->group(online_group);
  app.failure_message(usage_failure);

  std::vector<Command> commands;
  for (CommandFactory add : kCommands) commands.push_back(add(app, context));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  try {
    refuse_what_online_mode_cannot(context, commands, interactive);
    // stdin has one reader per run.
    if (std::count(g.protect.begin(), g.protect.end(), "-") > 1 ||
        (std::count(g.protect.begin(), g.protect.end(), "-") && (g.online.password_stdin || interactive ||
                                                                 commands_parsed(commands, "interactive"))))
      throw UsageError("--protect - reads stdin, which another reader here needs (--password-stdin, the menu's answers, or a second --protect -)",
                       "-", "give the protect list as a file");
    context.protect_entries();  // a list that cannot be read or parsed fails now, before any walk
    for (const Command& c : commands)
      if (c.app->parsed()) return c.run();
    if (interactive) return run_interactive(context, false, false);
  } catch (const Error& e) {
    std::cout.flush();
    print_error(context, e.what(), e.path(), e.hint());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cout.flush();
    print_error(context, e.what());
    return kExitError;
  }
  std::cerr << app.help();
  print_error(context, "a command is required", {}, "regsweep --help lists them; regsweep report is a safe start");
  return kExitUsage;
}

}  // namespace regsweep::cli
