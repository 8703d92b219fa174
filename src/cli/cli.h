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

#include "regsweep/storage/filesystem.h"
#include "regsweep/storage/model.h"
#include "regsweep/storage/registry_config.h"

namespace regsweep::cli {

struct GlobalOptions {
  std::optional<std::string> root;
  std::optional<std::string> config;
  bool json = false;
  unsigned jobs = 0;   // 0: number of cores
  bool quiet = false;
  int verbose = 0;
};

// What every command gets: the options, the streams, and the way to the storage.
struct Context {
  GlobalOptions options;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  std::unique_ptr<storage::FileSystem> fs;

  std::optional<storage::RegistryConfig> registry_config() const;
  std::string root() const;
  unsigned jobs() const;
  // Walks the storage; prints the findings on stderr (text mode, not with -q).
  storage::Model load_model() const;
  std::int64_t now_ns() const;
};

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

using CommandFactory = Command (*)(CLI::App& parent, Context& context);

Command add_ls_command(CLI::App& parent, Context& context);
Command add_report_command(CLI::App& parent, Context& context);

// JSON of the findings, shared by every command's --json document.
nlohmann::json findings_json(const storage::Model& model);

// Prints a --json document. File names need not be UTF-8: bad bytes become U+FFFD
// rather than an exception.
void print_json(Context& context, const nlohmann::json& doc);

int run(int argc, char** argv);

}  // namespace regsweep::cli
