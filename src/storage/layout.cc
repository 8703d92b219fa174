#include "regsweep/storage/layout.h"

#include "regsweep/error.h"

namespace regsweep::storage::layout {

namespace {

const Digest& digest_of(const Object& o) {
  if (!o.digest) throw Error("internal error: a registry object without its digest", o.repository);
  return *o.digest;
}

// "<hex>" as a digest, or nothing.
std::optional<Digest> hex_digest(std::string_view hex) { return Digest::from_hex(hex); }

}  // namespace

std::string key_of(const Object& o) {
  switch (o.kind) {
    case ObjectKind::Tag: return tag_dir(o.repository, o.name);
    case ObjectKind::TagIndexEntry: return tag_index_dir(o.repository, o.name, digest_of(o));
    case ObjectKind::RevisionLink: return revision_link(o.repository, digest_of(o));
    case ObjectKind::Revision: return revision_dir(o.repository, digest_of(o));
    case ObjectKind::LayerLink: return layer_dir(o.repository, digest_of(o));
    case ObjectKind::Upload: return upload_dir(o.repository, o.name);
    case ObjectKind::RepositoryPart: return repository_part(o.repository, o.name);
    case ObjectKind::Folder: return repo_dir(o.repository);
    case ObjectKind::Blob: return blob_dir(digest_of(o));
    case ObjectKind::Key: return o.key;
  }
  return o.key;
}

std::string link_of(const Object& o) {
  switch (o.kind) {
    case ObjectKind::Tag: return tag_current_link(o.repository, o.name);
    case ObjectKind::RevisionLink:
    case ObjectKind::Revision: return revision_link(o.repository, digest_of(o));
    case ObjectKind::LayerLink: return layer_link(o.repository, digest_of(o));
    default: return {};
  }
}

Object object_at(std::string_view key) {
  Object o;
  o.key = std::string(key);
  const std::string blobs = v2("blobs/sha256/");
  const std::string repositories = v2("repositories/");
  if (key.starts_with(blobs)) {
    std::string_view rest = key.substr(blobs.size());  // "<2>/<hex>"
    if (rest.size() == 67 && rest[2] == '/' && rest.substr(0, 2) == rest.substr(3, 2))
      if (auto d = hex_digest(rest.substr(3))) {
        o.kind = ObjectKind::Blob;
        o.digest = d;
      }
    return o;
  }
  if (!key.starts_with(repositories)) return o;
  std::string_view rest = key.substr(repositories.size());
  // A repository name's components never start with '_' (the distribution grammar), so the
  // first one that does is the part.
  std::size_t part_at = std::string_view::npos;
  for (std::size_t i = 0; i < rest.size(); i = rest.find('/', i) == std::string_view::npos ? rest.size() : rest.find('/', i) + 1)
    if (rest[i] == '_') {
      part_at = i;
      break;
    }
  if (part_at == std::string_view::npos) {
    if (rest.empty()) return o;
    o.kind = ObjectKind::Folder;
    o.repository = std::string(rest);
    return o;
  }
  if (part_at == 0) return o;
  const std::string repo(rest.substr(0, part_at - 1));
  std::string_view tail = rest.substr(part_at);  // "_manifests/..."
  auto is = [&](ObjectKind kind, std::string name = {}, std::optional<Digest> d = std::nullopt) {
    o.kind = kind;
    o.repository = repo;
    o.name = std::move(name);
    o.digest = d;
    if (key_of(o) != key) o = Object{ObjectKind::Key, {}, {}, {}, std::string(key)};  // not the layout's own spelling
    return o;
  };
  if (tail == kManifests || tail == kLayers || tail == kUploads) return is(ObjectKind::RepositoryPart, std::string(tail));
  auto after = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (tail.starts_with(prefix)) return tail.substr(prefix.size());
    return std::nullopt;
  };
  if (auto t = after("_manifests/tags/")) {
    const std::size_t slash = t->find('/');
    if (slash == std::string_view::npos) return is(ObjectKind::Tag, std::string(*t));
    std::string_view entry = t->substr(slash);
    if (entry.starts_with("/index/sha256/"))
      if (auto d = hex_digest(entry.substr(14))) return is(ObjectKind::TagIndexEntry, std::string(t->substr(0, slash)), d);
    return o;
  }
  if (auto r = after("_manifests/revisions/sha256/")) {
    if (r->ends_with("/link")) {
      if (auto d = hex_digest(r->substr(0, r->size() - 5))) return is(ObjectKind::RevisionLink, {}, d);
    } else if (auto d = hex_digest(*r)) {
      return is(ObjectKind::Revision, {}, d);
    }
    return o;
  }
  if (auto l = after("_layers/sha256/"))
    if (auto d = hex_digest(*l)) return is(ObjectKind::LayerLink, {}, d);
  if (auto u = after("_uploads/"); u && !u->empty() && u->find('/') == std::string_view::npos)
    return is(ObjectKind::Upload, std::string(*u));
  return o;
}

std::optional<Digest> digest_at(std::string_view key) {
  Object o = object_at(key);
  if (o.kind == ObjectKind::Key) o = object_at(key.substr(0, key.rfind('/') == std::string_view::npos ? 0 : key.rfind('/')));
  return o.kind == ObjectKind::Key || o.kind == ObjectKind::Tag ? std::nullopt : o.digest;
}

std::string repository_of(std::string_view key) {
  const std::string repositories = v2("repositories/");
  if (!key.starts_with(repositories)) return {};
  std::string_view rest = key.substr(repositories.size());
  for (std::size_t i = 0; i < rest.size();) {
    if (rest[i] == '_') return i == 0 ? std::string() : std::string(rest.substr(0, i - 1));
    const std::size_t slash = rest.find('/', i);
    if (slash == std::string_view::npos) break;
    i = slash + 1;
  }
  return std::string(rest);
}

LinkRole link_role(std::string_view key) {
  if (!key.ends_with("/link")) return LinkRole::Other;
  const std::string_view folder = key.substr(0, key.size() - 5);
  switch (object_at(folder).kind) {
    case ObjectKind::Revision: return LinkRole::Revision;
    case ObjectKind::LayerLink: return LinkRole::Layer;
    case ObjectKind::TagIndexEntry: return LinkRole::TagHistory;
    default: break;
  }
  if (folder.ends_with("/current") && object_at(folder.substr(0, folder.size() - 8)).kind == ObjectKind::Tag) return LinkRole::TagCurrent;
  return LinkRole::Other;
}

}  // namespace regsweep::storage::layout
