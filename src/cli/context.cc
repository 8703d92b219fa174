#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "terminal_progress.h"

#include "cli.h"
#include "regsweep/online/execute.h"
#include "regsweep/online/read_model.h"
#include "regsweep/storage/image_info.h"
#include "regsweep/storage/s3_store.h"
#include "regsweep/storage/walker.h"
#include "regsweep/util/clock.h"
#include "regsweep/util/format.h"
#include "regsweep/util/parallel.h"

namespace regsweep::cli {

std::optional<storage::RegistryConfig> Context::registry_config() const {
  if (!options.config) return std::nullopt;
  return storage::load_registry_config(*options.config);
}

std::string Context::root() const { return storage::resolve_root(options.root, registry_config()); }

bool Context::on_s3() const {
  if (options.root && !options.config) return storage::is_s3_url(*options.root);
  if (!options.config) return false;
  return registry_config()->s3.has_value();
}

std::optional<storage::S3Config> Context::s3_config() const {
  if (!on_s3()) {
    if (!options.s3_endpoint.empty() || !options.s3_region.empty())
      throw UsageError("--s3-endpoint and --s3-region go with --root s3://bucket/prefix", options.root.value_or(""));
    return std::nullopt;
  }
  storage::S3Config c;
  if (!options.config) {
    c = storage::s3_config_from_url(*options.root, options.s3_endpoint, options.s3_region);
  } else {
    root();  // refuses a --root that names another storage
    c = *registry_config()->s3;
  }
  storage::resolve_s3_credentials(c);
  return c;
}

std::string Context::state_folder() const {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  const char* home = std::getenv("HOME");
  return online::state_folder(online::registry_host(options.online.registry), options.online.state_dir, xdg ? xdg : "", home ? home : "");
}

storage::Store& Context::store() const {
  if (!store_ && online()) {
    // Online runs keep their lock, journal, audit log and trash here (private: it holds manifests).
    const std::string folder = state_folder();
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec) throw Error("cannot make the state folder of online runs: " + ec.message(), folder, "give another with --state-dir DIR");
    std::filesystem::permissions(folder, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
    store_ = storage::open_folder_store(*fs, folder, 1);
  }
  if (!store_) {
    if (auto s3 = s3_config()) store_ = storage::open_s3_store(*s3, jobs());
    else store_ = storage::open_folder_store(*fs, root(), jobs());
  }
  return *store_;
}

// On a disk, threads (one per core); on S3 and online, connections (requests wait on the network).
unsigned Context::jobs() const {
  if (options.jobs) return options.jobs;
  if (online()) return kOnlineDefaultConnections;
  return on_s3() ? storage::kS3DefaultConnections : util::default_jobs();
}

std::int64_t Context::now_ns() const { return util::now_ns(); }

std::string Context::size(std::uint64_t bytes) const {
  return options.bytes ? std::to_string(bytes) : util::human_bytes(bytes);
}

std::string Context::size_and_bytes(std::uint64_t bytes) const {
  std::string exact = std::to_string(bytes) + " bytes";
  return options.bytes ? exact : util::human_bytes(bytes) + " (" + exact + ")";
}

std::string Context::time(std::int64_t epoch_ns) const { return util::local_time(epoch_ns); }

namespace {
util::Style style_for(const GlobalOptions& options, int fd) {
  util::ColorMode mode = util::parse_color_mode(options.color).value_or(util::ColorMode::Auto);
  return util::Style(util::color_wanted(mode, ::isatty(fd) == 1, std::getenv("NO_COLOR"), std::getenv("TERM")));
}
}  // namespace

util::Style Context::out_style() const { return style_for(options, STDOUT_FILENO); }
util::Style Context::err_style() const { return style_for(options, STDERR_FILENO); }

std::string Context::severity_prefix(std::string_view severity) const {
  util::Style st = err_style();
  std::string word(severity);
  if (severity == "error") word = st.red(word);
  else if (severity == "warning") word = st.yellow(word);
  else word = st.dim(word);
  return "regsweep: " + word + ": ";
}

util::Progress& Context::progress() const {
  if (!progress_) {
    if (::isatty(STDERR_FILENO) && !options.json && !options.quiet) {
      auto shown = std::make_unique<TerminalProgress>(*err);
      if (on_s3()) {
        // The store is opened before any phase starts; its requests are read at each redraw.
        storage::Store* s3 = &store();
        shown->show_traffic([s3] {
          storage::S3Counters c = storage::s3_counters(*s3);
          return TerminalProgress::Traffic{c.requests, c.retries, c.bytes_in + c.bytes_out};
        });
      }
      progress_ = std::move(shown);
    }
    else
      return util::no_progress();
  }
  return *progress_;
}

online::RegistryClient& Context::registry_client() const {
  if (!registry_client_) {
    const OnlineOptions& o = options.online;
    online::ClientSettings s;
    s.registry = o.registry;
    s.connections = jobs();
    s.insecure = o.insecure;
    s.ca_cert = o.ca_cert;
    if (o.page_size) s.page_size = o.page_size;
    // The host first: a malformed --registry is refused before a password is asked for.
    s.credentials = online::resolve_credentials({o.username, o.prompt_password, o.password_stdin}, online::registry_host(o.registry));
    registry_client_ = std::make_unique<online::RegistryClient>(std::move(s));
  }
  return *registry_client_;
}

void Context::print_findings(const storage::Model& model) const {
  if (options.json || options.quiet) return;
  for (const auto& f : model.findings) {
    if (f.severity == storage::Severity::Info && options.verbose == 0) continue;
    *err << severity_prefix(storage::to_string(f.severity)) << storage::to_string(f.kind) << ": " << f.message << " (" << f.path << ")\n";
  }
}

storage::Model Context::load_online_model(const std::vector<std::string>& repositories) const {
  storage::Model model = online::read_model(registry_client(), online::ReadOptions{jobs(), repositories, &progress()});
  print_findings(model);
  return model;
}

std::optional<std::string> Context::image_created(const storage::Model& model, std::string_view repository, const Digest& manifest) const {
  if (online()) return online::read_image_created(registry_client(), model, repository, manifest);
  return storage::read_image_created(store(), model, manifest);
}

storage::Model Context::walk_again() const {
  return storage::walk_storage(store(), storage::WalkOptions{jobs(), &progress()});
}

bool Context::unchanged_since(const storage::Model& model) const {
  return storage::unchanged_since(store(), model, storage::WalkOptions{jobs(), &progress()});
}

storage::Model Context::load_model() const {
  if (online()) return load_online_model({});  // never the local storage behind the user's back
  storage::Model model = walk_again();
  print_findings(model);
  return model;
}

const std::vector<plan::ProtectEntry>& Context::protect_entries() const {
  if (protect_entries_) return *protect_entries_;
  std::vector<plan::ProtectEntry> entries;
  for (const std::string& file : options.protect) {
    std::string text;
    if (file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(file, std::ios::binary);
      if (!in) throw Error(std::string("cannot read the protect list: ") + std::strerror(errno), file);
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    for (plan::ProtectEntry& e : plan::parse_protect_list(text, file == "-" ? "stdin" : file)) entries.push_back(std::move(e));
  }
  return protect_entries_.emplace(std::move(entries));
}

nlohmann::json amount_json(const plan::Amount& a) { return {{"count", a.count}, {"bytes", a.bytes}}; }

std::string short_digest(const Digest& d) { return d.str().substr(0, 19); }

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
