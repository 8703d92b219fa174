#include "regsweep/plan/plan.h"

#include <algorithm>
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

void Plan::order() {
  // By kind; empty folders deepest first, so a parent is empty by the time it is tried.
  auto key = [](const Action& a) {
    long depth = a.kind == ActionKind::RemoveEmptyFolder ? -std::count(a.path.begin(), a.path.end(), '/') : 0;
    return std::pair(a.kind, depth);
  };
  std::stable_sort(actions.begin(), actions.end(), [&](const Action& a, const Action& b) { return key(a) < key(b); });
}

json plan_to_json(const Plan& plan) {
  json actions = json::array();
  for (const Action& a : plan.actions) {
    json j = {{"action", to_string(a.kind)}, {"path", a.path}, {"expect", to_string(a.expect)}, {"reason", a.reason}, {"bytes", a.bytes}};
    if (!a.check_path.empty()) j["check_path"] = a.check_path;
    if (!a.source.empty()) j["source"] = a.source;
    if (a.digest) j["digest"] = a.digest->str();
    if (!a.repository.empty()) j["repository"] = a.repository;
    if (!a.tag.empty()) j["tag"] = a.tag;
    actions.push_back(std::move(j));
  }
  return {{"format", "regsweep-plan/1"},
          {"command", plan.command},
          {"arguments", plan.arguments},
          {"notes", plan.notes},
          {"gc_would_free", plan.gc_would_free},
          {"trash_blobs", plan.trash_blobs},
          {"restores_run", plan.restores_run},
          {"bytes", plan.bytes()},
          {"actions", actions}};
}

Plan plan_from_json(const json& doc, const std::string& source) {
  auto fail = [&](const std::string& why) -> Error { return Error("not a regsweep plan: " + why, source); };
  if (!doc.is_object() || doc.value("format", "") != "regsweep-plan/1") throw fail("no \"format\": \"regsweep-plan/1\"");
  Plan plan;
  try {
    plan.command = doc.at("command").get<std::string>();
    plan.arguments = doc.value("arguments", std::vector<std::string>{});
    plan.notes = doc.value("notes", std::vector<std::string>{});
    plan.gc_would_free = doc.value("gc_would_free", std::uint64_t{0});
    plan.trash_blobs = doc.value("trash_blobs", false);
    plan.restores_run = doc.value("restores_run", "");
    for (const json& j : doc.at("actions")) {
      Action a;
      auto kind = action_kind_from_string(j.at("action").get<std::string>());
      auto expect = expect_from_string(j.at("expect").get<std::string>());
      if (!kind || !expect) throw fail("unknown action or expectation");
      a.kind = *kind;
      a.expect = *expect;
      a.path = j.at("path").get<std::string>();
      a.check_path = j.value("check_path", "");
      a.source = j.value("source", "");
      if (j.contains("digest")) {
        a.digest = Digest::parse(j.at("digest").get<std::string>());
        if (!a.digest) throw fail("bad digest in an action");
      }
      a.repository = j.value("repository", "");
      a.tag = j.value("tag", "");
      a.reason = j.value("reason", "");
      a.bytes = j.value("bytes", std::uint64_t{0});
      plan.actions.push_back(std::move(a));
    }
  } catch (const json::exception& e) {
    throw fail(e.what());
  }
  return plan;
}

}  // namespace regsweep::plan
