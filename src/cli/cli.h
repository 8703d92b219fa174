#pragma once
// The command line: global options, and one registration function per command (each in its
// own cli/<command>.cc). main.cc only calls run().
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "regsweep/apply/session.h"
#include "regsweep/online/registry_client.h"
#include "regsweep/plan/gc.h"
#include "regsweep/plan/plan.h"
#include "regsweep/plan/protect.h"
#include "regsweep/plan/report.h"
#include "regsweep/plan/simulate.h"
#include "regsweep/storage/filesystem.h"
#include "regsweep/storage/store.h"
#include "regsweep/storage/model.h"
#include "regsweep/storage/registry_config.h"
#include "regsweep/storage/s3_config.h"
#include "regsweep/util/style.h"

namespace regsweep::cli {

// Online mode (--registry): the registry's HTTP API instead of its storage.
struct OnlineOptions {
  std::string registry;        // --registry https://HOST[:PORT]; empty: offline
  std::string username;        // -u/--username
  bool prompt_password = false;  // -p: ask for the password without echo
  bool password_stdin = false;   // --password-stdin
  bool insecure = false;         // --insecure: TLS without verifying the certificate
  std::string ca_cert;           // --ca-cert FILE
  unsigned page_size = 0;        // --page-size: `n` of catalog and tag pages (0: 1000)
  std::string state_dir;         // --state-dir: the local folder of online runs' lock, journal, audit and trash
};

struct GlobalOptions {
  std::optional<std::string> root;
  std::optional<std::string> config;
  bool json = false;
  unsigned jobs = 0;   // 0: the store's default (the cores on a disk, 32 connections on S3)
  std::string s3_endpoint;     // --s3-endpoint: with --root s3://bucket/prefix
  std::string s3_region;       // --s3-region
  bool registry_stopped = false;  // the operator states that no registry serves the storage (S3)
  bool quiet = false;
  int verbose = 0;
  bool bytes = false;          // exact byte counts instead of "1.4 GiB"
  std::string color = "auto";  // auto | always | never (validated by the parser)
  std::vector<std::string> protect;  // --protect FILE... ("-": stdin): what nothing may delete
  OnlineOptions online;
};

// What every command gets: the options, the streams, and the way to the storage.
struct Context {
  GlobalOptions options;
  std::string command_line;  // as typed, for the lock, the run record and the audit log
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  // The local file system: for files outside the storage (a --plan-out), and the one the
  // storage is opened on.
  std::unique_ptr<storage::FileSystem> fs;

  std::optional<storage::RegistryConfig> registry_config() const;
  std::string root() const;
  // The bucket's settings when the storage is in S3 (--root s3://..., or --config with
  // storage.s3), credentials resolved; nullopt for a local folder.
  std::optional<storage::S3Config> s3_config() const;
  bool on_s3() const;
  // The registry's storage, opened once (on first use) from --root or --config. Online, the
  // local state folder of the registry's runs (state_folder(); made when missing).
  storage::Store& store() const;
  // Online: --state-dir, else $XDG_STATE_HOME/regsweep/<host>[_<port>].
  std::string state_folder() const;
  mutable std::unique_ptr<storage::Store> store_;
  unsigned jobs() const;
  // Walks the storage; prints the findings on stderr (text mode, not with -q).
  storage::Model load_model() const;
  // The model's findings on stderr (text mode, not with -q).
  void print_findings(const storage::Model& model) const;
  // Walks again without printing findings (a re-check before sweeping, a size after it).
  storage::Model walk_again() const;
  // True when the storage is a bucket whose listing is as it was when `model` was walked.
  bool unchanged_since(const storage::Model& model) const;

  // Online mode: --registry was given.
  bool online() const { return !options.online.registry.empty(); }
  // The registry's API client, made once (credentials resolved then).
  online::RegistryClient& registry_client() const;
  // --protect's lists, read and parsed once (stdin can be read only once); throws for a list
  // that cannot be read or parsed. Empty without --protect.
  const std::vector<plan::ProtectEntry>& protect_entries() const;
  mutable std::unique_ptr<online::RegistryClient> registry_client_;
  // Online: the model of these repositories only (empty: every one of the catalog); findings
  // printed as load_model() prints them.
  storage::Model load_online_model(const std::vector<std::string>& repositories) const;
  // The `created` of an image's config (for an index, its newest child's): from the storage,
  // or online from the registry's blobs of `repository`.
  std::optional<std::string> image_created(const storage::Model& model, std::string_view repository, const Digest& manifest) const;
  // Progress on stderr when it is a terminal and neither --json nor -q was given.
  util::Progress& progress() const;
  mutable std::unique_ptr<util::Progress> progress_;
  mutable std::optional<std::vector<plan::ProtectEntry>> protect_entries_;
  std::int64_t now_ns() const;

  // Human output: a size ("1.4 GiB", or exact with --bytes), a time (local time zone),
  // and the colours of stdout and stderr (--color, NO_COLOR, a terminal or not).
  std::string size(std::uint64_t bytes) const;
  // "1.4 GiB (1503238553 bytes)"; just "1503238553 bytes" with --bytes.
  std::string size_and_bytes(std::uint64_t bytes) const;
  std::string time(std::int64_t epoch_ns) const;
  util::Style out_style() const;
  util::Style err_style() const;
  // "regsweep: warning: " with the severity coloured on a terminal.
  std::string severity_prefix(std::string_view severity) const;
};

// Requests in flight online (-j), as on S3 the store's default.
inline constexpr unsigned kOnlineDefaultConnections = 16;

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

using CommandFactory = Command (*)(CLI::App& parent, Context& context);

Command add_ls_command(CLI::App& parent, Context& context);
Command add_report_command(CLI::App& parent, Context& context);
Command add_why_command(CLI::App& parent, Context& context);
Command add_rm_command(CLI::App& parent, Context& context);
Command add_gc_command(CLI::App& parent, Context& context);
Command add_prune_command(CLI::App& parent, Context& context);
Command add_policy_command(CLI::App& parent, Context& context);
Command add_apply_command(CLI::App& parent, Context& context);
Command add_interactive_command(CLI::App& parent, Context& context);
Command add_fsck_command(CLI::App& parent, Context& context);
Command add_trash_command(CLI::App& parent, Context& context);
Command add_restore_command(CLI::App& parent, Context& context);
Command add_complete_command(CLI::App& parent, Context& context);
int run_interactive(Context& context, bool dry_run, bool force);

// Seconds of a duration option ("90s", "12h", "7d"); UsageError naming the option otherwise.
std::int64_t duration_option(const std::string& text, const char* option);

// Options every mutating command has, and what they share: the session, the plan output,
// the confirmation.
struct MutationOptions {
  bool dry_run = false;
  bool yes = false;
  bool force = false;
  std::string plan_out;
};
void add_mutation_options(CLI::App& app, MutationOptions& options);
// The session every mutating command opens (lock, live-registry check, recovery).
apply::SessionOptions session_options(Context& context, bool read_only, bool force, bool refuse_readonly_registry);
// The plan's notes, one "note:" line each (not with --json or -q).
void print_notes(Context& context, const plan::Plan& plan);
// Prints the plan (text or JSON); with --plan-out writes it instead of acting.
void print_plan(Context& context, const plan::Plan& plan, const MutationOptions& options);
// Without a terminal to ask on, refuses (UsageError, exit 2) unless --yes.
void require_confirmation_channel(Context& context, const MutationOptions& options);
// --protect: throws SafetyRefusal (exit 3) when `plan` would delete a protected tag or
// manifest of `model`, naming the line that protects it. Nothing without --protect.
void refuse_protected(Context& context, const storage::Model& model, const plan::Plan& plan);

// Online: refuses (UsageError) a reference whose host is not the one of --registry.
void refuse_references_to_another_registry(const Context& context, const std::vector<std::string>& references);
// Asks on a terminal (true with --yes).
bool confirm(Context& context, const MutationOptions& options, const std::string& question);
// What gc printed and ran with, for its statistics lines.
struct GcStatsShown {
  bool dry_run = false;
  bool done = false;
  bool delete_untagged = false;
  bool prune_empty_repos = false;
  std::string min_age = "1h";
};
void print_gc_stats(Context& context, const plan::GcStats& stats, const GcStatsShown& shown);
nlohmann::json gc_stats_json(const plan::GcStats& stats);
// What a run did, for --json documents.
nlohmann::json run_summary_json(const apply::RunSummary& summary);
void print_run_summary(Context& context, const apply::RunSummary& summary, const MutationOptions& options);

// Online (rm, prune, apply): checks that `plan` can run over the API, prints it, writes
// --plan-out or asks, then runs it (online/execute.h) and reports; `doc` is the command's part
// of the --json document. With check_all_first (a plan made earlier, `apply`), every
// precondition is checked before the first DELETE, so that a stale plan deletes nothing.
int run_online_plan(Context& context, const plan::Plan& plan, const MutationOptions& options, nlohmann::json doc, bool check_all_first);

// JSON of the findings, shared by every command's --json document.
nlohmann::json findings_json(const storage::Model& model);
// {"count": N, "bytes": B}.
nlohmann::json amount_json(const plan::Amount& amount);
// "sha256:" and 12 hex digits: enough to tell digests apart in a table or a path.
std::string short_digest(const Digest& digest);

// Prints a --json document. File names need not be UTF-8: bad bytes become U+FFFD
// rather than an exception.
void print_json(Context& context, const nlohmann::json& doc);

int run(int argc, char** argv);

}  // namespace regsweep::cli
