#pragma once
// A problem found in the store. Findings are collected and reported; reading never stops
// at the first one, and none of them is a reason to crash.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "regsweep/util/digest.h"

namespace regsweep::storage {

enum class FindingKind {
  TagCurrentMissingRevision,  // a tag points at a digest this repository has no revision for
  TagCurrentMissingBlob,      // a tag points at a manifest whose blob is gone
  TagWithoutCurrent,          // a tag folder with no current/link
  RevisionMissingBlob,        // a revision link whose manifest blob is gone
  ManifestMissingReference,   // a manifest references a blob (config, layer, child) that is gone
  ManifestUnparsable,         // a manifest blob that is not a manifest
  ManifestDigestMismatch,     // a manifest blob whose content does not hash to its digest
  ManifestTooLarge,           // a manifest blob over the size limit
  ManifestUnknownType,        // parsed, but of a media type we do not know (kept opaque)
  LinkEmpty,                  // a link file with no content
  LinkMalformed,              // a link file whose content is not "sha256:<64 hex>"
  LinkWrongAlgorithm,         // a link file naming another algorithm (sha512:...)
  LinkMismatch,               // a link file whose digest differs from its folder's name
  BlobWithoutData,            // a blob folder with no data file
  UploadWithoutStartedAt,     // an upload folder with no (or a garbage) startedat
  UnexpectedFile,             // a file or folder the registry would not have written
  InvalidName,                // a repository or tag name outside the registry's grammar
  Unreadable,                 // a file or folder that could not be read (permissions, I/O)
  Symlink,                    // a symbolic link inside the layout: the registry follows it, regsweep does not
  // Found by `fsck` from the model (the walker does not look for these):
  LayerLinkMissingBlob,       // a _layers link to a blob that is gone
  LayerLinkMissing,           // a blob an image needs, present, but not linked in its repository
  ChildRevisionMissing,       // an index child with no revision in the repository
  SubjectMissing,             // a referrer whose subject is not in the repository
  ManifestCycle,              // an index that contains itself, directly or through others
  BlobSizeMismatch,           // data whose size differs from the size a descriptor declares
  BlobDigestMismatch,         // data whose content does not hash to its digest (--verify)
  TempFile,                   // a leftover *.tmp file
};

enum class Severity { Info, Warning, Error };

struct Finding {
  FindingKind kind;
  Severity severity;
  std::string path;        // for people: where it is (a path on a disk, a URL in a bucket)
  std::string message;
  std::string key;         // the key, relative to the storage's root; empty for the root itself
  std::string repository;  // the repository the key is in, if any (layout::repository_of)
  std::optional<Digest> digest;  // the blob, revision, layer link or tag history entry it is about, if any
};

std::string_view to_string(FindingKind kind);
std::string_view to_string(Severity severity);
Severity default_severity(FindingKind kind);

// A finding behind which the walk saw nothing (an unreadable folder or file, a symbolic link it
// did not follow): what is there may reference any blob, so no sweep may trust the model.
inline bool is_blind_spot(const Finding& f) { return f.kind == FindingKind::Unreadable || f.kind == FindingKind::Symlink; }

// Collects findings of one walker thread; merged in the end.
class FindingSink {
 public:
  void add(FindingKind kind, std::string path, std::string message) {
    findings_.push_back(Finding{kind, default_severity(kind), std::move(path), std::move(message), {}, {}, {}});
  }
  // With a severity other than the kind's default: an unexpected entry is informational as
  // a stray extra, but an error where the registry keeps something it needs (a FIFO or a
  // symlink in place of a link file, a blob folder, repositories/).
  void add(FindingKind kind, Severity severity, std::string path, std::string message) {
    findings_.push_back(Finding{kind, severity, std::move(path), std::move(message), {}, {}, {}});
  }
  std::vector<Finding>& findings() { return findings_; }

 private:
  std::vector<Finding> findings_;
};

}  // namespace regsweep::storage
