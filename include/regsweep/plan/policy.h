#pragma once
// Retention policies as a file (docs/policies.md): the value a YAML policy file is parsed
// into, checked as a whole before anything runs. Pure: the caller reads the file.
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <map>
#include <utility>

#include "regsweep/error.h"
#include "regsweep/storage/model.h"

namespace regsweep::plan {

// Where something is written in the policy file (1-based; 0 when unknown).
struct PolicyLocation {
  int line = 0;
  int column = 0;
};

// A policy file that cannot be used: the message starts with "FILE:LINE:COLUMN: " and names
// the key; exit 2 like every usage error.
class PolicyError : public UsageError {
 public:
  PolicyError(const std::string& file, PolicyLocation at, const std::string& message);
  const std::string& file() const { return file_; }
  PolicyLocation location() const { return at_; }
  const std::string& message() const { return message_; }  // without the location

 private:
  std::string file_;
  PolicyLocation at_;
  std::string message_;
};

enum class PolicyAction : std::uint8_t { Keep, Delete };
enum class PolicySelection : std::uint8_t { Tagged, Untagged, Any };
enum class PolicyTime : std::uint8_t { Pushed, Pulled, Created };

const char* to_string(PolicyAction a);
const char* to_string(PolicySelection s);
const char* to_string(PolicyTime t);

// A tag pattern of an include or exclude list: a regex (searched, ECMAScript) or a glob.
struct TagPattern {
  std::string text;
  bool regex = false;
  std::regex compiled;  // regexes only
  PolicyLocation at;
  bool matches(std::string_view tag) const;
};

// "<time> longer ago than <duration>" (older) or "at most <duration> ago" (newer).
struct AgeCondition {
  PolicyTime time = PolicyTime::Pushed;
  bool older = true;
  std::int64_t seconds = 0;
  std::string text;  // as written: "30d"
  PolicyLocation at;
  std::string key() const;  // "pushed_older_than"
};

struct PolicyRule {
  std::string name;  // optional in the file; "rule <priority>" otherwise
  std::uint64_t priority = 0;
  PolicyAction action = PolicyAction::Delete;
  PolicySelection select = PolicySelection::Tagged;
  std::vector<std::string> repositories;  // globs; empty: every repository
  std::vector<std::string> exclude_repositories;
  std::vector<TagPattern> include;  // empty: every tag
  std::vector<TagPattern> exclude;
  bool match_all = false;  // every include pattern must match one of the image's tags
  // Conditions, all ANDed.
  std::optional<std::uint64_t> most_recent;      // among the N most recent it counts
  std::optional<std::uint64_t> count_more_than;  // beyond the N most recent it counts
  PolicyTime count_by = PolicyTime::Pushed;
  std::vector<AgeCondition> ages;
  PolicyLocation at;  // the rule's mapping

  bool covers_repository(std::string_view repository) const;
  // Selects an image of a covered repository through its tags (empty: an untagged image).
  bool selects(const std::vector<std::string>& tags) const;
  bool needs(PolicyTime t) const;  // a condition or count on this time
  // One line for people: "delete tagged images of team/** with tags ^dev- ... when ...".
  std::string summary() const;
};

struct Policy {
  std::string file;  // as given, for messages
  bool delete_referrers = true;
  std::vector<PolicyRule> rules;  // in priority order (lowest number first)

  bool needs(PolicyTime t) const;
};

// Parses and checks a policy file's text; `file` names it in messages. Throws PolicyError at
// the first mistake (docs/policies.md lists them), with its line and column.
Policy parse_policy(std::string_view text, const std::string& file);

// The times the engine reads besides the model's push times of tags.
struct PolicyTimes {
  std::map<Digest, std::int64_t> created_ns;  // the config's `created` (0 or absent: unknown)
  // An untagged image's push time (its revision link's mtime), by repository and digest.
  std::map<std::pair<std::string, Digest>, std::int64_t> revision_pushed_ns;
  // Last pull seen in the access logs, by repository and digest; nullopt: no logs given.
  std::optional<std::map<std::pair<std::string, Digest>, std::int64_t>> pulled_ns;
  // The earliest time the logs cover: "not pulled for 30 days" cannot be known from logs that
  // start 10 days ago, so a rule asking it is refused (0: unknown, refused likewise).
  std::int64_t pulls_seen_since_ns = 0;
};

// The fate of one image (a digest in a repository) and the rule that decided it.
struct ImageDecision {
  std::string repository;
  Digest digest;
  std::vector<std::string> tags;  // sorted; empty: an untagged image
  bool deleted = false;
  std::optional<std::uint64_t> rule;  // the deciding rule's priority; none: no rule selects it
  std::string reason;                 // "deleted by rule 2 (old dev): beyond the 3 most recent (4th)"
};

// The engine (docs/policies.md, "Semantics"): every image of every repository, in the model's
// order (repository, then tagged images by digest, then untagged ones). Tags without a
// readable current link name no image; cosign-style tags (sha256-<hex>.sig, ...) are left out
// (they follow their subject when the plan is made); an untagged image is a revision no tag
// names that is neither an index child nor a referrer, and a repository whose tags could not
// all be read has none. Throws UsageError when a rule needs pull times and none are given,
// or a pull-age condition reaches further back than the logs do (naming the rule).
std::vector<ImageDecision> decide(const storage::Model& model, const Policy& policy, std::int64_t now_ns,
                                  const PolicyTimes& times);

// Repository and tag globs (util/glob.h's): why a glob is not valid, or nullopt.
std::optional<std::string> glob_problem(std::string_view glob);

}  // namespace regsweep::plan
