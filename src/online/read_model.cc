#include "regsweep/online/read_model.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "regsweep/error.h"
#include "regsweep/storage/image_info.h"
#include "regsweep/util/names.h"
#include "regsweep/util/parallel.h"

namespace regsweep::online {

using storage::FindingKind;
using storage::ManifestRecord;
using storage::Model;

namespace {

constexpr std::size_t kMaxConfigBytes = 8 * 1024 * 1024;

// The manifests read so far, by digest: each is parsed once, whatever number of repositories
// and tags name it. Filled from many threads.
class ManifestTable {
 public:
  bool contains(const Digest& d) {
    std::lock_guard lock(mutex_);
    return index_.contains(d);
  }
  void add(FetchedManifest&& fetched) {
    {
      std::lock_guard lock(mutex_);
      if (index_.contains(fetched.digest)) return;
    }
    ManifestRecord rec;
    rec.digest = fetched.digest;
    rec.size = fetched.body.size();
    rec.readable = true;
    rec.parsed = storage::parse_manifest(fetched.body);
    std::lock_guard lock(mutex_);
    if (index_.emplace(rec.digest, records_.size()).second) records_.push_back(std::move(rec));
  }
  const ManifestRecord* find(const Digest& d) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(d);
    return it == index_.end() ? nullptr : &records_[it->second];
  }
  std::vector<ManifestRecord> take() { return std::move(records_); }

 private:
  std::mutex mutex_;
  std::unordered_map<Digest, std::size_t, DigestHash> index_;
  std::vector<ManifestRecord> records_;  // stable only between rounds: read by find() between them
};

// What one repository's reading found.
struct RepositoryReading {
  storage::Repository repo;
  std::unordered_set<Digest, DigestHash> revisions;
  std::vector<Digest> frontier;  // revisions whose children are not looked at yet
  std::vector<storage::Finding> findings;
};

// One manifest request: a tag, or a child by digest.
struct ManifestFetch {
  std::size_t repository;
  std::string reference;
  std::size_t tag = SIZE_MAX;  // index into the repository's tags, for a tag
};

struct FetchOutcome {
  std::optional<Digest> digest;  // nullopt: 404
};

std::string manifest_url(const RegistryClient& client, std::string_view repository, std::string_view reference) {
  return client.base_url() + "/v2/" + std::string(repository) + "/manifests/" + std::string(reference);
}

storage::Finding finding(FindingKind kind, std::string url, std::string message, const std::string& repository,
                         std::optional<Digest> digest = std::nullopt) {
  storage::Finding f;
  f.kind = kind;
  f.severity = storage::default_severity(kind);
  f.path = std::move(url);
  f.message = std::move(message);
  f.repository = repository;
  f.digest = digest;
  return f;
}

}  // namespace

Model read_model(RegistryClient& client, const ReadOptions& options) {
  util::Progress& progress = options.progress ? *options.progress : util::no_progress();
  const unsigned jobs = std::max(1u, options.jobs);
  Model model;
  model.root = client.base_url();
  client.check_api();

  std::vector<std::string> names = options.repositories.empty() ? client.catalog() : options.repositories;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<RepositoryReading> readings;
  for (std::string& name : names) {
    if (!util::is_valid_repository_name(name)) {
      // Never put in a URL: a name outside the grammar is not one the registry serves.
      if (!options.repositories.empty())
        throw UsageError("\"" + name + "\" is not a repository name (the registry's grammar)", client.base_url());
      model.findings.push_back(finding(FindingKind::InvalidName, client.base_url() + "/v2/_catalog",
                                       "the catalog lists \"" + name + "\", outside the registry's grammar for names: not read", name));
      continue;
    }
    RepositoryReading r;
    r.repo.name = std::move(name);
    r.repo.has_manifests_dir = true;
    r.repo.has_layers_dir = true;
    readings.push_back(std::move(r));
  }

  // The tags of every repository, at once.
  progress.phase("listing tags");
  progress.expect(readings.size());
  util::parallel_for(readings.size(), jobs, [&](unsigned, std::size_t i) {
    RepositoryReading& r = readings[i];
    std::optional<std::vector<std::string>> tags = client.tags(r.repo.name);
    progress.advance(1);
    if (!tags) {
      if (!options.repositories.empty())
        throw Error("no such repository: " + r.repo.name, client.base_url() + "/v2/" + r.repo.name + "/tags/list");
      return;  // in the catalog, with no tag (registry 2.8 answers NAME_UNKNOWN then)
    }
    std::sort(tags->begin(), tags->end());
    tags->erase(std::unique(tags->begin(), tags->end()), tags->end());
    for (std::string& t : *tags) {
      if (!util::is_valid_tag(t)) {
        r.findings.push_back(finding(FindingKind::InvalidName, client.base_url() + "/v2/" + r.repo.name + "/tags/list",
                                     "the registry lists tag \"" + t + "\", outside the registry's grammar for tags: not read", r.repo.name));
        continue;
      }
      storage::TagLink tag;
      tag.name = std::move(t);
      r.repo.tags.push_back(std::move(tag));
    }
  });

  // Manifests: every tag's, then the children of indexes among them, round after round until
  // no new one appears. Each digest is read once (in the first repository that needs it).
  ManifestTable table;
  std::vector<ManifestFetch> fetches;
  for (std::size_t i = 0; i < readings.size(); ++i)
    for (std::size_t t = 0; t < readings[i].repo.tags.size(); ++t) fetches.push_back({i, readings[i].repo.tags[t].name, t});
  progress.phase("reading manifests");
  while (!fetches.empty()) {
    progress.expect(fetches.size());
    std::vector<FetchOutcome> outcomes(fetches.size());
    util::parallel_for(fetches.size(), jobs, [&](unsigned, std::size_t i) {
      const ManifestFetch& f = fetches[i];
      std::optional<FetchedManifest> m = client.manifest(readings[f.repository].repo.name, f.reference);
      progress.advance(1);
      if (!m) return;
      outcomes[i].digest = m->digest;
      table.add(std::move(*m));
    });
    for (std::size_t i = 0; i < fetches.size(); ++i) {
      const ManifestFetch& f = fetches[i];
      RepositoryReading& r = readings[f.repository];
      const std::string url = manifest_url(client, r.repo.name, f.reference);
      const std::optional<Digest>& got = outcomes[i].digest;
      if (f.tag != SIZE_MAX) {
        if (!got) {
          r.findings.push_back(finding(FindingKind::TagCurrentMissingRevision, url,
                                       "tag " + f.reference + " is listed, but its manifest is not served (HTTP 404)", r.repo.name));
          continue;
        }
        r.repo.tags[f.tag].current = *got;
      } else if (!got) {
        r.findings.push_back(finding(FindingKind::ManifestMissingReference, url,
                                     "an index lists " + f.reference + ", which the registry does not serve (HTTP 404)", r.repo.name,
                                     Digest::parse(f.reference)));
        continue;
      }
      if (r.revisions.insert(*got).second) r.frontier.push_back(*got);
    }
    // The next round: children not yet revisions of the repository that lists them.
    fetches.clear();
    std::unordered_set<Digest, DigestHash> asked;  // one request per new digest, whichever repository
    for (std::size_t i = 0; i < readings.size(); ++i) {
      RepositoryReading& r = readings[i];
      for (std::size_t k = 0; k < r.frontier.size(); ++k) {
        const ManifestRecord* m = table.find(r.frontier[k]);
        if (!m) continue;
        for (const storage::ChildRef& c : m->parsed.children) {
          if (r.revisions.contains(c.digest)) continue;
          if (table.contains(c.digest)) {
            r.revisions.insert(c.digest);
            r.frontier.push_back(c.digest);  // its own children are looked at in this loop
          } else if (asked.insert(c.digest).second) {
            fetches.push_back({i, c.digest.str()});
          }
        }
      }
      r.frontier.clear();
    }
  }

  // The model, sorted as the walk sorts it.
  model.manifests = table.take();
  std::sort(model.manifests.begin(), model.manifests.end(), [](const ManifestRecord& a, const ManifestRecord& b) { return a.digest < b.digest; });
  for (const ManifestRecord& m : model.manifests) {
    model.blobs.push_back(storage::BlobRecord{m.digest, m.size, true, 0});
    if (m.parsed.kind == storage::ManifestKind::Unparsable)
      model.findings.push_back(finding(FindingKind::ManifestUnparsable, client.base_url() + " " + m.digest.str(),
                                       "manifest " + m.digest.str() + " is unparsable: " + m.parsed.error, {}, m.digest));
    else if (m.parsed.kind == storage::ManifestKind::Unknown)
      model.findings.push_back(finding(FindingKind::ManifestUnknownType, client.base_url() + " " + m.digest.str(),
                                       "manifest " + m.digest.str() + " has unknown media type \"" + std::string(m.parsed.media_type) +
                                           "\"; kept as opaque",
                                       {}, m.digest));
    if (m.parsed.config) model.blobs.push_back(storage::BlobRecord{m.parsed.config->digest, m.parsed.config->size, true, 0});
    for (const storage::BlobRef& l : m.parsed.layers)
      if (!l.foreign) model.blobs.push_back(storage::BlobRecord{l.digest, l.size, true, 0});
  }
  std::stable_sort(model.blobs.begin(), model.blobs.end(), [](const storage::BlobRecord& a, const storage::BlobRecord& b) { return a.digest < b.digest; });
  model.blobs.erase(std::unique(model.blobs.begin(), model.blobs.end(),
                                [](const storage::BlobRecord& a, const storage::BlobRecord& b) { return a.digest == b.digest; }),
                    model.blobs.end());

  for (RepositoryReading& r : readings) {
    for (const Digest& d : r.revisions) {
      r.repo.revisions.push_back(storage::RevisionLink{d, false});
      if (const ManifestRecord* m = model.find_manifest(d)) {
        if (m->parsed.config) r.repo.layers.push_back(storage::LayerLink{m->parsed.config->digest});
        for (const storage::BlobRef& l : m->parsed.layers)
          if (!l.foreign) r.repo.layers.push_back(storage::LayerLink{l.digest});
      }
    }
    std::sort(r.repo.revisions.begin(), r.repo.revisions.end(), [](const auto& a, const auto& b) { return a.digest < b.digest; });
    std::sort(r.repo.layers.begin(), r.repo.layers.end(), [](const auto& a, const auto& b) { return a.digest < b.digest; });
    r.repo.layers.erase(std::unique(r.repo.layers.begin(), r.repo.layers.end(), [](const auto& a, const auto& b) { return a.digest == b.digest; }),
                        r.repo.layers.end());
    for (storage::Finding& f : r.findings) model.findings.push_back(std::move(f));
    model.repositories.push_back(std::move(r.repo));
  }
  std::sort(model.findings.begin(), model.findings.end(),
            [](const storage::Finding& a, const storage::Finding& b) { return a.path < b.path; });
  progress.done();
  return model;
}

std::optional<std::string> read_image_created(RegistryClient& client, const Model& model, std::string_view repository,
                                              const Digest& manifest) {
  return storage::image_created(model, manifest, [&](const Digest& config) { return client.blob(repository, config, kMaxConfigBytes); });
}

}  // namespace regsweep::online
