#include "regsweep/plan/protect.h"

#include <algorithm>
#include <cctype>

#include "regsweep/error.h"
#include "regsweep/plan/reachability.h"
#include "regsweep/plan/rm.h"
#include "regsweep/util/reference.h"

namespace regsweep::plan {

namespace {

// One token of a protect list, as an entry; throws UsageError for anything else.
ProtectEntry parse_token(std::string_view token, const std::string& where) {
  ProtectEntry e;
  e.where = where;
  if (auto scheme = token.find("://"); scheme != std::string_view::npos) token.remove_prefix(scheme + 3);
  if (token.starts_with("sha256:")) {
    e.digest = Digest::parse(token);
    if (!e.digest) throw UsageError("not a digest (sha256:<64 hex>): " + std::string(token), where);
    return e;
  }
  std::string ref(token);
  // repo:tag@sha256:...: the digest is what runs.
  if (auto at = ref.find('@'); at != std::string::npos) {
    std::string name = ref.substr(0, at);
    const std::size_t slash = name.rfind('/');
    if (auto colon = name.rfind(':'); colon != std::string::npos && (slash == std::string::npos || colon > slash)) name.resize(colon);
    ref = name + ref.substr(at);
  } else {
    const std::size_t slash = ref.rfind('/');
    const std::size_t colon = ref.rfind(':');
    if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) ref += ":latest";  // Docker's default tag
  }
  util::ImageReference r;
  try {
    r = util::parse_image_reference(ref);
  } catch (const UsageError& bad) {
    throw UsageError(std::string("not an image reference or digest: ") + std::string(token) + " (" + bad.what() + ")", where,
                     "a protect list holds references (repo:tag, repo@sha256:..., with or without a host), kubectl's "
                     "image or imageID output, or sha256:<hex> digests; # starts a comment");
  }
  e.repository = r.repository;
  e.tag = r.tag;
  e.digest = r.digest;
  return e;
}

}  // namespace

std::vector<ProtectEntry> parse_protect_list(std::string_view text, const std::string& file) {
  std::vector<ProtectEntry> out;
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++number;
    line = line.substr(0, line.find('#'));
    const std::string where = file + ":" + std::to_string(number);
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      std::size_t j = i;
      while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
      if (j > i) out.push_back(parse_token(line.substr(i, j - i), where));
      i = j;
    }
  }
  return out;
}

Protection resolve_protection(const storage::Model& model, const std::vector<ProtectEntry>& entries) {
  Protection out;
  for (const storage::Repository& repo : model.repositories) {
    // Roots in this repository: the digests named (here, or anywhere when bare) and the
    // current digests of the tags named.
    std::vector<std::pair<Digest, std::string>> stack;
    for (const ProtectEntry& e : entries) {
      if (!e.repository.empty() && e.repository != repo.name) continue;
      if (e.digest) {
        stack.emplace_back(*e.digest, e.where);
      } else if (const storage::TagLink* t = repo.find_tag(e.tag)) {
        out.tags.emplace(std::make_pair(repo.name, e.tag), e.where);
        if (t->current) stack.emplace_back(*t->current, e.where);
      }
    }
    if (stack.empty()) continue;
    const auto referrers = referrers_by_subject(model, repo);
    while (!stack.empty()) {
      auto [d, where] = std::move(stack.back());
      stack.pop_back();
      if (!out.manifests.emplace(std::make_pair(repo.name, d), where).second) continue;
      if (const storage::ManifestRecord* m = model.find_manifest(d))
        for (const auto& c : m->parsed.children) stack.emplace_back(c.digest, where);
      if (auto it = referrers.find(d); it != referrers.end())
        for (const Digest& r : it->second) stack.emplace_back(r, where);
      // Cosign-style referrers: the tags sha256-<hex>(.sig|.att|.sbom) of this digest.
      const std::string cosign = "sha256-" + d.hex();
      for (const auto& t : repo.tags)
        if (t.current && is_referrer_tag(t.name) && t.name.starts_with(cosign)) {
          out.tags.emplace(std::make_pair(repo.name, t.name), where);
          stack.emplace_back(*t.current, where);
        }
    }
  }
  return out;
}

void refuse_protected(const Plan& plan, const Protection& protection) {
  if (protection.empty()) return;
  std::vector<std::string> hits;
  std::string first_where;
  for (const Action& a : plan.actions) {
    std::string where;
    std::string what;
    if (a.kind == ActionKind::RemoveTag) {
      if (auto it = protection.tags.find({a.repository.str(), a.tag.str()}); it != protection.tags.end()) {
        where = it->second;
        what = "tag " + a.repository + ":" + a.tag;
      }
    } else if ((a.kind == ActionKind::RemoveRevision || a.kind == ActionKind::RemoveTagIndexEntry) && a.digest) {
      if (auto it = protection.manifests.find({a.repository.str(), *a.digest}); it != protection.manifests.end()) {
        where = it->second;
        what = "manifest " + a.repository + "@" + a.digest->str();
      }
    } else if (a.kind == ActionKind::RemoveRepositoryPart || a.kind == ActionKind::RemoveEmptyFolder) {
      // The repository's first protected manifest, if any (the map is ordered by repository).
      if (auto it = protection.manifests.lower_bound({a.repository.str(), Digest{}});
          it != protection.manifests.end() && it->first.first == a.repository.str()) {
        where = it->second;
        what = "repository " + a.repository + " (it holds a protected image)";
      }
    }
    if (where.empty()) continue;
    if (first_where.empty()) first_where = where;
    hits.push_back(what + " (protected by " + where + ")");
  }
  if (hits.empty()) return;
  std::sort(hits.begin(), hits.end());
  hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
  std::string list;
  for (std::size_t i = 0; i < hits.size() && i < 10; ++i) list += (i ? "; " : "") + hits[i];
  if (hits.size() > 10) list += "; and " + std::to_string(hits.size() - 10) + " more";
  throw SafetyRefusal("this would delete what --protect protects: " + list + "; nothing was changed", first_where,
                      "leave those out (or drop them from the protect list if they are no longer in use)");
}

}  // namespace regsweep::plan
