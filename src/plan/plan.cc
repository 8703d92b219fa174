#include "regsweep/plan/plan.h"

#include <algorithm>
#include <functional>
#include <array>
#include <nlohmann/json.hpp>

#include "regsweep/error.h"

namespace regsweep::plan {

using nlohmann::json;

namespace {
constexpr std::array<std::pair<ActionKind, std::string_view>, 12> kActionNames{{
    {ActionKind::RemoveLinkFile, "remove-link-file"},
    {ActionKind::RemoveTag, "remove-tag"},
    {ActionKind::RemoveTagIndexEntry, "remove-tag-index-entry"},
    {ActionKind::RemoveRevision, "remove-revision"},
    {ActionKind::RemoveLayerLink, "remove-layer-link"},
    {ActionKind::RemoveUpload, "remove-upload"},
    {ActionKind::RemoveTempFile, "remove-temp-file"},
    {ActionKind::RemoveRepositoryPart, "remove-repository-part"},
    {ActionKind::RemoveEmptyFolder, "remove-empty-folder"},
    {ActionKind::RemoveBlob, "remove-blob"},
    {ActionKind::RestoreFolder, "restore-folder"},
    {ActionKind::RestoreItem, "restore-item"},
}};
constexpr std::array<std::pair<Expect, std::string_view>, 6> kExpectNames{{
    {Expect::LinkIs, "link-is"},
    {Expect::Exists, "exists"},
    {Expect::EmptyFolder, "empty-folder"},
    {Expect::BlobUnreferenced, "blob-unreferenced"},
    {Expect::BlobMissing, "blob-missing"},
    {Expect::Restorable, "restorable"},
}};

template <typename E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, n] : table)
    if (v == value) return n;
  return "unknown";
}

template <typename E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view name) {
  for (const auto& [v, n] : table)
    if (n == name) return v;
  return std::nullopt;
}
}  // namespace

std::string_view to_string(ActionKind kind) { return name_of(kActionNames, kind); }
std::optional<ActionKind> action_kind_from_string(std::string_view text) { return value_of(kActionNames, text); }
std::string_view to_string(Expect expect) { return name_of(kExpectNames, expect); }
std::optional<Expect> expect_from_string(std::string_view text) { return value_of(kExpectNames, text); }

std::uint64_t Plan::bytes() const {
  std::uint64_t total = 0;
  for (const Action& a : actions) total += a.bytes;
  return total;
}

namespace layout = storage::layout;
using layout::ObjectKind;

namespace {

// The object kind an action of `kind` removes (RemoveRevision: its link; `whole` its folder).
std::optional<ObjectKind> object_kind_of(ActionKind kind, bool whole) {
  switch (kind) {
    case ActionKind::RemoveTag: return ObjectKind::Tag;
    case ActionKind::RemoveTagIndexEntry: return ObjectKind::TagIndexEntry;
    case ActionKind::RemoveRevision: return whole ? ObjectKind::Revision : ObjectKind::RevisionLink;
    case ActionKind::RemoveLayerLink: return ObjectKind::LayerLink;
    case ActionKind::RemoveUpload: return ObjectKind::Upload;
    case ActionKind::RemoveRepositoryPart: return ObjectKind::RepositoryPart;
    case ActionKind::RemoveEmptyFolder: return ObjectKind::Folder;
    case ActionKind::RemoveBlob: return ObjectKind::Blob;
    default: return std::nullopt;
  }
}

}  // namespace

// The actions object_kind_of knows no object for name their key.
layout::Object Action::object() const {
  layout::Object o;
  o.repository = repository;
  o.digest = digest;
  if (std::optional<ObjectKind> k = object_kind_of(kind, whole)) {
    o.kind = *k;
    o.name = kind == ActionKind::RemoveUpload ? upload : kind == ActionKind::RemoveRepositoryPart ? part : tag;
  } else {
    o.kind = ObjectKind::Key;
    o.key = key;
  }
  return o;
}

std::string Action::check_key() const {
  if (expect == Expect::LinkIs) return layout::link_of(object());
  if (expect == Expect::BlobMissing && digest) return layout::blob_data(*digest);
  return {};
}

namespace {

// An action on an object of `repository` named by its digest.
Action on_digest(ActionKind kind, std::string_view repository, std::optional<Digest> d, Expect expect, std::string_view reason) {
  Action a;
  a.kind = kind;
  a.repository = repository;
  a.digest = d;
  a.expect = expect;
  a.reason = reason;
  return a;
}

}  // namespace

Action remove_tag(std::string_view repository, std::string_view tag, std::optional<Digest> current, std::string_view reason) {
  Action a = on_digest(ActionKind::RemoveTag, repository, current, Expect::LinkIs, reason);
  a.tag = tag;
  return a;
}

Action remove_tag_index_entry(std::string_view repository, std::string_view tag, const Digest& d, std::string_view reason) {
  Action a = on_digest(ActionKind::RemoveTagIndexEntry, repository, d, Expect::Exists, reason);
  a.tag = tag;
  return a;
}

Action remove_revision(std::string_view repository, const Digest& d, bool whole, std::string_view reason) {
  Action a = on_digest(ActionKind::RemoveRevision, repository, d, Expect::LinkIs, reason);
  a.whole = whole;
  return a;
}

Action remove_layer_link(std::string_view repository, const Digest& d, Expect expect, std::string_view reason) {
  return on_digest(ActionKind::RemoveLayerLink, repository, d, expect, reason);
}

Action remove_upload(std::string_view repository, std::string_view id, std::string_view reason, std::uint64_t bytes) {
  Action a = on_digest(ActionKind::RemoveUpload, repository, std::nullopt, Expect::Exists, reason);
  a.upload = id;
  a.bytes = bytes;
  return a;
}

Action remove_repository_part(std::string_view repository, std::string_view part, std::string_view reason) {
  Action a = on_digest(ActionKind::RemoveRepositoryPart, repository, std::nullopt, Expect::Exists, reason);
  a.part = part;
  return a;
}

Action remove_empty_folder(std::string_view folder, std::string_view reason) {
  return on_digest(ActionKind::RemoveEmptyFolder, folder, std::nullopt, Expect::EmptyFolder, reason);
}

Action remove_blob(const Digest& d, std::string_view reason, std::uint64_t bytes, Expect expect) {
  Action a = on_digest(ActionKind::RemoveBlob, {}, d, expect, reason);
  a.bytes = bytes;
  return a;
}

Action repair_key(ActionKind kind, std::string_view key, std::string_view reason) {
  Action a;
  a.kind = kind;
  a.key = key;
  a.reason = reason;
  return a;
}

void Plan::order() {
  // By kind; empty folders deepest first, so a parent is empty by the time it is tried.
  auto key = [](const Action& a) {
    long depth = a.kind == ActionKind::RemoveEmptyFolder ? -std::count(a.repository.begin(), a.repository.end(), '/') : 0;
    return std::pair(a.kind, depth);
  };
  auto before = [&](const Action& a, const Action& b) { return key(a) < key(b); };
  if (std::is_sorted(actions.begin(), actions.end(), before)) return;
  // A stable sort of the indices (4 bytes each), then the actions moved along the cycles of
  // that permutation: no second copy of a plan that may hold one action per swept blob.
  std::vector<std::uint32_t> from(actions.size());
  for (std::size_t i = 0; i < from.size(); ++i) from[i] = static_cast<std::uint32_t>(i);
  std::stable_sort(from.begin(), from.end(), [&](std::uint32_t a, std::uint32_t b) { return before(actions[a], actions[b]); });
  for (std::size_t start = 0; start < from.size(); ++start) {
    if (from[start] == start) continue;
    Action held = std::move(actions[start]);
    std::size_t at = start;
    for (;;) {
      const std::size_t src = from[at];
      from[at] = static_cast<std::uint32_t>(at);
      if (src == start) {
        actions[at] = std::move(held);
        break;
      }
      actions[at] = std::move(actions[src]);
      at = src;
    }
  }
}

// Format 2 names registry objects; "path" is written for people and checked on reading.
// Format 1 (before objects) named paths: each is read back as the object the layout puts
// there, and a plan whose paths are not the layout's own spelling is refused.
constexpr std::string_view kFormat = "regsweep-plan/2";
constexpr std::string_view kFormatPaths = "regsweep-plan/1";

json plan_to_json(const Plan& plan) {
  json actions = json::array();
  for (const Action& a : plan.actions) {
    json j = {{"action", to_string(a.kind)}, {"path", a.storage_key()}, {"expect", to_string(a.expect)}, {"reason", a.reason.str()}, {"bytes", a.bytes}};
    if (!a.repository.empty()) j["repository"] = a.repository.str();
    if (!a.tag.empty()) j["tag"] = a.tag.str();
    if (a.digest) j["digest"] = a.digest->str();
    if (!a.upload.empty()) j["upload"] = a.upload.str();
    if (!a.part.empty()) j["part"] = a.part.str();
    if (a.whole) j["whole"] = true;
    if (!a.key.empty()) j["key"] = a.key.str();
    if (!a.source.empty()) j["source"] = a.source.str();
    actions.push_back(std::move(j));
  }
  json out = {{"format", kFormat},
          {"command", plan.command},
          {"arguments", plan.arguments},
          {"notes", plan.notes},
          {"gc_would_free", plan.gc_would_free},
          {"trash_blobs", plan.trash_blobs},
          {"restores_run", plan.restores_run},
          {"bytes", plan.bytes()},
          {"actions", actions}};
  if (!plan.registry.empty()) out["registry"] = plan.registry;
  return out;
}

namespace {

// A format-1 action: its object read back from its path.
void object_from_path(Action& a, const std::string& path, const std::string& check_path, const std::function<Error(std::string)>& fail) {
  if (!object_kind_of(a.kind, false)) {
    a.key = path;
  } else {
    const bool revision_folder = a.kind == ActionKind::RemoveRevision && !path.ends_with("/link");
    layout::Object o = layout::object_at(path);
    if (o.kind != object_kind_of(a.kind, revision_folder))
      throw fail("this plan was written by an older regsweep, and " + std::string(to_string(a.kind)) + " of \"" + path +
                 "\" is not where the registry keeps such an object; make the plan again");
    a.repository = o.repository;
    a.whole = revision_folder;
    if (a.kind == ActionKind::RemoveTag || a.kind == ActionKind::RemoveTagIndexEntry) a.tag = o.name;
    if (a.kind == ActionKind::RemoveUpload) a.upload = o.name;
    if (a.kind == ActionKind::RemoveRepositoryPart) a.part = o.name;
    if (o.digest && a.kind != ActionKind::RemoveTag) {
      if (a.digest && *a.digest != *o.digest) throw fail("an action's digest is not the one its path names: " + path);
      a.digest = o.digest;
    }
  }
  if (a.check_key() != check_path)
    throw fail("this plan was written by an older regsweep, and the precondition of \"" + path + "\" reads \"" + check_path +
               "\" instead of \"" + a.check_key() + "\"; make the plan again");
}

}  // namespace

Plan plan_from_json(const json& doc, const std::string& source) {
  auto fail = [&](std::string why) -> Error { return Error("not a regsweep plan: " + why, source); };
  const std::string format = doc.is_object() ? doc.value("format", "") : "";
  if (format != kFormat && format != kFormatPaths) throw fail("no \"format\": \"" + std::string(kFormat) + "\"");
  const bool by_path = format == kFormatPaths;
  Plan plan;
  try {
    plan.command = doc.at("command").get<std::string>();
    plan.arguments = doc.value("arguments", std::vector<std::string>{});
    plan.notes = doc.value("notes", std::vector<std::string>{});
    plan.gc_would_free = doc.value("gc_would_free", std::uint64_t{0});
    plan.trash_blobs = doc.value("trash_blobs", false);
    plan.restores_run = doc.value("restores_run", "");
    plan.registry = doc.value("registry", "");
    for (const json& j : doc.at("actions")) {
      Action a;
      auto kind = action_kind_from_string(j.at("action").get<std::string>());
      auto expect = expect_from_string(j.at("expect").get<std::string>());
      if (!kind || !expect) throw fail("unknown action or expectation");
      a.kind = *kind;
      a.expect = *expect;
      a.source = j.value("source", "");
      if (j.contains("digest")) {
        a.digest = Digest::parse(j.at("digest").get<std::string>());
        if (!a.digest) throw fail("bad digest in an action");
      }
      a.reason = j.value("reason", "");
      a.bytes = j.value("bytes", std::uint64_t{0});
      const std::string path = j.at("path").get<std::string>();
      if (by_path) {
        a.repository = j.value("repository", "");
        a.tag = j.value("tag", "");
        object_from_path(a, path, j.value("check_path", ""), fail);
      } else {
        a.repository = j.value("repository", "");
        a.tag = j.value("tag", "");
        a.upload = j.value("upload", "");
        a.part = j.value("part", "");
        a.whole = j.value("whole", false);
        a.key = j.value("key", "");
        std::string key;
        try {
          key = a.storage_key();
        } catch (const Error& e) {
          throw fail(std::string(to_string(a.kind)) + " without the fields that name its object (" + e.what() + ")");
        }
        if (key != path) throw fail("an action's path \"" + path + "\" is not where its object is kept (\"" + key + "\")");
      }
      plan.actions.push_back(std::move(a));
    }
  } catch (const json::exception& e) {
    throw fail(e.what());
  }
  return plan;
}

}  // namespace regsweep::plan
