#include "sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

#include "regsweep/util/format.h"
#include "regsweep/util/hex.h"
#include "regsweep/util/sha256.h"

namespace regsweep::storage::sigv4 {

namespace {

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// Trimmed, with runs of spaces inside made one (the canonical form of a header's value).
std::string canonical_value(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  std::string out;
  for (char c : v) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  return out;
}

}  // namespace

void sign(Request& request, const Credentials& credentials, std::int64_t epoch_s) {
  char amz_date[17], date[9];
  std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
  std::strftime(date, sizeof date, "%Y%m%d", &tm);

  std::vector<std::string>& headers = *request.headers;
  headers.push_back(std::string("x-amz-date: ") + amz_date);
  headers.push_back("x-amz-content-sha256: " + std::string(request.payload_sha256));
  if (!credentials.session_token.empty()) headers.push_back("x-amz-security-token: " + credentials.session_token);

  // The headers, by lower-case name, with host.
  std::vector<std::pair<std::string, std::string>> signed_headers;
  signed_headers.emplace_back("host", std::string(request.host));
  for (const std::string& h : headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos) continue;
    signed_headers.emplace_back(util::ascii_lower(std::string_view(h).substr(0, colon)), canonical_value(std::string_view(h).substr(colon + 1)));
  }
  std::sort(signed_headers.begin(), signed_headers.end());

  // The query's parameters sorted by name (then value); each is sent encoded already.
  std::vector<std::string_view> params;
  for (std::string_view q = request.query; !q.empty();) {
    auto amp = q.find('&');
    std::string_view p = q.substr(0, amp);
    if (!p.empty()) params.push_back(p);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
  }
  std::vector<std::string> canonical_params;
  for (std::string_view p : params) canonical_params.emplace_back(p.find('=') == std::string_view::npos ? std::string(p) + "=" : std::string(p));
  std::sort(canonical_params.begin(), canonical_params.end());

  std::string canonical;
  canonical += request.method;
  canonical += '\n';
  canonical += request.path.empty() ? std::string_view("/") : request.path;
  canonical += '\n';
  for (std::size_t i = 0; i < canonical_params.size(); ++i) (canonical += i ? "&" : "") += canonical_params[i];
  canonical += '\n';
  std::string names;
  for (const auto& [name, value] : signed_headers) {
    canonical += name + ":" + value + "\n";
    (names += names.empty() ? "" : ";") += name;
  }
  canonical += '\n';
  canonical += names;
  canonical += '\n';
  canonical += request.payload_sha256;

  const std::string scope = std::string(date) + "/" + credentials.region + "/s3/aws4_request";
  const std::string to_sign =
      std::string("AWS4-HMAC-SHA256\n") + amz_date + "\n" + scope + "\n" + util::sha256(canonical).hex();
  const std::string key = hmac(hmac(hmac(hmac("AWS4" + credentials.secret_key, date), credentials.region), "s3"), "aws4_request");
  headers.push_back("Authorization: AWS4-HMAC-SHA256 Credential=" + credentials.access_key + "/" + scope +
                    ", SignedHeaders=" + names + ", Signature=" + to_hex(hmac(key, to_sign)));
}

}  // namespace regsweep::storage::sigv4
