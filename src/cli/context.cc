#include <unistd.h>

#include <chrono>

#include "terminal_progress.h"

#include "cli.h"
#include "regsweep/storage/walker.h"
#include "regsweep/util/parallel.h"

namespace regsweep::cli {

std::optional<storage::RegistryConfig> Context::registry_config() const {
  if (!options.config) return std::nullopt;
  return storage::load_registry_config(*options.config);
}

std::string Context::root() const { return storage::resolve_root(options.root, registry_config()); }

unsigned Context::jobs() const { return options.jobs ? options.jobs : util::default_jobs(); }

std::int64_t Context::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

util::Progress& Context::progress() const {
  if (!progress_) {
    if (::isatty(STDERR_FILENO) && !options.json && !options.quiet)
      progress_ = std::make_unique<TerminalProgress>(*err);
    else
      return util::no_progress();
  }
  return *progress_;
}

storage::Model Context::walk_again() const {
  return storage::walk_storage(*fs, root(), storage::WalkOptions{jobs(), &progress()});
}

storage::Model Context::load_model() const {
  storage::Model model = walk_again();
  if (!options.json && !options.quiet) {
    for (const auto& f : model.findings) {
      if (f.severity == storage::Severity::Info && options.verbose == 0) continue;
      *err << "regsweep: " << storage::to_string(f.severity) << ": " << storage::to_string(f.kind) << ": " << f.message
           << " (" << f.path << ")\n";
    }
  }
  return model;
}

nlohmann::json findings_json(const storage::Model& model) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : model.findings)
    out.push_back({{"kind", storage::to_string(f.kind)},
                   {"severity", storage::to_string(f.severity)},
                   {"path", f.path},
                   {"message", f.message}});
  return out;
}

}  // namespace regsweep::cli

namespace regsweep::cli {

void print_json(Context& context, const nlohmann::json& doc) {
  *context.out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace regsweep::cli
