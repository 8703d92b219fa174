#include "regsweep/plan/policy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "regsweep/plan/rm.h"
#include "regsweep/util/clock.h"
#include "regsweep/util/format.h"
#include "regsweep/util/glob.h"

namespace regsweep::plan {

namespace {

std::string located(const std::string& file, PolicyLocation at, const std::string& message) {
  std::string out = file;
  if (at.line > 0) out += ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
  return out + ": " + message;
}

PolicyLocation location_of(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

const char* const kTopKeys[] = {"version", "delete_referrers", "rules"};
const char* const kRuleKeys[] = {
    "name", "priority", "action", "select", "repositories", "exclude_repositories", "tag_regex", "tag_glob",
    "exclude_tag_regex", "exclude_tag_glob", "match_all", "most_recent", "count_more_than", "count_by",
    "pushed_older_than", "pushed_newer_than", "pulled_older_than", "pulled_newer_than", "created_older_than",
    "created_newer_than"};

// Reads one file: every mistake is a PolicyError at the node that holds it.
class PolicyReader {
 public:
  explicit PolicyReader(const std::string& file) : file_(file) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& message) const {
    throw PolicyError(file_, location_of(at.Mark()), message);
  }

  // The mapping's entries, each key known (else the nearest known one is suggested) and given once.
  template <std::size_t N>
  std::map<std::string, YAML::Node> entries(const YAML::Node& map, const char* const (&known)[N], const std::string& what) const {
    if (!map.IsMap()) fail(map, what + " must be a mapping of keys to values");
    std::map<std::string, YAML::Node> out;
    for (const auto& kv : map) {
      const YAML::Node& key = kv.first;
      if (!key.IsScalar()) fail(key, "a key of " + what + " must be a word");
      const std::string name = key.Scalar();
      if (std::find(std::begin(known), std::end(known), name) == std::end(known)) {
        std::string message = "unknown key \"" + name + "\" in " + what;
        const char* nearest = nullptr;
        std::size_t best = 3;
        for (const char* k : known)
          if (std::size_t d = edit_distance(name, k); d < best) best = d, nearest = k;
        message += nearest ? std::string(" (did you mean \"") + nearest + "\"?)" : "";
        std::string list;
        for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        fail(key, message + "; known keys: " + list);
      }
      if (!out.emplace(name, kv.second).second) fail(key, "key \"" + name + "\" is given twice in " + what);
    }
    return out;
  }

  std::string scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key + " takes a single value, not a list or a mapping");
    return n.Scalar();
  }

  std::uint64_t whole_number(const YAML::Node& n, const std::string& key, const char* what) const {
    const std::string text = scalar(n, key);
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || text[0] == '+' || ec != std::errc() || p != text.data() + text.size())
      fail(n, key + " takes " + what + ", a whole number 0 or more, not \"" + text + "\"");
    return v;
  }

  bool boolean(const YAML::Node& n, const std::string& key) const {
    const std::string t = scalar(n, key);
    if (t == "true") return true;
    if (t == "false") return false;
    fail(n, key + " takes true or false, not \"" + t + "\"");
  }

  // A scalar or a list of scalars.
  std::vector<std::pair<std::string, YAML::Node>> strings(const YAML::Node& n, const std::string& key) const {
    std::vector<std::pair<std::string, YAML::Node>> out;
    if (n.IsScalar()) {
      out.emplace_back(n.Scalar(), n);
    } else if (n.IsSequence()) {
      for (const auto& item : n) {
        if (!item.IsScalar()) fail(item, "each entry of " + key + " must be a string");
        out.emplace_back(item.Scalar(), item);
      }
    } else {
      fail(n, key + " takes a string or a list of strings");
    }
    return out;
  }

  std::vector<std::string> globs(const YAML::Node& n, const std::string& key) const {
    std::vector<std::string> out;
    for (auto& [text, node] : strings(n, key)) {
      if (auto problem = glob_problem(text)) fail(node, key + ": \"" + text + "\" is not a valid glob: " + *problem);
      out.push_back(text);
    }
    return out;
  }

  void tag_patterns(const YAML::Node& n, const std::string& key, bool regex, std::vector<TagPattern>& out) const {
    for (auto& [text, node] : strings(n, key)) {
      TagPattern p;
      p.text = text;
      p.regex = regex;
      p.at = location_of(node.Mark());
      if (regex) {
        try {
          p.compiled = std::regex(text, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          fail(node, key + ": \"" + text + "\" is not a valid regular expression: " + e.what());
        }
      } else if (auto problem = glob_problem(text)) {
        fail(node, key + ": \"" + text + "\" is not a valid glob: " + *problem);
      }
      out.push_back(std::move(p));
    }
  }

  PolicyTime time_kind(const YAML::Node& n, const std::string& key) const {
    const std::string t = scalar(n, key);
    if (t == "pushed") return PolicyTime::Pushed;
    if (t == "pulled") return PolicyTime::Pulled;
    if (t == "created") return PolicyTime::Created;
    fail(n, key + " takes pushed, pulled or created, not \"" + t + "\"");
  }

  PolicyRule rule(const YAML::Node& n, std::size_t index) const {
    const std::string what = "rule " + std::to_string(index + 1);
    auto e = entries(n, kRuleKeys, what);
    PolicyRule r;
    r.at = location_of(n.Mark());
    auto it = e.find("priority");
    if (it == e.end()) fail(n, what + " has no priority (a whole number, unique in the file; lower runs first)");
    r.priority = whole_number(it->second, "priority", "a priority");
    if (auto a = e.find("name"); a != e.end()) r.name = scalar(a->second, "name");
    it = e.find("action");
    if (it == e.end()) fail(n, what + " has no action (keep or delete)");
    const std::string action = scalar(it->second, "action");
    if (action == "keep") r.action = PolicyAction::Keep;
    else if (action == "delete") r.action = PolicyAction::Delete;
    else fail(it->second, "action takes keep or delete, not \"" + action + "\"");
    if (auto s = e.find("select"); s != e.end()) {
      const std::string t = scalar(s->second, "select");
      if (t == "tagged") r.select = PolicySelection::Tagged;
      else if (t == "untagged") r.select = PolicySelection::Untagged;
      else if (t == "any") r.select = PolicySelection::Any;
      else fail(s->second, "select takes tagged, untagged or any, not \"" + t + "\"");
    }
    if (auto g = e.find("repositories"); g != e.end()) r.repositories = globs(g->second, "repositories");
    if (auto g = e.find("exclude_repositories"); g != e.end()) r.exclude_repositories = globs(g->second, "exclude_repositories");
    for (const char* key : {"tag_regex", "tag_glob", "exclude_tag_regex", "exclude_tag_glob"}) {
      auto t = e.find(key);
      if (t == e.end()) continue;
      if (r.select == PolicySelection::Untagged)
        fail(t->second, std::string(key) + " on a rule that selects untagged images: an untagged image has no tag to match");
      const std::string k = key;
      tag_patterns(t->second, k, k.ends_with("regex"), k.starts_with("exclude") ? r.exclude : r.include);
    }
    if (auto m = e.find("match_all"); m != e.end()) r.match_all = boolean(m->second, "match_all");
    if (auto c = e.find("most_recent"); c != e.end()) r.most_recent = whole_number(c->second, "most_recent", "a count of images");
    if (auto c = e.find("count_more_than"); c != e.end())
      r.count_more_than = whole_number(c->second, "count_more_than", "a count of images");
    if (auto c = e.find("count_by"); c != e.end()) {
      if (!r.most_recent && !r.count_more_than) fail(c->second, "count_by without most_recent or count_more_than: there is nothing to count");
      r.count_by = time_kind(c->second, "count_by");
    }
    static const std::pair<const char*, std::pair<PolicyTime, bool>> kAges[] = {
        {"pushed_older_than", {PolicyTime::Pushed, true}},   {"pushed_newer_than", {PolicyTime::Pushed, false}},
        {"pulled_older_than", {PolicyTime::Pulled, true}},   {"pulled_newer_than", {PolicyTime::Pulled, false}},
        {"created_older_than", {PolicyTime::Created, true}}, {"created_newer_than", {PolicyTime::Created, false}}};
    for (const auto& [key, kind] : kAges) {
      auto a = e.find(key);
      if (a == e.end()) continue;
      AgeCondition c;
      c.time = kind.first;
      c.older = kind.second;
      c.text = scalar(a->second, key);
      c.at = location_of(a->second.Mark());
      auto s = util::parse_duration_seconds(c.text);
      if (!s) fail(a->second, std::string(key) + " takes a duration such as 90s, 30m, 12h, 7d or 2w, not \"" + c.text + "\"");
      c.seconds = *s;
      r.ages.push_back(std::move(c));
    }
    if (r.name.empty()) r.name = "rule " + std::to_string(r.priority);
    return r;
  }

  Policy policy(const YAML::Node& doc) const {
    Policy p;
    p.file = file_;
    if (!doc || doc.IsNull()) throw PolicyError(file_, {}, "the policy file is empty: it needs a list of rules");
    auto e = entries(doc, kTopKeys, "the policy file");
    if (auto v = e.find("version"); v != e.end() && scalar(v->second, "version") != "1")
      fail(v->second, "version " + v->second.Scalar() + " is not known to this regsweep: only version 1 is");
    if (auto d = e.find("delete_referrers"); d != e.end()) p.delete_referrers = boolean(d->second, "delete_referrers");
    auto rules = e.find("rules");
    if (rules == e.end()) fail(doc, "the policy file has no rules (a list under \"rules:\")");
    if (!rules->second.IsSequence()) fail(rules->second, "rules must be a list of rules");
    std::map<std::uint64_t, PolicyLocation> priorities;
    std::size_t index = 0;
    for (const auto& n : rules->second) {
      PolicyRule r = rule(n, index++);
      auto [seen, fresh] = priorities.emplace(r.priority, r.at);
      if (!fresh)
        fail(n["priority"], "two rules have priority " + std::to_string(r.priority) + " (the other is at line " +
                                std::to_string(seen->second.line) + "): priorities must be unique");
      p.rules.push_back(std::move(r));
    }
    std::stable_sort(p.rules.begin(), p.rules.end(), [](const PolicyRule& a, const PolicyRule& b) { return a.priority < b.priority; });
    return p;
  }

 private:
  std::string file_;
};

std::string joined(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : separator) + i;
  return out;
}

std::string patterns_text(const std::vector<TagPattern>& ps, const char* separator) {
  std::vector<std::string> items;
  for (const auto& p : ps) items.push_back(p.regex ? "/" + p.text + "/" : p.text);
  return joined(items, separator);
}

}  // namespace

PolicyError::PolicyError(const std::string& file, PolicyLocation at, const std::string& message)
    : UsageError(located(file, at, message), "", "regsweep policy check FILE checks a policy file; docs/policies.md describes it"),
      file_(file),
      at_(at),
      message_(message) {}

const char* to_string(PolicyAction a) { return a == PolicyAction::Keep ? "keep" : "delete"; }
const char* to_string(PolicySelection s) {
  return s == PolicySelection::Tagged ? "tagged" : s == PolicySelection::Untagged ? "untagged" : "any";
}
const char* to_string(PolicyTime t) { return t == PolicyTime::Pushed ? "pushed" : t == PolicyTime::Pulled ? "pulled" : "created"; }

bool TagPattern::matches(std::string_view tag) const {
  if (regex) return std::regex_search(tag.begin(), tag.end(), compiled);
  return util::glob_match(text, tag);
}

std::string AgeCondition::key() const { return std::string(to_string(time)) + (older ? "_older_than" : "_newer_than"); }

bool PolicyRule::covers_repository(std::string_view repository) const {
  auto any = [&](const std::vector<std::string>& globs) {
    return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) { return util::glob_match(g, repository); });
  };
  return (repositories.empty() || any(repositories)) && !any(exclude_repositories);
}

bool PolicyRule::selects(const std::vector<std::string>& tags) const {
  if (tags.empty()) return select != PolicySelection::Tagged;
  if (select == PolicySelection::Untagged) return false;
  auto some_tag = [&](const TagPattern& p) { return std::any_of(tags.begin(), tags.end(), [&](const std::string& t) { return p.matches(t); }); };
  if (std::any_of(exclude.begin(), exclude.end(), some_tag)) return false;
  if (include.empty()) return true;
  return match_all ? std::all_of(include.begin(), include.end(), some_tag) : std::any_of(include.begin(), include.end(), some_tag);
}

bool PolicyRule::needs(PolicyTime t) const {
  if ((most_recent || count_more_than) && count_by == t) return true;
  return std::any_of(ages.begin(), ages.end(), [&](const AgeCondition& a) { return a.time == t; });
}

std::string PolicyRule::summary() const {
  std::string out = std::string(to_string(action)) + " " + to_string(select) + " images";
  out += repositories.empty() ? " of every repository" : " of " + joined(repositories);
  if (!exclude_repositories.empty()) out += " but " + joined(exclude_repositories);
  if (!include.empty()) out += " tagged " + patterns_text(include, match_all ? " and " : " or ");
  if (!exclude.empty()) out += ", none tagged " + patterns_text(exclude, " or ");
  std::vector<std::string> when;
  const std::string by = count_by == PolicyTime::Pushed ? "" : std::string(" by ") + to_string(count_by) + " time";
  if (most_recent) when.push_back("among the " + std::to_string(*most_recent) + " most recent" + by);
  if (count_more_than) when.push_back("beyond the " + std::to_string(*count_more_than) + " most recent" + by);
  for (const auto& a : ages) when.push_back(std::string(to_string(a.time)) + (a.older ? " more than " : " at most ") + a.text + " ago");
  if (!when.empty()) out += " when " + joined(when, " and ");
  return out;
}

bool Policy::needs(PolicyTime t) const {
  return std::any_of(rules.begin(), rules.end(), [&](const PolicyRule& r) { return r.needs(t); });
}

std::optional<std::string> glob_problem(std::string_view glob) {
  if (glob.empty()) return "it is empty";
  if (glob.front() == '/' || glob.back() == '/') return "it starts or ends with /";
  if (glob.find("//") != std::string_view::npos) return "it has an empty component (//)";
  if (glob.find("***") != std::string_view::npos) return "*** means nothing: * is one component, ** any depth";
  for (std::size_t at = glob.find("**"); at != std::string_view::npos; at = glob.find("**", at + 2)) {
    const bool starts = at == 0 || glob[at - 1] == '/';
    const bool ends = at + 2 == glob.size() || glob[at + 2] == '/';
    if (!starts || !ends) return "** must be a whole path component (team/**, **/app)";
  }
  return std::nullopt;
}

Policy parse_policy(std::string_view text, const std::string& file) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw PolicyError(file, location_of(e.mark), "not valid YAML: " + e.msg);
  }
  try {
    return PolicyReader(file).policy(doc);
  } catch (const YAML::Exception& e) {  // a conversion yaml-cpp refused
    throw PolicyError(file, location_of(e.mark), e.msg);
  }
}

namespace {

struct Image {
  ImageDecision* out;
  std::int64_t pushed = 0;  // 0: unknown
  std::int64_t created = 0;
  std::int64_t pulled = 0;  // 0: never seen pulled
};

std::int64_t time_of(const Image& i, PolicyTime t) {
  return t == PolicyTime::Pushed ? i.pushed : t == PolicyTime::Created ? i.created : i.pulled;
}

std::string ordinal(std::size_t n) {
  const char* suffix = (n % 100 >= 11 && n % 100 <= 13) ? "th" : n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
  return std::to_string(n) + suffix;
}

// Why the rule's conditions hold for the image ranked `rank` (0-based) among those it counts,
// or why one does not: (holds, text).
std::pair<bool, std::string> conditions(const PolicyRule& r, const Image& img, std::size_t rank, std::int64_t now_ns) {
  std::vector<std::string> why;
  const std::string by = r.count_by == PolicyTime::Pushed ? "" : std::string(" by ") + to_string(r.count_by) + " time";
  const std::string place = " (" + ordinal(rank + 1) + ")";
  if (r.most_recent) {
    if (rank >= *r.most_recent) return {false, "not among the " + std::to_string(*r.most_recent) + " most recent" + by + place};
    why.push_back("among the " + std::to_string(*r.most_recent) + " most recent" + by + place);
  }
  if (r.count_more_than) {
    if (rank < *r.count_more_than) return {false, "among the " + std::to_string(*r.count_more_than) + " most recent" + by + place};
    why.push_back("beyond the " + std::to_string(*r.count_more_than) + " most recent" + by + place);
  }
  for (const AgeCondition& a : r.ages) {
    const std::int64_t t = time_of(img, a.time);
    const char* what = to_string(a.time);
    if (t == 0 && a.time != PolicyTime::Pulled) return {false, std::string(what) + " time unknown, so not " + a.key()};
    const bool older = t == 0 || now_ns - t > a.seconds * util::kNanosPerSecond;  // never pulled: longer ago than any
    if (older != a.older)
      return {false, std::string(what) + (older ? " more than " : " at most ") + a.text + " ago" + (t == 0 ? " (never seen pulled)" : "")};
    why.push_back(std::string(what) + (older ? " more than " : " at most ") + a.text + " ago");
  }
  if (why.empty()) return {true, "selected, no condition"};
  std::string text;
  for (const auto& w : why) text += (text.empty() ? "" : " and ") + w;
  return {true, text};
}

std::string rule_name(const PolicyRule& r) {
  return r.name == "rule " + std::to_string(r.priority) ? r.name : "rule " + std::to_string(r.priority) + " (" + r.name + ")";
}

}  // namespace

std::vector<ImageDecision> decide(const storage::Model& model, const Policy& policy, std::int64_t now_ns, const PolicyTimes& times) {
  if (!times.pulled_ns)
    for (const PolicyRule& r : policy.rules)
      if (r.needs(PolicyTime::Pulled))
        throw UsageError(rule_name(r) + " needs pull times, and no access log was given", policy.file + ":" + std::to_string(r.at.line),
                         "--access-log FILE gives the registry's logs");
  if (times.pulled_ns)
    for (const PolicyRule& r : policy.rules)
      for (const AgeCondition& a : r.ages) {
        if (a.time != PolicyTime::Pulled) continue;
        const std::int64_t needed_from = now_ns - a.seconds * 1'000'000'000LL;
        if (times.pulls_seen_since_ns && times.pulls_seen_since_ns <= needed_from) continue;
        throw UsageError(rule_name(r) + " asks about pulls " + a.text + " back, and the access logs " +
                             (times.pulls_seen_since_ns ? "start at " + util::rfc3339_utc(times.pulls_seen_since_ns)
                                                        : std::string("hold no time")) +
                             ": an image pulled before that would look never pulled",
                         policy.file + ":" + std::to_string(a.at.line), "give older (rotated) logs too, or a shorter duration");
      }
  std::vector<ImageDecision> out;
  for (const storage::Repository& repo : model.repositories) {
    std::map<Digest, std::vector<std::string>> tagged;
    for (const auto& t : repo.tags)
      if (t.current && !is_referrer_tag(t.name)) tagged[*t.current].push_back(t.name);
    std::set<Digest> named;
    for (const auto& t : repo.tags)
      if (t.current) named.insert(*t.current);
    std::set<Digest> children;
    for (const auto& rev : repo.revisions)
      if (const auto* m = model.find_manifest(rev.digest))
        for (const auto& c : m->parsed.children) children.insert(c.digest);
    const std::size_t first = out.size();
    for (auto& [digest, tags] : tagged) out.push_back({repo.name, digest, tags, false, std::nullopt, ""});
    if (!repo.tags_incomplete)
      for (const auto& rev : repo.revisions) {
        const auto* m = model.find_manifest(rev.digest);
        if (named.count(rev.digest) || children.count(rev.digest) || (m && m->parsed.subject)) continue;
        out.push_back({repo.name, rev.digest, {}, false, std::nullopt, ""});
      }
    std::vector<Image> images;
    for (std::size_t i = first; i < out.size(); ++i) {
      Image img{&out[i]};
      const ImageDecision& d = out[i];
      for (const auto& t : repo.tags)
        if (t.current == d.digest) img.pushed = std::max(img.pushed, t.pushed_ns);
      if (d.tags.empty())
        if (auto it = times.revision_pushed_ns.find({repo.name, d.digest}); it != times.revision_pushed_ns.end()) img.pushed = it->second;
      if (auto it = times.created_ns.find(d.digest); it != times.created_ns.end()) img.created = it->second;
      if (times.pulled_ns)
        if (auto it = times.pulled_ns->find({repo.name, d.digest}); it != times.pulled_ns->end()) img.pulled = it->second;
      images.push_back(img);
    }
    // The images a rule counts, newest first by its count_by time (then created, then digest).
    auto ranked = [&](const PolicyRule& r, const std::vector<bool>& left_out) {
      std::vector<std::size_t> sel;
      if (!r.covers_repository(repo.name)) return sel;
      for (std::size_t i = 0; i < images.size(); ++i)
        if (!left_out[i] && r.selects(images[i].out->tags)) sel.push_back(i);
      std::sort(sel.begin(), sel.end(), [&](std::size_t a, std::size_t b) {
        const Image& x = images[a];
        const Image& y = images[b];
        if (time_of(x, r.count_by) != time_of(y, r.count_by)) return time_of(x, r.count_by) > time_of(y, r.count_by);
        if (x.created != y.created) return x.created > y.created;
        return y.out->digest < x.out->digest;
      });
      return sel;
    };
    const std::vector<bool> none(images.size(), false);
    std::vector<std::optional<std::pair<const PolicyRule*, std::string>>> kept(images.size());
    for (const PolicyRule& r : policy.rules) {
      if (r.action != PolicyAction::Keep) continue;
      auto sel = ranked(r, none);
      for (std::size_t rank = 0; rank < sel.size(); ++rank) {
        auto [holds, why] = conditions(r, images[sel[rank]], rank, now_ns);
        if (holds && !kept[sel[rank]]) kept[sel[rank]] = std::make_pair(&r, why);
      }
    }
    std::vector<bool> decided(images.size(), false);
    for (const PolicyRule& r : policy.rules) {
      if (r.action != PolicyAction::Delete) continue;
      auto sel = ranked(r, decided);
      for (std::size_t rank = 0; rank < sel.size(); ++rank) {
        const std::size_t i = sel[rank];
        decided[i] = true;
        ImageDecision& d = *images[i].out;
        auto [holds, why] = conditions(r, images[i], rank, now_ns);
        if (holds && kept[i]) {
          d.rule = kept[i]->first->priority;
          d.reason = "kept by " + rule_name(*kept[i]->first) + ": " + kept[i]->second + "; a keep wins over " + rule_name(r);
        } else if (holds) {
          d.deleted = true;
          d.rule = r.priority;
          d.reason = "deleted by " + rule_name(r) + ": " + why;
        } else if (kept[i]) {
          d.rule = kept[i]->first->priority;
          d.reason = "kept by " + rule_name(*kept[i]->first) + ": " + kept[i]->second;
        } else {
          d.rule = r.priority;
          d.reason = "kept by " + rule_name(r) + ", which selects it: " + why;
        }
      }
    }
    for (std::size_t i = 0; i < images.size(); ++i) {
      ImageDecision& d = *images[i].out;
      if (decided[i]) continue;
      if (kept[i]) {
        d.rule = kept[i]->first->priority;
        d.reason = "kept by " + rule_name(*kept[i]->first) + ": " + kept[i]->second;
      } else {
        d.reason = "kept: no rule selects it";
      }
    }
  }
  return out;
}

}  // namespace regsweep::plan
