#pragma once
// A text dump of a whole Model, shared by the walker and fixture tests (jobs=1 vs jobs=N).
#include <sstream>
#include <string>

#include "regsweep/storage/model.h"

namespace regsweep::test {

// Everything the model holds, one line per item, for comparing two models in a test.
inline std::string dump_model(const storage::Model& m, bool with_findings = false) {
  std::ostringstream o;
  o << "root " << m.root << '\n';
  for (const auto& r : m.repositories) {
    o << "repo " << r.name << ' ' << r.has_manifests_dir << r.has_layers_dir << r.has_uploads_dir << '\n';
    for (const auto& t : r.tags) {
      o << "  tag " << t.name << ' ' << (t.current ? t.current->str() : "-") << ' ' << t.pushed_ns;
      for (const auto& h : t.history) o << ' ' << h.str();
      o << '\n';
    }
    for (const auto& v : r.revisions) o << "  revision " << v.digest.str() << ' ' << v.mismatched << '\n';
    for (const auto& l : r.layers) o << "  layer " << l.digest.str() << '\n';
    for (const auto& u : r.uploads)
      o << "  upload " << u.id << ' ' << (u.started_at_ns ? std::to_string(*u.started_at_ns) : "-") << ' ' << u.bytes
        << ' ' << u.newest_mtime_ns << '\n';
  }
  for (const auto& b : m.blobs) o << "blob " << b.digest.str() << ' ' << b.size << ' ' << b.mtime_ns << ' ' << b.has_data << '\n';
  for (const auto& x : m.manifests) {
    const auto& p = x.parsed;
    o << "manifest " << x.digest.str() << ' ' << x.size << ' ' << x.readable << ' ' << storage::to_string(p.kind) << ' '
      << p.media_type << ' ' << p.artifact_type << ' ' << (p.config ? p.config->digest.str() : "-") << ' '
      << (p.subject ? p.subject->str() : "-") << " [" << p.error << "]";
    for (const auto& l : p.layers) o << " L" << l.digest.str() << '/' << l.size << '/' << l.foreign;
    for (const auto& c : p.children) o << " C" << c.digest.str() << '/' << c.size << '/' << c.platform;
    o << '\n';
  }
  if (with_findings)
    for (const auto& f : m.findings)
      o << "finding " << storage::to_string(f.kind) << ' ' << storage::to_string(f.severity) << ' ' << f.path << ' '
        << f.message << '\n';
  return o.str();
}

}  // namespace regsweep::test
