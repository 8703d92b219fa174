// libFuzzer target: the registry's name grammar (util/names.h) and image references as
// users type them (util/reference.h).
// Properties:
// - is_valid_name_component / is_valid_repository_name / is_valid_tag agree with an
//   independent automaton of distribution/reference's grammar;
// - an accepted reference is `[host "/"] repository (":" tag | "@" digest)` of the input,
//   its parts are in the grammar, it can never name a path outside the repositories folder
//   (no "", "." or ".." component, no leading '/'), and it round-trips through text();
// - a refused one throws UsageError and nothing else.
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "regsweep/error.h"
#include "regsweep/util/digest.h"
#include "regsweep/util/names.h"
#include "regsweep/util/reference.h"

using namespace regsweep;

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* as an automaton.
bool model_component(std::string_view s) {
  enum { Start, Alnum, AfterSep, OneUnderscore, Dashes } state = Start;
  for (char c : s) {
    if (lower_alnum(c)) {
      state = Alnum;
      continue;
    }
    switch (state) {
      case Alnum:
        if (c == '.') state = AfterSep;
        else if (c == '_') state = OneUnderscore;
        else if (c == '-') state = Dashes;
        else return false;
        break;
      case OneUnderscore:
        if (c == '_') state = AfterSep;
        else return false;
        break;
      case Dashes:
        if (c != '-') return false;
        break;
      default:
        return false;
    }
  }
  return state == Alnum;
}

bool model_repository(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  while (true) {
    auto slash = s.find('/');
    if (!model_component(s.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    s.remove_prefix(slash + 1);
  }
}

bool word(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_'; }

bool model_tag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !word(s[0])) return false;
  for (char c : s.substr(1))
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

// Safe as a relative path under repositories/: what the grammar is for.
bool safe_path(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    auto slash = name.find('/', start);
    std::string_view part = name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

// What was dropped in front of the name: nothing, or "<host>/" with a host-like first part.
bool dropped_host_ok(std::string_view prefix) {
  if (prefix.empty()) return true;
  if (prefix.back() != '/') return false;
  std::string_view host = prefix.substr(0, prefix.size() - 1);
  if (host.empty() || host.find('/') != std::string_view::npos) return false;
  return host == "localhost" || host.find('.') != std::string_view::npos || host.find(':') != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::as_text(data, size);

  FUZZ_CHECK(util::is_valid_name_component(text) == model_component(text));
  FUZZ_CHECK(util::is_valid_repository_name(text) == model_repository(text));
  FUZZ_CHECK(util::is_valid_tag(text) == model_tag(text));
  if (util::is_valid_repository_name(text)) FUZZ_CHECK(safe_path(text));

  try {
    util::ImageReference ref = util::parse_image_reference(text);
    FUZZ_CHECK(util::is_valid_repository_name(ref.repository));
    FUZZ_CHECK(safe_path(ref.repository));
    if (ref.digest) {
      FUZZ_CHECK(ref.tag.empty());
    } else {
      FUZZ_CHECK(util::is_valid_tag(ref.tag));
      FUZZ_CHECK(ref.tag.find('/') == std::string::npos);
    }
    std::string canonical = ref.text();
    FUZZ_CHECK(text.ends_with(canonical));
    FUZZ_CHECK(dropped_host_ok(text.substr(0, text.size() - canonical.size())));
    // A host in front is dropped again; the reference itself is unchanged.
    util::ImageReference again = util::parse_image_reference("localhost/" + canonical);
    FUZZ_CHECK(again.repository == ref.repository && again.tag == ref.tag && again.digest == ref.digest);
  } catch (const UsageError&) {
  }

  try {
    std::string name = util::parse_repository_name(text);
    FUZZ_CHECK(util::is_valid_repository_name(name));
    FUZZ_CHECK(text.ends_with(name));
    FUZZ_CHECK(dropped_host_ok(text.substr(0, text.size() - name.size())));
    FUZZ_CHECK(util::parse_repository_name("localhost/" + name) == name);
  } catch (const UsageError&) {
  }
  return 0;
}
