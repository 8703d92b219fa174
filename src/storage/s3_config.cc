#include "regsweep/storage/s3_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <vector>

#include "regsweep/error.h"
#include "regsweep/util/format.h"
#include "s3_config_internal.h"

// Versions, from distribution/distribution's registry/storage/driver/s3-aws/s3.go:
//   - 2.8.2: the keys accesskey secretkey region regionendpoint bucket encrypt keyid secure
//     skipverify v4auth chunksize multipartcopychunksize multipartcopymaxconcurrency
//     multipartcopythresholdsize rootdirectory storageclass useragent objectacl. A
//     regionendpoint always means path-style requests. Region always required.
//   - 3.0: adds forcepathstyle (path style only when true, endpoint or not), usedualstack,
//     accelerate, loglevel; region optional with a regionendpoint; more storage classes.
//   - 3.1: adds usefipsendpoint. After 3.1 (main): redirectendpoint, EXPRESS_ONEZONE.
//   - sessiontoken: no version reads it. DriverParameters has a SessionToken field from 2.7
//     on, but FromParameters always sets it to "" (in 2.8.2, 3.0, 3.1 and main alike); the
//     only session token the registry uses is AWS_SESSION_TOKEN with the environment's keys
//     (or aws_session_token from the shared credentials file). So regsweep ignores the key
//     and its REGISTRY_STORAGE_S3_SESSIONTOKEN override too.
// The environment: the registry's configuration parser turns REGISTRY_STORAGE_S3_BUCKET into
// storage.s3.bucket (any driver, any key), reading the value as YAML; REGISTRY_STORAGE_S3
// replaces the whole section and REGISTRY_STORAGE the whole storage (they sort first).

namespace regsweep::storage {

std::optional<std::string> process_environment(const char* name, const void*) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

namespace {

constexpr std::uint64_t kMaxInt64 = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::string strip_slashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

// "5242880 (5 MiB)"
std::string bytes_text(std::uint64_t n) {
  std::string out = std::to_string(n);
  if (n >= (1ull << 30) && n % (1ull << 30) == 0) return out + " (" + std::to_string(n >> 30) + " GiB)";
  if (n >= (1ull << 20) && n % (1ull << 20) == 0) return out + " (" + std::to_string(n >> 20) + " MiB)";
  return out;
}

// ---- values as the registry's YAML library (gopkg.in/yaml.v2) hands them to the driver ----

struct Value {
  enum Kind { kNil, kBool, kInt, kFloat, kString, kCollection } kind = kNil;
  std::string text;  // kString: the string; kInt and kFloat: the scalar as written
  bool boolean = false;
  bool negative = false;        // kInt
  std::uint64_t magnitude = 0;  // kInt: |value|
  std::string name;             // what messages call it: "storage.s3.chunksize", "REGISTRY_STORAGE_S3_CHUNKSIZE"
};

// strconv.ParseInt(s, 0, 64), then strconv.ParseUint(s, 0, 64): sign, then 0x 0o 0b or a
// leading 0 (octal) or decimal. nullopt when neither takes it.
std::optional<std::pair<bool, std::uint64_t>> go_parse_integer(std::string_view s) {
  bool negative = false, sign = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    sign = true;
    s.remove_prefix(1);
  }
  unsigned base = 10;
  if (s.size() >= 2 && s[0] == '0') {
    char prefix = static_cast<char>(std::tolower(static_cast<unsigned char>(s[1])));
    if (prefix == 'x') base = 16, s.remove_prefix(2);
    else if (prefix == 'o') base = 8, s.remove_prefix(2);
    else if (prefix == 'b') base = 2, s.remove_prefix(2);
    else base = 8, s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char ch : s) {
    unsigned d = std::isdigit(static_cast<unsigned char>(ch)) ? static_cast<unsigned>(ch - '0')
                 : std::isxdigit(static_cast<unsigned char>(ch)) ? static_cast<unsigned>(std::tolower(ch) - 'a' + 10)
                                                                 : 99u;
    if (d >= base) return std::nullopt;
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / base) return std::nullopt;
    v = v * base + d;
  }
  if (negative ? v > kMaxInt64 + 1 : (sign && v > kMaxInt64)) return std::nullopt;  // ParseUint takes no sign
  return std::pair{negative, v};
}

// A plain (unquoted) scalar, resolved as yaml.v2 resolves it: YAML 1.1 booleans, integers
// in Go's syntax (underscores dropped), floats; anything else stays a string (a timestamp
// too: yaml.v2 hands those to an interface{} as strings).
Value resolve_plain(const std::string& in, Value v) {
  static const std::array<const char*, 11> kTrue = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static const std::array<const char*, 11> kFalse = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  static const std::regex kYamlFloat(R"(^[-+]?[0-9]*\.?[0-9]+([eE][-+][0-9]+)?$)");
  static const std::regex kDotFloat(R"(^\.[0-9]+([eE][-+]?[0-9]+)?$)");
  static const std::regex kTimestamp(R"(^[0-9]{4}-.*)");
  v.text = in;
  if (in.empty() || in == "~" || in == "null" || in == "Null" || in == "NULL") {
    v.kind = Value::kNil;
    return v;
  }
  for (const char* t : kTrue)
    if (in == t) return v.kind = Value::kBool, v.boolean = true, v;
  for (const char* f : kFalse)
    if (in == f) return v.kind = Value::kBool, v.boolean = false, v;
  for (const char* inf : {".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"})
    if (in == inf) return v.kind = Value::kFloat, v;
  const char hint = in[0];
  if (hint == '.') {
    v.kind = std::regex_match(in, kDotFloat) ? Value::kFloat : Value::kString;
    return v;
  }
  if (std::isdigit(static_cast<unsigned char>(hint)) || hint == '+' || hint == '-') {
    if (std::regex_match(in, kTimestamp)) return v.kind = Value::kString, v;
    std::string plain;
    for (char ch : in)
      if (ch != '_') plain += ch;
    if (auto n = go_parse_integer(plain)) {
      v.kind = Value::kInt;
      v.negative = n->first;
      v.magnitude = n->second;
      return v;
    }
    if (std::regex_match(plain, kYamlFloat)) return v.kind = Value::kFloat, v;
  }
  v.kind = Value::kString;
  return v;
}

Value value_of(const YAML::Node& n, std::string name) {
  Value v;
  v.name = std::move(name);
  if (!n || !n.IsDefined() || n.IsNull()) return v;
  if (!n.IsScalar()) {
    v.kind = Value::kCollection;
    return v;
  }
  const std::string& tag = n.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") {  // quoted, a block scalar, or !!str: a string
    v.kind = Value::kString;
    v.text = n.Scalar();
    return v;
  }
  if (tag == "?" || tag.rfind("tag:yaml.org,2002:", 0) == 0) return resolve_plain(n.Scalar(), std::move(v));
  v.kind = Value::kString;  // a tag of its own: yaml.v2 leaves the text as it is
  v.text = n.Scalar();
  return v;
}

std::string int_text(const Value& v) { return (v.negative ? "-" : "") + std::to_string(v.magnitude); }

// fmt.Sprint of the value, as the driver turns bucket, region, keys... into strings. A float
// (1.5, 1e+07) is refused: the registry prints it its own way, which regsweep does not copy.
std::string as_string(const Value& v, const std::string& path, bool secret = false) {
  switch (v.kind) {
    case Value::kNil: return "";
    case Value::kBool: return v.boolean ? "true" : "false";
    case Value::kInt: return int_text(v);
    case Value::kString: return v.text;
    case Value::kFloat:
      throw Error(v.name + " is a number with a fraction or an exponent" + (secret ? "" : " (" + v.text + ")") +
                      " in YAML, not text; quote it",
                  path);
    case Value::kCollection: break;
  }
  throw Error(v.name + " is not a single value", path);
}

// strconv.ParseBool's words for a string; a YAML boolean as it is; nothing else.
bool as_bool(const Value& v, bool fallback, const std::string& path) {
  if (v.kind == Value::kNil) return fallback;
  if (v.kind == Value::kBool) return v.boolean;
  if (v.kind == Value::kString) {
    for (const char* t : {"1", "t", "T", "TRUE", "true", "True"})
      if (v.text == t) return true;
    for (const char* f : {"0", "f", "F", "FALSE", "false", "False"})
      if (v.text == f) return false;
  }
  std::string shown = v.kind == Value::kString ? " (\"" + v.text + "\")" : v.kind == Value::kInt || v.kind == Value::kFloat ? " (" + v.text + ")" : "";
  throw Error(v.name + " is not a boolean" + shown + "; the registry refuses to start with it: write true or false", path);
}

// A whole number in [min, max]: a YAML integer, or a string of decimal digits (2.8 reads a
// string with strconv.ParseInt(s, 0, 64), 3.x with Sscanf("%d"): both agree on those only).
std::uint64_t as_number(const Value& v, std::uint64_t fallback, std::uint64_t min, std::uint64_t max, const std::string& path) {
  if (v.kind == Value::kNil) return fallback;
  std::optional<std::uint64_t> n;
  std::string shown;
  if (v.kind == Value::kInt) {
    shown = int_text(v);
    if (!v.negative) n = v.magnitude;
  } else if (v.kind == Value::kString) {
    std::string_view s = v.text;
    if (!s.empty() && s[0] == '+') s.remove_prefix(1);
    const bool decimal = !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos && (s[0] != '0' || s.size() == 1);
    if (!decimal) throw Error(v.name + " is not a whole number: \"" + v.text + "\"", path);
    shown = std::string(s);
    if (auto parsed = go_parse_integer(s); parsed) n = parsed->second;
    else n = std::numeric_limits<std::uint64_t>::max();  // out of range either way
  } else {
    throw Error(v.name + " is not a whole number" + (v.kind == Value::kFloat || v.kind == Value::kBool ? " (" + v.text + ")" : ""), path);
  }
  if (!n || *n < min || *n > max)
    throw Error(v.name + " is " + shown + "; the registry refuses to start unless it is " + bytes_text(min) + " to " + bytes_text(max), path);
  return *n;
}

// ---- what the driver accepts ----

// The regions the AWS SDK for Go v1 knows (v1.55.5, vendored by registry 3.x; 2.8.2 builds
// know a subset): without a regionendpoint the driver refuses any other.
bool known_region(const std::string& region) {
  static const std::array<const char*, 37> kRegions = {
      "af-south-1",     "ap-east-1",      "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
      "ap-south-2",     "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ca-central-1",
      "ca-west-1",      "eu-central-1",   "eu-central-2",   "eu-north-1",     "eu-south-1",     "eu-south-2",
      "eu-west-1",      "eu-west-2",      "eu-west-3",      "il-central-1",   "me-central-1",   "me-south-1",
      "sa-east-1",      "us-east-1",      "us-east-2",      "us-west-1",      "us-west-2",      "cn-north-1",
      "cn-northwest-1", "us-gov-east-1",  "us-gov-west-1",  "us-iso-east-1",  "us-iso-west-1",  "us-isob-east-1",
      "eu-isoe-west-1",
  };
  return std::find(kRegions.begin(), kRegions.end(), region) != kRegions.end();
}

// The domain of a region's partition.
std::string aws_domain(const std::string& region) {
  if (region.rfind("cn-", 0) == 0) return "amazonaws.com.cn";
  if (region.rfind("us-isob-", 0) == 0) return "sc2s.sgov.gov";
  if (region.rfind("us-isof-", 0) == 0) return "csp.hci.ic.gov";
  if (region.rfind("us-iso-", 0) == 0) return "c2s.ic.gov";
  if (region.rfind("eu-isoe-", 0) == 0) return "cloud.adc-e.uk";
  return "amazonaws.com";
}

// 3.x's list (main adds EXPRESS_ONEZONE); 2.8.2 takes the first three only.
constexpr std::array<const char*, 9> kStorageClasses = {"NONE",       "STANDARD",            "REDUCED_REDUNDANCY",
                                                        "STANDARD_IA", "ONEZONE_IA",          "INTELLIGENT_TIERING",
                                                        "OUTPOSTS",   "GLACIER_IR",          "EXPRESS_ONEZONE"};
constexpr std::array<const char*, 7> kObjectAcls = {"private",       "public-read",       "public-read-write", "authenticated-read",
                                                    "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control"};

template <std::size_t N>
std::string joined(const std::array<const char*, N>& items) {
  std::string out;
  for (const char* s : items) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

// The AWS SDK's test for a bucket that can be a host name (virtual-hosted requests), which
// is S3's naming rule for buckets too.
bool dns_compatible_bucket(const std::string& bucket) {
  static const std::regex kDomain(R"(^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$)");
  static const std::regex kIPv4(R"(^([0-9]+\.){3}[0-9]+$)");
  return std::regex_match(bucket, kDomain) && !std::regex_match(bucket, kIPv4) && bucket.find("..") == std::string::npos;
}

struct Endpoint {
  std::string scheme;  // "" when written without one
  std::string host;    // host[:port]
};

// The AWS SDK takes the text before the first ':' as a scheme when "://" follows it.
// regsweep sends requests to scheme://host[:port] and nothing else, so it refuses what it
// would have to drop: another scheme, user information, a path, a query.
Endpoint parse_endpoint(const std::string& text, const std::string& name, const std::string& path) {
  Endpoint e;
  std::string_view rest = text;
  if (auto colon = rest.find(':'); colon != std::string_view::npos && colon > 0 && rest.substr(colon, 3) == "://") {
    e.scheme = util::ascii_lower(std::string(rest.substr(0, colon)));
    rest.remove_prefix(colon + 3);
    if (e.scheme != "http" && e.scheme != "https")
      throw Error(name + " has the scheme \"" + e.scheme + "\"; regsweep speaks http and https only", path);
  }
  const auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos)  // never shown: it may hold a password
    throw Error(name + " holds user information (before an '@'), which regsweep does not send; give keys as accesskey and secretkey", path);
  if (authority.empty()) throw Error(name + " has no host: \"" + text + "\"", path);
  if (!tail.empty() && tail != "/")
    throw Error(name + " has a path or a query (\"" + std::string(tail) + "\"); regsweep sends requests to an endpoint's root only", path);
  e.host = std::string(authority);
  return e;
}

// The keys of the section regsweep reads (whose REGISTRY_STORAGE_<DRIVER>_<KEY> overrides
// may make the section on their own).
constexpr std::array<const char*, 22> kKeys = {
    "accesskey",  "secretkey",     "region",        "regionendpoint", "forcepathstyle",
    "bucket",     "encrypt",       "keyid",         "secure",         "skipverify",
    "v4auth",     "chunksize",     "multipartcopychunksize",          "multipartcopymaxconcurrency",
    "multipartcopythresholdsize",  "rootdirectory", "storageclass",   "useragent",
    "objectacl",  "usedualstack",  "accelerate",    "usefipsendpoint",
};

// ---- the shared credentials file ----

// The keys of [profile] in an INI text: `key = value` lines, '#' and ';' comment lines; a
// section named twice adds up, a key named twice keeps the last.
std::optional<std::map<std::string, std::string>> ini_section(const std::string& text, const std::string& profile) {
  std::optional<std::map<std::string, std::string>> found;
  bool inside = false;
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    std::string line(util::trim_space(raw));
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      const auto close = line.find(']');
      inside = close != std::string::npos && util::trim_space(std::string_view(line).substr(1, close - 1)) == profile;
      if (inside && !found) found.emplace();
      continue;
    }
    if (!inside) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    (*found)[std::string(util::trim_space(std::string_view(line).substr(0, eq)))] = std::string(util::trim_space(std::string_view(line).substr(eq + 1)));
  }
  return found;
}

}  // namespace

// ---- S3Config ----

std::string S3Config::endpoint_url() const {
  std::string scheme = secure ? "https" : "http";
  std::string host;
  if (!regionendpoint.empty()) {
    Endpoint e = parse_endpoint(regionendpoint, section.empty() ? "the endpoint" : section + ".regionendpoint", source);
    if (!e.scheme.empty()) scheme = e.scheme;
    host = e.host;
  } else {
    host = std::string(usefipsendpoint ? "s3-fips" : "s3") + (usedualstack ? ".dualstack." : ".") + region + "." + aws_domain(region);
  }
  const bool virtual_host = !path_style && dns_compatible_bucket(bucket) && !(scheme == "https" && bucket.find('.') != std::string::npos);
  return scheme + "://" + (virtual_host ? bucket + "." : "") + host;
}

std::string S3Config::url() const { return "s3://" + bucket + (rootdirectory.empty() ? "" : "/" + rootdirectory); }

std::string S3Config::object_key(std::string_view path) const {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return rootdirectory.empty() ? std::string(path) : rootdirectory + "/" + std::string(path);
}

bool is_s3_url(std::string_view text) { return text.rfind("s3://", 0) == 0; }

S3Config s3_config_from_url(const std::string& url, const std::string& endpoint, const std::string& region) {
  if (!is_s3_url(url)) throw UsageError("not an s3:// URL (s3://bucket/prefix)", url);
  std::string_view rest = std::string_view(url).substr(5);
  if (rest.find_first_of("?#") != std::string_view::npos)
    throw UsageError("an s3:// URL has no query or fragment: s3://bucket/prefix, taken as it is written", url);
  const auto slash = rest.find('/');
  S3Config c;
  c.source = url;
  c.bucket = std::string(rest.substr(0, slash));
  if (c.bucket.empty()) throw UsageError("the s3:// URL names no bucket (s3://bucket/prefix)", url);
  if (!dns_compatible_bucket(c.bucket))
    throw UsageError("\"" + c.bucket +
                         "\" is not an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, starting and "
                         "ending with a letter or digit, no \"..\", not an IP address",
                     url);
  if (slash != std::string_view::npos) c.rootdirectory = strip_slashes(rest.substr(slash));
  c.region = region;
  if (!endpoint.empty()) {
    Endpoint e;
    try {
      e = parse_endpoint(endpoint, "the endpoint", url);
    } catch (const Error& bad) {
      throw UsageError(bad.what(), url);
    }
    c.regionendpoint = endpoint;
    c.secure = e.scheme != "http";
    c.path_style = true;  // S3 servers but AWS answer path-style requests; not all answer the other kind
    if (c.region.empty()) c.region = "us-east-1";
  } else if (c.region.empty()) {
    throw UsageError("a bucket on AWS needs its region (AWS refuses requests signed for another one)", url);
  }
  static const std::regex kRegion(R"(^[a-z0-9][a-z0-9-]*$)");
  if (!std::regex_match(c.region, kRegion)) throw UsageError("\"" + c.region + "\" is not a region name (lowercase letters, digits, hyphens)", url);
  return c;
}

void resolve_s3_credentials(S3Config& c, EnvLookup lookup, const void* env_context) {
  if (!lookup) lookup = process_environment;
  auto env = [&](const char* name) -> std::string { return lookup(name, env_context).value_or(""); };
  const std::string where = c.section.empty() ? c.url() : c.section + " in " + c.source;
  std::vector<std::string> looked;

  // 1. the config's own pair
  if (!c.accesskey.empty() && !c.secretkey.empty()) {
    c.sessiontoken.clear();  // the registry signs the config's keys without any token
    if (c.credentials_from.empty()) c.credentials_from = where;
    return;
  }
  if (!c.accesskey.empty() || !c.secretkey.empty())
    throw Error(where + " sets " + (c.accesskey.empty() ? "secretkey but not accesskey" : "accesskey but not secretkey") +
                    ": the registry passes over half a pair for other credentials; regsweep will not guess which",
                c.source, "set both, or neither");
  if (!c.section.empty()) looked.push_back(where + " (no accesskey and secretkey)");

  // 2. the environment
  const char* id_name = env("AWS_ACCESS_KEY_ID").empty() && !env("AWS_ACCESS_KEY").empty() ? "AWS_ACCESS_KEY" : "AWS_ACCESS_KEY_ID";
  const char* secret_name =
      env("AWS_SECRET_ACCESS_KEY").empty() && !env("AWS_SECRET_KEY").empty() ? "AWS_SECRET_KEY" : "AWS_SECRET_ACCESS_KEY";
  const std::string id = env(id_name), secret = env(secret_name);
  if (!id.empty() && !secret.empty()) {
    c.accesskey = id;
    c.secretkey = secret;
    c.sessiontoken = env("AWS_SESSION_TOKEN");
    c.credentials_from = std::string("the environment (") + id_name + ")";
    return;
  }
  if (id.empty() && secret.empty()) looked.push_back("the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set)");
  else looked.push_back(std::string("the environment (") + (id.empty() ? secret_name : id_name) + " is set, but not " +
                        (id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") + ")");

  // 3. the shared credentials file
  std::string file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty() && !env("HOME").empty()) file = env("HOME") + "/.aws/credentials";
  const std::string profile = env("AWS_PROFILE").empty() ? "default" : env("AWS_PROFILE");
  if (file.empty()) {
    looked.push_back("no shared credentials file (neither AWS_SHARED_CREDENTIALS_FILE nor HOME is set)");
  } else {
    const std::string shown = "the shared credentials file " + file;
    std::error_code ec;
    std::string text;
    bool readable = false;
    if (std::filesystem::is_directory(file, ec)) {
      looked.push_back(shown + " (a folder)");
    } else if (std::ifstream in(file, std::ios::binary); !in) {
      looked.push_back(shown + " (" + std::strerror(errno) + ")");
    } else {
      std::ostringstream buf;
      buf << in.rdbuf();
      text = buf.str();
      readable = true;
    }
    if (readable) {
      auto keys = ini_section(text, profile);
      if (!keys) {
        looked.push_back(shown + " (no profile \"" + profile + "\")");
      } else {
        const std::string key_id = keys->count("aws_access_key_id") ? (*keys)["aws_access_key_id"] : "";
        const std::string key_secret = keys->count("aws_secret_access_key") ? (*keys)["aws_secret_access_key"] : "";
        if (!key_id.empty() && !key_secret.empty()) {
          c.accesskey = key_id;
          c.secretkey = key_secret;
          c.sessiontoken = keys->count("aws_session_token") ? (*keys)["aws_session_token"] : "";
          c.credentials_from = shown + ", profile " + profile;
          return;
        }
        std::string why = "profile \"" + profile + "\" has " +
                          (key_id.empty() && key_secret.empty() ? "neither aws_access_key_id nor aws_secret_access_key"
                           : key_id.empty()                     ? "no aws_access_key_id"
                                                                : "no aws_secret_access_key");
        for (const char* other : {"role_arn", "source_profile", "credential_process", "credential_source", "sso_session", "sso_start_url"})
          if (keys->count(other)) why += std::string("; it uses ") + other + ", which regsweep does not support";
        looked.push_back(shown + " (" + why + ")");
      }
    }
  }

  // Nothing: say where it looked, and what the registry may use that regsweep does not.
  std::string what = "no S3 credentials for " + where + ". Looked at: ";
  for (std::size_t i = 0; i < looked.size(); ++i) what += (i ? "; " : "") + looked[i];
  what += ". regsweep does not fetch credentials from the EC2 instance metadata service (IMDS), from a web identity "
          "token (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN) or from ECS container credentials "
          "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI), which the registry may use";
  std::vector<std::string> set;
  for (const char* name : {"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                           "AWS_CONTAINER_CREDENTIALS_FULL_URI"})
    if (!env(name).empty()) set.push_back(name);
  if (!set.empty()) {
    what += "; ";
    for (std::size_t i = 0; i < set.size(); ++i) what += (i == 0 ? "" : i + 1 == set.size() ? " and " : ", ") + set[i];
    what += set.size() == 1 ? " is set here, and regsweep does not use it" : " are set here, and regsweep does not use them";
  }
  throw Error(what, c.source,
              "give regsweep keys: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or a "
              "profile in the shared credentials file");
}

// ---- reading storage.s3 ----

namespace detail {

bool is_s3_driver(const std::string& name) { return name == "s3" || name == "s3aws"; }

bool s3_environment_sets(const std::string& driver, EnvLookup lookup, const void* env_context) {
  if (!lookup) lookup = process_environment;
  const std::string prefix = "REGISTRY_STORAGE_" + util::ascii_upper(driver);
  if (lookup(prefix.c_str(), env_context)) return true;
  for (const char* key : kKeys)
    if (lookup((prefix + "_" + util::ascii_upper(key)).c_str(), env_context)) return true;
  for (const char* key : {"SESSIONTOKEN", "LOGLEVEL", "REDIRECTENDPOINT"})
    if (lookup((prefix + "_" + key).c_str(), env_context)) return true;
  return false;
}

YAML::Node environment_yaml(const std::string& variable, const std::string& value, const std::string& path) {
  try {
    return YAML::Load(value);
  } catch (const YAML::Exception&) {
    // the value is not shown: it may be a secret
    throw Error(variable + " in the environment is not valid YAML, and the registry reads it as YAML", path);
  }
}

S3Config read_s3_section(const YAML::Node& file_params, const std::string& driver, const std::string& path, EnvLookup lookup,
                         const void* env_context, const std::string& file_origin) {
  if (!lookup) lookup = process_environment;
  auto env = [&](const std::string& name) { return lookup(name.c_str(), env_context); };
  S3Config c;
  c.source = path;
  c.section = "storage." + driver;
  const std::string prefix = "REGISTRY_STORAGE_" + util::ascii_upper(driver);

  // (yaml-cpp: a missing key's node cannot be assigned to or from, only copied)
  const std::optional<std::string> whole = env(prefix);
  const std::string origin = whole ? " (from " + prefix + ")" : file_origin;
  const YAML::Node section = whole ? environment_yaml(prefix, *whole, path) : file_params;
  if (section && section.IsDefined() && !section.IsNull() && !section.IsMap())
    throw Error(c.section + origin + " is not a mapping of keys; the registry refuses to start with it", path);

  auto get = [&](const char* key) -> Value {
    const std::string variable = prefix + "_" + util::ascii_upper(key);
    if (auto v = env(variable)) return value_of(environment_yaml(variable, *v, path), variable);
    return value_of(section && section.IsMap() ? section[key] : YAML::Node(), c.section + "." + key + origin);
  };

  const Value bucket = get("bucket");
  c.bucket = as_string(bucket, path);
  if (c.bucket.empty()) throw Error(bucket.name + " is not set; the registry refuses to start without a bucket", path);

  const Value endpoint = get("regionendpoint");
  c.regionendpoint = as_string(endpoint, path);
  const Value region = get("region");
  c.region = as_string(region, path);
  if (c.regionendpoint.empty()) {
    if (c.region.empty())
      throw Error(region.name + " is not set; the registry refuses to start without a region (or a regionendpoint)", path);
    if (!known_region(c.region))
      throw Error(region.name + " is \"" + c.region +
                      "\", a region the registry does not know; it refuses to start (it takes any region only with a regionendpoint)",
                  path);
  } else {
    parse_endpoint(c.regionendpoint, endpoint.name, path);
    if (region.kind == Value::kNil)
      throw Error(region.name +
                      " is not set; registry 2.8 refuses to start without it, and 3.x signs its requests for a region named "
                      "\"<nil>\": set the region the S3 server expects (MinIO's is us-east-1 unless set otherwise)",
                  path);
    if (c.region.empty()) {
      // 3.x leaves an empty region to the AWS SDK, which takes it from the environment.
      bool load_config = false;  // strconv.ParseBool's true
      if (auto v = env("AWS_SDK_LOAD_CONFIG"))
        for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) load_config = load_config || *v == t;
      if (auto v = env("AWS_REGION"); v && !v->empty()) c.region = *v;
      else if (auto d = env("AWS_DEFAULT_REGION"); load_config && d && !d->empty()) c.region = *d;
      else
        throw Error(region.name +
                        " is empty and AWS_REGION is not set; registry 2.8 refuses to start, and 3.x's requests fail "
                        "(MissingRegion): set the region the S3 server expects",
                    path);
    }
  }

  const Value forcepathstyle = get("forcepathstyle");
  const bool force = as_bool(forcepathstyle, false, path);
  c.path_style = forcepathstyle.kind != Value::kNil ? force : !c.regionendpoint.empty();

  c.encrypt = as_bool(get("encrypt"), false, path);
  c.secure = as_bool(get("secure"), true, path);
  c.skipverify = as_bool(get("skipverify"), false, path);
  const Value v4auth = get("v4auth");
  c.v4auth = as_bool(v4auth, true, path);
  if (!c.v4auth)
    throw Error("regsweep signs with AWS Signature Version 4 only; v4auth: false (SigV2) is not supported (" + v4auth.name + ")",
                path);
  c.keyid = as_string(get("keyid"), path);

  c.chunksize = as_number(get("chunksize"), kS3DefaultChunkSize, kS3MinChunkSize, kS3MaxChunkSize, path);
  c.multipartcopychunksize = as_number(get("multipartcopychunksize"), 32ull << 20, kS3MinChunkSize, kS3MaxChunkSize, path);
  c.multipartcopymaxconcurrency = as_number(get("multipartcopymaxconcurrency"), 100, 1, kMaxInt64, path);
  c.multipartcopythresholdsize = as_number(get("multipartcopythresholdsize"), 32ull << 20, 0, kS3MaxChunkSize, path);

  c.rootdirectory = strip_slashes(as_string(get("rootdirectory"), path));

  const Value storageclass = get("storageclass");
  if (storageclass.kind != Value::kNil) {
    std::string name = util::ascii_upper(storageclass.text);  // the driver upper-cases it
    if (storageclass.kind != Value::kString ||
        std::find_if(kStorageClasses.begin(), kStorageClasses.end(), [&](const char* s) { return name == s; }) == kStorageClasses.end())
      throw Error(storageclass.name + " is \"" + storageclass.text + "\"; the registry refuses to start unless it is one of " +
                      joined(kStorageClasses) + " (2.8.2: NONE, STANDARD, REDUCED_REDUNDANCY)",
                  path);
    c.storageclass = name;
  }

  const Value objectacl = get("objectacl");
  if (objectacl.kind != Value::kNil) {
    if (objectacl.kind != Value::kString ||
        std::find_if(kObjectAcls.begin(), kObjectAcls.end(), [&](const char* s) { return objectacl.text == s; }) == kObjectAcls.end())
      throw Error(objectacl.name + " is \"" + objectacl.text + "\"; the registry refuses to start unless it is one of " + joined(kObjectAcls),
                  path);
    c.objectacl = objectacl.text;
  }

  // 3.x's switches: checked as 3.x checks them (2.8 ignores these keys).
  c.usedualstack = as_bool(get("usedualstack"), false, path);
  c.usefipsendpoint = as_bool(get("usefipsendpoint"), false, path);
  as_bool(get("accelerate"), false, path);  // same bucket, another way in: regsweep takes the regional endpoint

  // useragent, loglevel, redirectendpoint, sessiontoken: nothing regsweep's requests need
  // (docs/s3-config.md). The keys last: the driver reads them first, but a key is never shown.
  const Value accesskey = get("accesskey"), secretkey = get("secretkey");
  c.accesskey = as_string(accesskey, path, true);
  c.secretkey = as_string(secretkey, path, true);
  if (!c.accesskey.empty() && !c.secretkey.empty()) {
    const bool from_env = accesskey.name.rfind("REGISTRY_", 0) == 0 || secretkey.name.rfind("REGISTRY_", 0) == 0;
    c.credentials_from = c.section + " in " + path + (from_env ? " (with " + prefix + "_* from the environment)" : origin);
  }
  return c;
}

}  // namespace detail

}  // namespace regsweep::storage
