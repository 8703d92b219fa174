#pragma once
// For crash tests in-process: `hook` is called after every mutation the executor makes
// (journal line, move, copy, delete, audit line, purge); one that throws stops the run right
// there, as a kill would. An empty function removes it.
#include <functional>

namespace regsweep::apply {

void set_mutation_hook(std::function<void()> hook);

}  // namespace regsweep::apply
