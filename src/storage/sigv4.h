#pragma once
// AWS Signature Version 4 for S3 requests, with OpenSSL's HMAC-SHA256.
//
// Why not libcurl's own (CURLOPT_AWS_SIGV4)? Debian's libcurl 7.88 sorts the signed headers
// as "name:value" lines rather than by name, so a request carrying both x-amz-copy-source and
// x-amz-copy-source-range (a multipart copy's UploadPartCopy) is signed differently from
// what the server computes ('-' sorts before ':'), and is refused with SignatureDoesNotMatch.
// It also signs the query string as written. So regsweep signs every request here, one way:
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace regsweep::storage::sigv4 {

struct Credentials {
  std::string access_key, secret_key, session_token;
  std::string region;  // the credential scope's region
};

struct Request {
  std::string_view method;
  std::string_view host;      // as sent in the Host header ("bucket.s3.eu-west-1.amazonaws.com", "127.0.0.1:7480")
  std::string_view path;      // URI-encoded as sent ("/bucket/a%20b/c")
  std::string_view query;     // "a=1&b=2" with values encoded as sent (any order; sorted here), or ""
  std::vector<std::string>* headers;  // "Name: value"; the signature's headers are appended
  std::string_view payload_sha256;    // hex
};

// Appends x-amz-date, x-amz-content-sha256, x-amz-security-token (with a session token) and
// Authorization to `headers`, signing every header given (and host). `epoch_s`: the time.
void sign(Request& request, const Credentials& credentials, std::int64_t epoch_s);

}  // namespace regsweep::storage::sigv4
