#include "regsweep/storage/finding.h"

namespace regsweep::storage {

std::string_view to_string(FindingKind kind) {
  switch (kind) {
    case FindingKind::TagCurrentMissingRevision: return "tag-current-missing-revision";
    case FindingKind::TagCurrentMissingBlob: return "tag-current-missing-blob";
    case FindingKind::TagWithoutCurrent: return "tag-without-current";
    case FindingKind::RevisionMissingBlob: return "revision-missing-blob";
    case FindingKind::ManifestMissingReference: return "manifest-missing-reference";
    case FindingKind::ManifestUnparsable: return "manifest-unparsable";
    case FindingKind::ManifestDigestMismatch: return "manifest-digest-mismatch";
    case FindingKind::ManifestTooLarge: return "manifest-too-large";
    case FindingKind::ManifestUnknownType: return "manifest-unknown-type";
    case FindingKind::LinkEmpty: return "link-empty";
    case FindingKind::LinkMalformed: return "link-garbage";
    case FindingKind::LinkWrongAlgorithm: return "link-wrong-algorithm";
    case FindingKind::LinkMismatch: return "link-mismatch";
    case FindingKind::BlobWithoutData: return "blob-dir-without-data";
    case FindingKind::UploadWithoutStartedAt: return "upload-without-startedat";
    case FindingKind::UnexpectedFile: return "unexpected-file";
    case FindingKind::InvalidName: return "invalid-name";
    case FindingKind::Unreadable: return "unreadable";
    case FindingKind::Symlink: return "symlink";
    case FindingKind::LayerLinkMissingBlob: return "layer-link-missing-blob";
    case FindingKind::LayerLinkMissing: return "layer-link-missing";
    case FindingKind::ChildRevisionMissing: return "child-revision-missing";
    case FindingKind::SubjectMissing: return "subject-missing";
    case FindingKind::ManifestCycle: return "manifest-cycle";
    case FindingKind::BlobSizeMismatch: return "blob-size-mismatch";
    case FindingKind::BlobDigestMismatch: return "blob-digest-mismatch";
    case FindingKind::TempFile: return "temp-file";
  }
  return "unknown";
}

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::Info: return "info";
    case Severity::Warning: return "warning";
    case Severity::Error: return "error";
  }
  return "unknown";
}

Severity default_severity(FindingKind kind) {
  switch (kind) {
    case FindingKind::TagCurrentMissingRevision:
    case FindingKind::TagCurrentMissingBlob:
    case FindingKind::TagWithoutCurrent:
    case FindingKind::ManifestMissingReference:
    case FindingKind::ManifestUnparsable:
    case FindingKind::ManifestDigestMismatch:
    case FindingKind::LinkEmpty:
    case FindingKind::LinkMalformed:
    case FindingKind::LinkWrongAlgorithm:
    case FindingKind::Unreadable:
    case FindingKind::Symlink:
    case FindingKind::LayerLinkMissing:
    case FindingKind::ChildRevisionMissing:
    case FindingKind::ManifestCycle:
    case FindingKind::BlobSizeMismatch:
    case FindingKind::BlobDigestMismatch:
      return Severity::Error;
    case FindingKind::ManifestUnknownType:
    case FindingKind::UnexpectedFile:
    case FindingKind::UploadWithoutStartedAt:
      return Severity::Info;
    default:
      return Severity::Warning;
  }
}

}  // namespace regsweep::storage
