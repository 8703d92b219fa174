#include "regsweep/storage/access_log.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <ctime>
#include <nlohmann/json.hpp>

#include "regsweep/error.h"
#include "regsweep/util/format.h"

namespace regsweep::storage {

namespace {

struct Request {
  std::string_view method, uri;
  int status = 0;
};

// A GET of /v2/<name>/manifests/<reference> answered 200.
bool to_pull(const Request& r, LoggedPull& pull) {
  if (r.method != "GET" || r.status != 200) return false;
  std::string_view uri = r.uri.substr(0, r.uri.find('?'));
  constexpr std::string_view kV2 = "/v2/", kManifests = "/manifests/";
  if (!uri.starts_with(kV2)) return false;
  const std::size_t at = uri.rfind(kManifests);
  if (at == std::string_view::npos || at <= kV2.size() - 1) return false;
  std::string_view name = uri.substr(kV2.size(), at - kV2.size());
  std::string_view reference = uri.substr(at + kManifests.size());
  if (name.empty() || reference.empty() || reference.find('/') != std::string_view::npos) return false;
  pull.repository.assign(name);
  pull.reference.assign(reference);
  return true;
}

// logrus's text formatter: key=value pairs, values quoted when they hold spaces or quotes.
// Calls `field(key, value)` with quotes and escapes removed; false when the line is not that.
template <typename Field>
bool read_logfmt(std::string_view line, Field&& field) {
  std::size_t i = 0, pairs = 0;
  std::string value;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i == line.size()) break;
    const std::size_t eq = line.find('=', i);
    if (eq == std::string_view::npos || line.substr(i, eq - i).find(' ') != std::string_view::npos) return false;  // a word without '=': not logfmt
    std::string_view key = line.substr(i, eq - i);
    i = eq + 1;
    value.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      for (; i < line.size(); ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          value += line[++i];
        } else if (line[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          value += line[i];
        }
      }
      if (!closed) return false;
    } else {
      const std::size_t end = line.find(' ', i);
      value.assign(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
      i = end == std::string_view::npos ? line.size() : end;
    }
    field(key, std::string_view(value));
    ++pairs;
  }
  return pairs > 0;
}

int month_of(std::string_view m) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (m == kMonths[i]) return i;
  return -1;
}

// "03/Dec/2026:23:32:42 +0000", the Apache log's time.
std::optional<std::int64_t> parse_apache_time(std::string_view t) {
  if (t.size() != 26 || t[2] != '/' || t[6] != '/' || t[11] != ':' || t[20] != ' ') return std::nullopt;
  std::tm tm{};
  const int month = month_of(t.substr(3, 3));
  auto num = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t k = at; k < at + n; ++k) {
      if (t[k] < '0' || t[k] > '9') return -1;
      v = v * 10 + (t[k] - '0');
    }
    return v;
  };
  const int day = num(0, 2), year = num(7, 4), hour = num(12, 2), minute = num(15, 2), second = num(18, 2), off = num(22, 4);
  if (month < 0 || day < 1 || year < 1970 || hour < 0 || minute < 0 || second < 0 || off < 0 || (t[21] != '+' && t[21] != '-'))
    return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::int64_t s = ::timegm(&tm);
  const std::int64_t offset_s = (off / 100) * 3600 + (off % 100) * 60;
  s -= t[21] == '+' ? offset_s : -offset_s;
  return s * 1'000'000'000;
}

// host ident user [time] "METHOD URI PROTO" status size ...
bool read_apache(std::string_view line, Request& r, std::int64_t& time_ns) {
  const std::size_t open = line.find(" [");
  const std::size_t close = open == std::string_view::npos ? open : line.find("] \"", open);
  if (close == std::string_view::npos) return false;
  auto t = parse_apache_time(line.substr(open + 2, close - open - 2));
  if (!t) return false;
  std::string_view rest = line.substr(close + 3);
  const std::size_t quote = rest.find('"');
  if (quote == std::string_view::npos) return false;
  std::string_view request = rest.substr(0, quote);
  const std::size_t sp1 = request.find(' '), sp2 = request.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  r.method = request.substr(0, sp1);
  r.uri = request.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view after = rest.substr(quote + 1);
  if (after.size() < 4 || after[0] != ' ') return false;
  r.status = std::atoi(std::string(after.substr(1, 3)).c_str());
  time_ns = *t;
  return true;
}

// The registry's own line, in any of its formats: the request it completed, if any.
LogLine read_registry_line(std::string_view line, LoggedPull& pull, std::int64_t& time_ns);

LogLine read_registry_json(const nlohmann::json& doc, LoggedPull& pull, std::int64_t& time_ns) {
  if (auto t = doc.find("time"); t != doc.end() && t->is_string())
    if (auto v = util::parse_rfc3339(t->get<std::string>())) time_ns = *v;
  auto method = doc.find("http.request.method");
  auto uri = doc.find("http.request.uri");
  auto status = doc.find("http.response.status");
  if (method == doc.end() || uri == doc.end() || status == doc.end() || !method->is_string() || !uri->is_string()) return LogLine::Other;
  Request r;
  const std::string m = method->get<std::string>(), u = uri->get<std::string>();
  r.method = m;
  r.uri = u;
  r.status = status->is_number() ? status->get<int>() : status->is_string() ? std::atoi(status->get<std::string>().c_str()) : 0;
  if (!to_pull(r, pull)) return LogLine::Other;
  pull.time_ns = time_ns;
  return LogLine::Pull;
}

// The line a wrapper (journalctl, a container runtime) carries, with the wrapper's time.
LogLine read_wrapped(std::string_view inner, std::int64_t outer_ns, LoggedPull& pull, std::int64_t& time_ns) {
  while (!inner.empty() && (inner.back() == '\n' || inner.back() == '\r')) inner.remove_suffix(1);
  std::int64_t inner_ns = 0;
  LogLine kind = read_registry_line(inner, pull, inner_ns);
  time_ns = inner_ns ? inner_ns : outer_ns;
  if (kind == LogLine::Pull && !pull.time_ns) pull.time_ns = time_ns;
  // A wrapper that is well-formed holds a line of some program: not ours to call garbage.
  return kind == LogLine::Unreadable ? LogLine::Other : kind;
}

LogLine read_registry_line(std::string_view line, LoggedPull& pull, std::int64_t& time_ns) {
  if (line.starts_with('{')) {
    nlohmann::json doc = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) return LogLine::Unreadable;
    if (auto log = doc.find("log"); log != doc.end() && log->is_string()) {  // Docker's json-file
      std::int64_t outer = 0;
      if (auto t = doc.find("time"); t != doc.end() && t->is_string()) outer = util::parse_rfc3339(t->get<std::string>()).value_or(0);
      return read_wrapped(log->get<std::string>(), outer, pull, time_ns);
    }
    if (auto message = doc.find("MESSAGE"); message != doc.end()) {  // journalctl -o json
      std::int64_t outer = 0;
      if (auto t = doc.find("__REALTIME_TIMESTAMP"); t != doc.end() && t->is_string())
        outer = std::strtoll(t->get<std::string>().c_str(), nullptr, 10) * 1000;  // microseconds
      std::string text;
      if (message->is_string()) {
        text = message->get<std::string>();
      } else if (message->is_array()) {  // journald gives a message with control bytes as a byte array
        for (const auto& b : *message)
          if (b.is_number_unsigned()) text += static_cast<char>(b.get<unsigned>());
      }
      return read_wrapped(text, outer, pull, time_ns);
    }
    return read_registry_json(doc, pull, time_ns);
  }
  // CRI (kubelet's files): "<RFC 3339> stdout|stderr F|P <line>".
  if (const std::size_t sp = line.find(' '); sp != std::string_view::npos && sp >= 20 && line[4] == '-' && line[10] == 'T') {
    std::string_view rest = line.substr(sp + 1);
    if ((rest.starts_with("stdout ") || rest.starts_with("stderr ")) && rest.size() >= 9 && rest[8] == ' ')
      if (auto outer = util::parse_rfc3339(line.substr(0, sp))) return read_wrapped(rest.substr(9), *outer, pull, time_ns);
  }
  // journalctl's short output: "Dec 03 23:32:42 host unit[pid]: <line>" (no year: the
  // registry's own time is used).
  if (line.size() > 16 && month_of(line.substr(0, 3)) >= 0 && line[3] == ' ' && line[6] == ' ' && line[9] == ':' && line[12] == ':') {
    const std::size_t host_end = line.find(' ', 16);
    const std::size_t colon = host_end == std::string_view::npos ? host_end : line.find(": ", host_end);
    if (colon != std::string_view::npos) return read_wrapped(line.substr(colon + 2), 0, pull, time_ns);
  }
  Request r;
  if (read_apache(line, r, time_ns)) {
    if (!to_pull(r, pull)) return LogLine::Other;
    pull.time_ns = time_ns;
    return LogLine::Pull;
  }
  std::string method, uri, status, time;
  bool has_level = false;
  const bool logfmt = read_logfmt(line, [&](std::string_view key, std::string_view value) {
    if (key == "time") time = value;
    else if (key == "level") has_level = true;
    else if (key == "http.request.method") method = value;
    else if (key == "http.request.uri") uri = value;
    else if (key == "http.response.status") status = value;
  });
  if (!logfmt || (time.empty() && !has_level)) return LogLine::Unreadable;
  if (auto t = util::parse_rfc3339(time)) time_ns = *t;
  r.method = method;
  r.uri = uri;
  r.status = std::atoi(status.c_str());
  if (!to_pull(r, pull)) return LogLine::Other;
  pull.time_ns = time_ns;
  return LogLine::Pull;
}

}  // namespace

LogLine parse_log_line(std::string_view line, LoggedPull& pull, std::int64_t& time_ns) {
  time_ns = 0;
  pull.time_ns = 0;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.empty()) return LogLine::Other;
  return read_registry_line(line, pull, time_ns);
}

void AccessLog::add_line(std::string_view line, const std::string& where) {
  ++lines;
  LoggedPull pull;
  std::int64_t t = 0;
  const LogLine kind = parse_log_line(line, pull, t);
  if (kind == LogLine::Unreadable) {
    if (!unreadable++) first_unreadable = where;
    return;
  }
  if (t) {
    if (!first_ns || t < first_ns) first_ns = t;
    if (t > last_ns) last_ns = t;
  }
  if (kind != LogLine::Pull || !pull.time_ns) return;
  ++pulls;
  std::int64_t& last = last_pull[{std::move(pull.repository), std::move(pull.reference)}];
  if (pull.time_ns > last) last = pull.time_ns;
}

void AccessLog::read_file(const std::string& path) {
  gzFile f = ::gzopen(path.c_str(), "rb");  // a plain file is read as it is
  if (!f) throw Error(std::string("cannot open the access log: ") + std::strerror(errno ? errno : ENOENT), path);
  std::string line;
  char buffer[1 << 16];
  std::uint64_t number = 0;
  for (;;) {
    char* got = ::gzgets(f, buffer, sizeof buffer);
    if (!got) break;
    line += got;
    if (line.back() != '\n' && !::gzeof(f) && line.size() < (1u << 20)) continue;  // a long line: read on
    add_line(line, path + ":" + std::to_string(++number));
    line.clear();
  }
  int code = 0;
  const char* message = ::gzerror(f, &code);
  const std::string why = code != Z_OK && code != Z_STREAM_END ? std::string(message ? message : "") : std::string();
  ::gzclose(f);
  if (!line.empty()) add_line(line, path + ":" + std::to_string(++number));
  if (!why.empty()) throw Error("cannot read the access log (" + why + ")", path, "a gzip file cut short, or still being written?");
}

std::map<std::pair<std::string, Digest>, std::int64_t> last_pulls(const Model& model, const AccessLog& log) {
  std::map<std::pair<std::string, Digest>, std::int64_t> out;
  auto credit = [&](const std::string& repository, const Digest& manifest, std::int64_t t) {
    std::vector<Digest> stack{manifest};
    std::set<Digest> seen;  // an index that contains itself
    while (!stack.empty()) {
      const Digest d = stack.back();
      stack.pop_back();
      if (!seen.insert(d).second) continue;
      std::int64_t& last = out[{repository, d}];
      if (t > last) last = t;
      if (const ManifestRecord* m = model.find_manifest(d))
        for (const auto& c : m->parsed.children) stack.push_back(c.digest);
    }
  };
  for (const auto& [key, t] : log.last_pull) {
    const auto& [repository, reference] = key;
    const Repository* repo = model.find_repository(repository);
    if (!repo) continue;
    if (reference.starts_with("sha256:")) {
      if (auto d = Digest::parse(reference)) credit(repository, *d, t);
    } else if (const TagLink* tag = repo->find_tag(reference); tag && tag->current) {
      credit(repository, *tag->current, t);
    }
  }
  return out;
}

}  // namespace regsweep::storage
