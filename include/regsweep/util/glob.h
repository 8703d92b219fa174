#pragma once
#include <string_view>

namespace regsweep::util {

// Repository globs: '*' matches within one path component, '**' across components, '?'
// one character. "team/*" matches team/app but not team/app/sub; "team/**" matches both.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace regsweep::util
