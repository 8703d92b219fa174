#pragma once
// Paged lists of the registry's API (`/v2/_catalog`, `/v2/<name>/tags/list`): the first page
// is asked for with `n`, each next one is named by the answer's `Link` header (RFC 8288):
//   Link: </v2/_catalog?last=team%2Fapp&n=100>; rel="next"
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace regsweep::online {

// The target of the `rel="next"` link of a Link header value, as written (often a path and
// query without the host); nullopt when there is none.
std::optional<std::string> next_link_target(std::string_view link_header);

// The URL of a link target read on a page of `base_url` ("https://host:port"): a path is put
// on the same origin; an absolute URL must be of that origin (a next page elsewhere would be
// sent our credentials). Error naming the target otherwise.
std::string resolve_link(std::string_view base_url, std::string_view target);

// The pages of one list, in order: refuses (Error naming the URL) a next page that was read
// already, so that a Link that loops ends the run instead of never ending it.
class PageTrail {
 public:
  explicit PageTrail(std::string first_url);
  // Records the next page's URL; Error when it was visited before.
  void advance(const std::string& next_url);
  const std::string& current() const { return current_; }
  std::size_t pages() const { return seen_.size(); }

 private:
  std::unordered_set<std::string> seen_;
  std::string current_;
};

}  // namespace regsweep::online
