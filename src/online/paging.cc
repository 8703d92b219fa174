#include "regsweep/online/paging.h"

#include "regsweep/error.h"
#include "regsweep/util/format.h"

namespace regsweep::online {

std::optional<std::string> next_link_target(std::string_view header) {
  // Links are `<target>; param; param`, separated by commas (a comma may sit inside <...>).
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t open = header.find('<', pos);
    if (open == std::string_view::npos) return std::nullopt;
    std::size_t close = header.find('>', open);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view target = header.substr(open + 1, close - open - 1);
    // The parameters run to the next link's '<' (a quoted parameter holds no '<' here).
    std::size_t next = header.find('<', close);
    std::string params = util::ascii_lower(header.substr(close + 1, next == std::string_view::npos ? std::string_view::npos : next - close - 1));
    for (std::size_t p = params.find("rel"); p != std::string::npos; p = params.find("rel", p + 3)) {
      std::size_t eq = params.find_first_not_of(" \t", p + 3);
      if (eq == std::string::npos || params[eq] != '=') continue;
      std::size_t v = params.find_first_not_of(" \t\"", eq + 1);
      if (v == std::string::npos) continue;
      // rel may list several relation types: rel="next last"
      std::size_t end = params.find_first_of("\";,", v);
      std::string_view rels = std::string_view(params).substr(v, end == std::string::npos ? std::string::npos : end - v);
      for (std::size_t s = 0; s <= rels.size();) {
        std::size_t e = rels.find(' ', s);
        if (rels.substr(s, e == std::string_view::npos ? std::string_view::npos : e - s) == "next") return std::string(target);
        if (e == std::string_view::npos) break;
        s = e + 1;
      }
    }
    if (next == std::string_view::npos) return std::nullopt;
    pos = next;
  }
  return std::nullopt;
}

std::string resolve_link(std::string_view base_url, std::string_view target) {
  if (target.starts_with("/") && !target.starts_with("//")) return std::string(base_url) + std::string(target);
  std::string lower = util::ascii_lower(target);
  if (lower.starts_with("http://") || lower.starts_with("https://")) {
    const std::string base = util::ascii_lower(base_url);
    if (lower.starts_with(base) && (lower.size() == base.size() || lower[base.size()] == '/')) return std::string(target);
    throw Error("the registry's next page is on another server: regsweep sends its credentials only to " + std::string(base_url),
                std::string(target));
  }
  throw Error("the registry's Link header names no path of this registry", std::string(target));
}

PageTrail::PageTrail(std::string first_url) : current_(std::move(first_url)) { seen_.insert(current_); }

void PageTrail::advance(const std::string& next_url) {
  if (!seen_.insert(next_url).second)
    throw Error("the registry's Link header loops: page " + std::to_string(seen_.size() + 1) + " names a page read already",
                next_url, "a registry (or a proxy in front of it) that pages wrongly; regsweep stops rather than list forever");
  current_ = next_url;
}

}  // namespace regsweep::online
