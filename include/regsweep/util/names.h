#pragma once
// The registry's own grammar for repository names and tags (distribution/reference),
// checked by hand: these run once per repository and tag, and regex would be slower
// and harder to read than the grammar itself.
#include <string_view>

namespace regsweep::util {

// One path component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool is_valid_name_component(std::string_view component);
// Components joined by '/', at most 255 characters in all.
bool is_valid_repository_name(std::string_view name);
// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool is_valid_tag(std::string_view tag);

}  // namespace regsweep::util
