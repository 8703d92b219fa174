#pragma once
// Pieces of the walk, shared by walker.cc, walk_blobs.cc and walk_repositories.cc.
#include <string>
#include <vector>

#include "regsweep/storage/filesystem.h"
#include "regsweep/storage/model.h"
#include "regsweep/util/progress.h"

namespace regsweep::storage::detail {

// What an entry that is not the expected regular file or folder is, for messages.
const char* what_it_is(FileType type);

// A symbolic link where the registry keeps `what`: the registry follows it, regsweep does not,
// so whatever is behind it is unknown (a blind spot: every sweep refuses while it is there).
void add_symlink(FindingSink& sink, std::string path, std::string_view what);

// An entry that exists (or may) but could not be opened or looked at: `errno_value` says why.
void add_unreadable(FindingSink& sink, std::string path, std::string_view what, int errno_value);

// Throws Error: a folder the whole walk needs (docker/registry/v2, blobs/, blobs/sha256/,
// repositories/) is something else. Without it the model would be wrong as a whole: every
// blob unreferenced, or every reference dangling, and a gc would act on that.
[[noreturn]] void throw_not_a_folder(const std::string& path, FileType type);

// blobs/sha256/<2>/<hex>/: one fstatat of "<hex>/data" per blob, parallel over prefixes
// on one worker per sink.
std::vector<BlobRecord> walk_blobs(Dir& v2, std::vector<FindingSink>& sinks, util::Progress& progress);

// The repository names below repositories/ (nested names found by descending into every
// folder that is not a reserved "_" folder).
std::vector<std::string> discover_repositories(Dir& repositories, FindingSink& sink);
// The same in two steps, so that each folder of repositories/ can be taken by its own worker:
// the folders of repositories/ (anything else there is a finding), then the repositories in
// one of them (itself included), sorted.
std::vector<std::string> repository_folders(Dir& repositories, FindingSink& sink);
std::vector<std::string> discover_repositories_in(Dir& repositories, const std::string& folder, FindingSink& sink);

// Tags, revisions, layer links and uploads of one repository.
Repository walk_repository(Dir& repositories, const std::string& name, FindingSink& sink);

}  // namespace regsweep::storage::detail
