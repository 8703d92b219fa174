// `regsweep policy check FILE`: a policy file (docs/policies.md) parsed and checked, without
// any storage: nothing is opened but the file.
#include <fstream>
#include <sstream>

#include "cli.h"
#include "regsweep/error.h"
#include "regsweep/plan/policy.h"

namespace regsweep::cli {

namespace {

using nlohmann::json;

std::string read_policy_text(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw UsageError("cannot read the policy file", file, "give the path of a YAML policy file (docs/policies.md)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw UsageError("cannot read the policy file", file);
  return text.str();
}

json policy_json(const plan::Policy& p) {
  json rules = json::array();
  for (const auto& r : p.rules) {
    json tags_in = json::array(), tags_out = json::array(), ages = json::array();
    for (const auto& t : r.include) tags_in.push_back({{t.regex ? "regex" : "glob", t.text}});
    for (const auto& t : r.exclude) tags_out.push_back({{t.regex ? "regex" : "glob", t.text}});
    for (const auto& a : r.ages) ages.push_back({{"condition", a.key()}, {"duration", a.text}, {"seconds", a.seconds}});
    json j = {{"priority", r.priority}, {"name", r.name}, {"action", plan::to_string(r.action)},
              {"select", plan::to_string(r.select)}, {"repositories", r.repositories},
              {"exclude_repositories", r.exclude_repositories}, {"include_tags", tags_in}, {"exclude_tags", tags_out},
              {"match_all", r.match_all}, {"ages", ages}, {"line", r.at.line}, {"summary", r.summary()}};
    j["most_recent"] = r.most_recent ? json(*r.most_recent) : json(nullptr);
    j["count_more_than"] = r.count_more_than ? json(*r.count_more_than) : json(nullptr);
    j["count_by"] = plan::to_string(r.count_by);
    j["needs_pull_times"] = r.needs(plan::PolicyTime::Pulled);
    rules.push_back(std::move(j));
  }
  return {{"file", p.file}, {"valid", true}, {"delete_referrers", p.delete_referrers}, {"rules", rules},
          {"needs_access_log", p.needs(plan::PolicyTime::Pulled)}};
}

int run_policy_check(Context& ctx, const std::string& file) {
  const plan::Policy p = plan::parse_policy(read_policy_text(file), file);
  if (ctx.options.json) {
    *ctx.out << policy_json(p).dump(2) << "\n";
    return kExitOk;
  }
  if (ctx.options.quiet) return kExitOk;
  *ctx.out << file << ": valid, " << p.rules.size() << " rule" << (p.rules.size() == 1 ? "" : "s") << " in priority order"
           << (p.delete_referrers ? "" : "; referrers of deleted images are kept") << "\n";
  for (const auto& r : p.rules) {
    *ctx.out << "  " << r.priority << "  " << r.name << " (line " << r.at.line << "): " << r.summary() << "\n";
  }
  if (p.needs(plan::PolicyTime::Pulled))
    *ctx.out << "note: rules on pull times need --access-log (the registry's logs) to run\n";
  return kExitOk;
}

}  // namespace

Command add_policy_command(CLI::App& parent, Context& context) {
  CLI::App* app = parent.add_subcommand("policy", "retention policy files (docs/policies.md)");
  app->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  CLI::App* check = app->add_subcommand("check", "validate a policy file without any storage and list its rules in priority order");
  check->add_option("file", *file, "the YAML policy file")->required();
  return Command{app, [&context, check, file]() -> int {
                   if (check->parsed()) return run_policy_check(context, *file);
                   return kExitUsage;
                 }};
}

}  // namespace regsweep::cli
