#include "regsweep/storage/image_info.h"

#include <nlohmann/json.hpp>

#include "regsweep/storage/layout.h"
#include "regsweep/util/format.h"

namespace regsweep::storage {

namespace {

constexpr std::size_t kMaxConfigBytes = 8 * 1024 * 1024;

std::optional<std::string> created_of_config(const std::optional<std::string>& bytes) {
  if (!bytes) return std::nullopt;
  auto doc = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  auto it = doc.find("created");
  if (it == doc.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

std::optional<std::string> image_created(const Model& model, const Digest& manifest,
                                         util::FunctionRef<std::optional<std::string>(const Digest& config)> read_config) {
  const ManifestRecord* m = model.find_manifest(manifest);
  if (!m) return std::nullopt;
  // The config's `created`, else the manifest's org.opencontainers.image.created annotation.
  auto annotated = [](const ManifestRecord& r) {
    return r.parsed.created_annotation.empty() ? std::nullopt : std::optional<std::string>(r.parsed.created_annotation.str());
  };
  if (m->parsed.config) {
    auto created = created_of_config(read_config(m->parsed.config->digest));
    return created ? created : annotated(*m);
  }
  if (auto own = annotated(*m)) return own;
  std::optional<std::string> newest;
  std::int64_t newest_ns = 0;
  for (const ChildRef& c : m->parsed.children) {
    const ManifestRecord* child = model.find_manifest(c.digest);
    if (!child) continue;
    auto created = child->parsed.config ? created_of_config(read_config(child->parsed.config->digest)) : std::nullopt;
    if (!created) created = annotated(*child);
    if (!created) continue;
    std::int64_t ns = util::parse_rfc3339(*created).value_or(0);
    if (!newest || ns > newest_ns) {
      newest = created;
      newest_ns = ns;
    }
  }
  return newest;
}

std::optional<std::string> read_image_created(Store& store, const Model& model, const Digest& manifest) {
  return image_created(model, manifest, [&](const Digest& config) -> std::optional<std::string> {
    if (!model.blob_present(config)) return std::nullopt;
    std::string bytes;
    if (!store.read(layout::blob_data(config), kMaxConfigBytes, bytes).ok()) return std::nullopt;
    return bytes;
  });
}

}  // namespace regsweep::storage
