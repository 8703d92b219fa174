#pragma once
// How the config readers see environment variables: through a lookup, so that the live-registry
// check can read a config with the environment of the registry process it inspects, and tests
// with a made-up one.
#include <optional>
#include <string>

namespace regsweep::storage {

// Looks a variable up; nullopt when it is not set. `context` is the lookup's own.
using EnvLookup = std::optional<std::string> (*)(const char* name, const void* context);

// This process's environment (the default wherever an EnvLookup may be null).
std::optional<std::string> process_environment(const char* name, const void* context);

}  // namespace regsweep::storage
