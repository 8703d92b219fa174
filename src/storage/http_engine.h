#pragma once
// HTTP for the object stores: one thread drives libcurl's multi interface, so that every
// request shares one pool of keep-alive connections and as many run at once as the store
// allows. Callers (the walk's workers, the executor) submit a request and wait for its answer;
// many wait at once. Requests come signed (sigv4.h) for S3, or with the registry's
// Authorization (online/registry_client.h) for the registry's API.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "regsweep/util/function_ref.h"

namespace regsweep::storage::http {

struct EngineSettings {
  unsigned connections = 16;     // at most this many requests in flight
  bool skip_verify = false;       // TLS without checking the server's certificate
  std::string ca_file;            // a CA bundle trusted instead of the system's (empty: the system's)
  long connect_timeout_ms = 10000;
  long stall_timeout_s = 60;      // a transfer with no byte for this long fails (retried above)
};

struct Request {
  const char* method = "GET";
  std::string url;                       // fully encoded
  std::vector<std::string> headers;      // "Name: value"
  std::string_view body;                 // sent as is (must outlive the call)
  std::size_t max_body = 1u << 20;       // a longer answer is cut and `truncated` set
  // When set, the answer's body is streamed here instead of kept (2xx only), on the thread
  // that called perform(). What it throws ends the transfer and comes out of perform().
  util::FunctionRef<void(std::string_view)>* sink = nullptr;
  // Keep every response header in Response::headers (the registry's API reads Link,
  // WWW-Authenticate, Docker-Content-Digest, Content-Type); off for S3, which needs none.
  bool keep_headers = false;
  // Follow redirects (a registry may send blob reads to its storage's URL); libcurl does not
  // send a custom Authorization header on to another host.
  bool follow_redirects = false;
};

struct Response {
  long status = 0;                // 0 when no HTTP answer came
  int curl_code = 0;              // CURLcode
  std::string transport_error;    // what libcurl said, when no answer came
  std::string body;
  bool truncated = false;
  std::int64_t content_length = -1;
  std::string etag, last_modified;
  std::vector<std::pair<std::string, std::string>> meta;  // x-amz-meta-* (name without the prefix, lower case)
  std::vector<std::pair<std::string, std::string>> headers;  // with Request::keep_headers: every header, name in lower case
  // The first value of a header kept with Request::keep_headers (name in lower case), or empty.
  std::string_view header(std::string_view lower_name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

class Engine {
 public:
  explicit Engine(EngineSettings settings);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs one request and waits for its end. Thread-safe. Never throws for an HTTP or transport
  // failure: the Response says what happened.
  Response perform(const Request& request);

  // Requests made so far, by method, and bytes moved (for progress and the benchmark).
  struct Counters {
    std::uint64_t requests = 0, bytes_in = 0, bytes_out = 0;
  };
  Counters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RFC 3986 percent-encoding of everything but unreserved characters (and '/' when
// keep_slash): what S3's canonical request expects of a key and of query values.
std::string uri_encode(std::string_view text, bool keep_slash);

}  // namespace regsweep::storage::http
