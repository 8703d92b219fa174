#include "regsweep/online/challenge.h"

#include "regsweep/util/format.h"

namespace regsweep::online {

namespace {

bool is_token_char(char c) {
  // RFC 7230 tchar
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A cursor over the header value.
struct ChallengeReader {
  std::string_view text;
  std::size_t pos = 0;

  void skip_space() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  }
  void skip_separators() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == ',')) ++pos;
  }
  bool at_end() const { return pos >= text.size(); }
  std::string_view token() {
    std::size_t start = pos;
    while (pos < text.size() && is_token_char(text[pos])) ++pos;
    return text.substr(start, pos - start);
  }
  // A token or a quoted string (its escapes undone).
  std::string value() {
    if (pos < text.size() && text[pos] == '"') {
      std::string out;
      for (++pos; pos < text.size() && text[pos] != '"'; ++pos) {
        if (text[pos] == '\\' && pos + 1 < text.size()) ++pos;
        out += text[pos];
      }
      if (pos < text.size()) ++pos;  // the closing quote
      return out;
    }
    std::size_t start = pos;
    while (pos < text.size() && text[pos] != ',' && text[pos] != ' ' && text[pos] != '\t') ++pos;
    return std::string(text.substr(start, pos - start));
  }
};

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view value) {
  std::vector<Challenge> out;
  ChallengeReader r{value};
  r.skip_separators();
  while (!r.at_end()) {
    std::string_view word = r.token();
    if (word.empty()) break;  // not a challenge: stop rather than guess
    r.skip_space();
    if (!r.at_end() && r.text[r.pos] == '=' && !out.empty()) {
      // name=value: a parameter of the challenge before it
      ++r.pos;
      r.skip_space();
      std::string v = r.value();
      std::string name = util::ascii_lower(word);
      Challenge& c = out.back();
      if (name == "realm") c.realm = std::move(v);
      else if (name == "service") c.service = std::move(v);
      else if (name == "scope") c.scope = std::move(v);
      else if (name == "error") c.error = std::move(v);
    } else {
      out.push_back(Challenge{util::ascii_lower(word), {}, {}, {}, {}});
    }
    r.skip_separators();
  }
  return out;
}

const Challenge* find_challenge(const std::vector<Challenge>& challenges, std::string_view scheme) {
  for (const Challenge& c : challenges)
    if (c.scheme == scheme) return &c;
  return nullptr;
}

}  // namespace regsweep::online
