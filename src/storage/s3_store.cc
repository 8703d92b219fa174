#include "regsweep/storage/s3_store.h"

#include <malloc.h>
#include <openssl/evp.h>
#include <pugixml.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <thread>

#include "http_engine.h"
#include "s3_listing.h"
#include "sigv4.h"
#include "regsweep/error.h"
#include "regsweep/util/format.h"
#include "regsweep/util/hex.h"
#include "regsweep/util/sha256.h"

namespace regsweep::storage {

namespace {

constexpr std::size_t kDeleteBatch = 1000;          // DeleteObjects takes at most 1000 keys
constexpr std::uint64_t kMaxCopyObject = 5ull << 30; // CopyObject copies at most 5 GiB
constexpr int kAttempts = 6;                         // one try and five retries
// The time of a copied key, kept where regsweep reads it back (LastModified is the copy's).
constexpr const char* kTimeMeta = "regsweep-mtime-ns";
constexpr const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string hex_sha256(std::string_view data) {
  Digest d = util::sha256(data);
  return d.hex();
}

std::string base64_md5(std::string_view data) {
  const std::array<unsigned char, 16> md = util::md5(data);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, md.data(), static_cast<int>(md.size()));
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

// "Thu, 03 Dec 2026 15:00:00 GMT" (an HTTP date) to epoch ns; 0 when unparsable.
std::int64_t parse_http_date(const std::string& text) {
  std::tm tm{};
  if (!strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) return 0;
  return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

struct S3Error {
  std::string code, message;
};

S3Error parse_error(const std::string& body) {
  pugi::xml_document doc;
  S3Error e;
  if (doc.load_buffer(body.data(), body.size())) {
    pugi::xml_node err = doc.child("Error");
    e.code = err.child_value("Code");
    e.message = err.child_value("Message");
  }
  return e;
}

bool retryable(const http::Response& r) {
  if (r.status == 0) return true;  // reset, timeout, refused: no answer came
  if (r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504 || r.status == 429) return true;
  if (r.status == 400) {
    S3Error e = parse_error(r.body);
    return e.code == "RequestTimeout" || e.code == "SlowDown";
  }
  return false;
}

enum class Op { List, Get, Head, Put, Copy, Delete };

class S3Store final : public Store {
 public:
  S3Store(const S3Config& config, unsigned connections)
      : config_(config),
        credentials_{config.accesskey, config.secretkey, config.sessiontoken, config.region.empty() ? "us-east-1" : config.region},
        engine_(engine_settings(config, connections)) {
    traits_.connections = connections ? connections : 1;
    endpoint_ = config_.endpoint_url();
    while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
    if (config_.path_style) {
      base_url_ = endpoint_ + "/" + http::uri_encode(config_.bucket, false);
    } else {
      auto scheme = endpoint_.find("://");
      base_url_ = endpoint_.substr(0, scheme + 3) + config_.bucket + "." + endpoint_.substr(scheme + 3);
    }
    if (!config_.rootdirectory.empty()) root_ = config_.rootdirectory + "/";
    location_ = config_.url();
  }

  StoreTraits traits() const override { return traits_; }
  const std::string& location() const override { return location_; }
  std::string locate(std::string_view key) const override {
    if (key.empty()) return location_;
    std::string out = location_;
    out += '/';
    out += key;
    return out;
  }

  // --- Reads ---

  void list(std::string_view prefix, KeyVisitor visit) override {
    std::string folder = root_;
    folder += prefix;
    if (!prefix.empty()) folder += '/';
    list_pages(folder, false, [&](pugi::xml_node c) {
      if (std::string_view(c.name()) != "Contents") return;
      std::string_view key = c.child_value("Key");
      if (!key.starts_with(root_)) return;
      key.remove_prefix(root_.size());
      KeyInfo info;
      if (key.ends_with('/')) {  // a "folder" marker object, as consoles and s3fs write them
        key.remove_suffix(1);
        info.type = FileType::Directory;
      }
      if (key.empty()) return;
      info.key = key;
      info.size = std::strtoull(c.child_value("Size"), nullptr, 10);
      info.mtime_ns = util::parse_rfc3339(c.child_value("LastModified")).value_or(0);
      info.etag = c.child_value("ETag");
      if (info.etag.size() >= 2 && info.etag.front() == '"' && info.etag.back() == '"') info.etag = info.etag.substr(1, info.etag.size() - 2);
      visit(info);
    });
  }

  void list_children(std::string_view prefix, ChildVisitor visit) override {
    std::string folder = root_;
    folder += prefix;
    if (!prefix.empty()) folder += '/';
    list_pages(folder, true, [&](pugi::xml_node entry) {
      const bool is_key = std::string_view(entry.name()) == "Contents";
      std::string_view name = entry.child_value(is_key ? "Key" : "Prefix");
      if (!name.starts_with(folder)) return;
      name.remove_prefix(folder.size());
      if (!is_key && name.ends_with('/')) name.remove_suffix(1);
      if (!name.empty()) visit(name, is_key ? FileType::Regular : FileType::Directory);  // "" is the folder's own marker
    });
  }

  FileStat stat(std::string_view key) override {
    http::Request q;
    q.method = "HEAD";
    q.url = url_of(key);
    http::Response r = call(Op::Head, q);
    FileStat st;
    if (r.ok()) {
      st.type = FileType::Regular;
      st.size = r.content_length < 0 ? 0 : static_cast<std::uint64_t>(r.content_length);
      st.mtime_ns = mtime_of(r);
      return st;
    }
    if (r.status == 404) {
      // Not a key: a folder when anything is below it.
      bool any = false;
      std::string folder = root_;
      folder += key;
      folder += '/';
      list_pages(folder, true, [&](pugi::xml_node) { any = true; }, 1);
      if (any) st.type = FileType::Directory;
      return st;
    }
    st.error = r.status == 403 ? EACCES : EIO;
    return st;
  }

  ReadResult read(std::string_view key, std::size_t max_bytes, std::string& out) override {
    out.clear();
    http::Request q;
    q.url = url_of(key);
    q.max_body = max_bytes;
    http::Response r = call(Op::Get, q);
    ReadResult result;
    if (r.status == 404) return result;
    if (r.truncated || (r.ok() && r.content_length > static_cast<std::int64_t>(max_bytes))) {
      result.status = ReadStatus::TooLarge;
      result.stat = stat_of(r);
      return result;
    }
    if (!r.ok()) {
      result.status = ReadStatus::IoError;
      result.error = r.status == 403 ? EACCES : EIO;
      return result;
    }
    out = std::move(r.body);
    result.status = ReadStatus::Ok;
    result.stat = stat_of(r);
    result.stat.size = out.size();
    return result;
  }

  ReadResult read_chunks(std::string_view key, char*, std::size_t,
                         util::FunctionRef<void(std::string_view)> chunk) override {
    http::Request q;
    q.url = url_of(key);
    // A retry after part of the body came would feed `chunk` twice: streamed GETs are tried once.
    q.sink = &chunk;
    http::Response r = call(Op::Get, q, false);
    ReadResult result;
    if (r.status == 404) return result;
    if (!r.ok()) {
      result.status = ReadStatus::IoError;
      result.error = r.status == 403 ? EACCES : EIO;
      return result;
    }
    result.status = ReadStatus::Ok;
    result.stat = stat_of(r);
    return result;
  }

  // --- Writes ---

  void put(std::string_view key, std::string_view content) override { put_with(key, content, {}); }

  PutNew put_new(std::string_view key, std::string_view content) override {
    http::Response r = put_with(key, content, {"If-None-Match: *"}, true);
    if (r.ok()) return PutNew::Created;
    if (r.status == 412 || r.status == 409) return PutNew::Exists;
    if (r.status == 501) return PutNew::Unsupported;
    fail("cannot write", key, r);
  }

  void remove(const std::vector<std::string>& keys) override {
    std::vector<std::pair<std::string, std::string>> refused;
    for (std::size_t at = 0; at < keys.size(); at += kDeleteBatch) {
      std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
      const std::size_t end = std::min(keys.size(), at + kDeleteBatch);
      for (std::size_t i = at; i < end; ++i) body += "<Object><Key>" + xml_escape(root_ + keys[i]) + "</Key></Object>";
      body += "</Delete>";
      http::Request q;
      q.method = "POST";
      q.url = base_url_ + "/?delete=";
      q.body = body;
      q.headers.push_back("Content-MD5: " + base64_md5(body));
      q.headers.push_back("Content-Type: application/xml");
      q.max_body = 16u << 20;
      http::Response r = call(Op::Delete, q);
      if (!r.ok()) fail("cannot delete a batch of " + std::to_string(end - at) + " keys, the first", keys[at], r);
      // Quiet mode: only the keys that were not deleted come back, each with its error.
      pugi::xml_document doc;
      if (!doc.load_buffer(r.body.data(), r.body.size()) || !doc.child("DeleteResult"))
        throw Error("the answer to a batch delete is not a DeleteResult: which keys were deleted is unknown", locate(keys[at]),
                    "run the command again: what is left is removed then");
      for (pugi::xml_node e : doc.child("DeleteResult").children("Error")) {
        std::string_view key = e.child_value("Key");
        if (key.starts_with(root_)) key.remove_prefix(root_.size());
        refused.emplace_back(std::string(key), std::string(e.child_value("Code")) + " " + e.child_value("Message"));
      }
    }
    if (!refused.empty()) {
      // Made before `refused` is moved into the exception (arguments have no order).
      std::string what = "the object store refused to delete " + std::to_string(refused.size()) + " of " + std::to_string(keys.size()) +
                         " keys (first: " + refused.front().first + ": " + refused.front().second + ")";
      std::string where = locate(refused.front().first);
      throw PartialRemoval(what, where, "endpoint " + endpoint_ + ", bucket " + config_.bucket + "; run the command again: what is left is removed then",
                           std::move(refused));
    }
  }

  void remove_prefix(std::string_view prefix) override {
    std::vector<std::string> keys;
    std::string marker;
    list(prefix, [&](const KeyInfo& k) { keys.emplace_back(k.type == FileType::Directory ? std::string(k.key) + "/" : std::string(k.key)); });
    keys.push_back(std::string(prefix) + "/");  // the folder's own marker, if a console wrote one
    remove(keys);
  }

  void copy(std::string_view from, std::string_view to, const KeyInfo* listed) override {
    // The source's time goes with the copy: LastModified would be the copy's own. A listing
    // has it (and the size), else a HEAD.
    std::int64_t mtime = 0;
    std::uint64_t size = 0;
    if (listed) {
      mtime = listed->mtime_ns;
      size = listed->size;
    } else {
      http::Request head;
      head.method = "HEAD";
      head.url = url_of(from);
      http::Response src = call(Op::Head, head);
      if (!src.ok()) fail("cannot copy: it cannot be looked at", from, src);
      mtime = mtime_of(src);
      size = src.content_length < 0 ? 0 : static_cast<std::uint64_t>(src.content_length);
    }
    std::vector<std::string> headers = write_headers();
    headers.push_back(std::string("x-amz-meta-") + kTimeMeta + ": " + std::to_string(mtime));
    const std::uint64_t threshold = std::min<std::uint64_t>(kMaxCopyObject, config_.multipartcopythresholdsize ? config_.multipartcopythresholdsize : kMaxCopyObject);
    if (size > threshold) return multipart_copy(from, to, size, headers);
    http::Request q;
    q.method = "PUT";
    q.url = url_of(to);
    q.headers = std::move(headers);
    q.headers.push_back("x-amz-copy-source: " + copy_source(from));
    q.headers.push_back("x-amz-metadata-directive: REPLACE");
    http::Response r = call(Op::Copy, q);
    // A copy can fail after its 200 (the error is in the body).
    if (!r.ok() || r.body.find("<Error>") != std::string::npos) fail("cannot copy " + locate(from) + " to", to, r);
  }

  std::uint64_t volume_of(std::string_view) override { return 0; }

  S3Counters counters() const {
    S3Counters c;
    http::Engine::Counters e = engine_.counters();
    c.requests = e.requests;
    c.bytes_in = e.bytes_in;
    c.bytes_out = e.bytes_out;
    c.retries = retries_;
    c.lists = by_op_[0];
    c.gets = by_op_[1];
    c.heads = by_op_[2];
    c.puts = by_op_[3];
    c.copies = by_op_[4];
    c.deletes = by_op_[5];
    return c;
  }

  // The first request: a wrong endpoint, bucket or credentials stop here.
  void probe() {
    http::Request q;
    q.url = base_url_ + "/?list-type=2&max-keys=1&prefix=" + http::uri_encode(root_, false);
    http::Response r = call(Op::List, q);
    if (!r.ok()) fail("cannot list the bucket", "", r);
  }

 private:
  static http::EngineSettings engine_settings(const S3Config& c, unsigned connections) {
    http::EngineSettings s;
    s.connections = connections ? connections : 1;
    s.skip_verify = c.skipverify;
    // As the AWS tools do: a CA bundle named in the environment is the one trusted.
    if (const char* ca = std::getenv("AWS_CA_BUNDLE"); ca && *ca) s.ca_file = ca;
    return s;
  }

  std::string url_of(std::string_view key) const {
    std::string url = base_url_;
    url += '/';
    url += http::uri_encode(root_ + std::string(key), true);
    return url;
  }

  std::string copy_source(std::string_view key) const {
    return "/" + http::uri_encode(config_.bucket, false) + "/" + http::uri_encode(root_ + std::string(key), true);
  }

  std::vector<std::string> write_headers() const {
    std::vector<std::string> h;
    // As the registry's driver writes: its encryption, storage class and ACL.
    if (config_.encrypt) {
      if (config_.keyid.empty()) {
        h.push_back("x-amz-server-side-encryption: AES256");
      } else {
        h.push_back("x-amz-server-side-encryption: aws:kms");
        h.push_back("x-amz-server-side-encryption-aws-kms-key-id: " + config_.keyid);
      }
    }
    if (!config_.storageclass.empty() && config_.storageclass != "NONE") h.push_back("x-amz-storage-class: " + config_.storageclass);
    if (!config_.objectacl.empty()) h.push_back("x-amz-acl: " + config_.objectacl);
    return h;
  }

  http::Response put_with(std::string_view key, std::string_view content, std::vector<std::string> extra,
                          bool return_failure = false) {
    http::Request q;
    q.method = "PUT";
    q.url = url_of(key);
    q.body = content;
    q.headers = write_headers();
    for (std::string& h : extra) q.headers.push_back(std::move(h));
    http::Response r = call(Op::Put, q);
    if (!r.ok() && !return_failure) fail("cannot write", key, r);
    return r;
  }

  void multipart_copy(std::string_view from, std::string_view to, std::uint64_t size, std::vector<std::string> headers) {
    http::Request create;
    create.method = "POST";
    create.url = url_of(to) + "?uploads=";
    create.headers = std::move(headers);
    http::Response r = call(Op::Put, create);
    if (!r.ok()) fail("cannot start a multipart copy to", to, r);
    pugi::xml_document doc;
    doc.load_buffer(r.body.data(), r.body.size());
    const std::string upload_id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
    if (upload_id.empty()) throw Error("the object store gave no upload id for a multipart copy", locate(to));
    const std::uint64_t part = std::max<std::uint64_t>(5ull << 20, config_.multipartcopychunksize ? config_.multipartcopychunksize : (32ull << 20));
    std::string complete = "<CompleteMultipartUpload>";
    try {
      int number = 1;
      for (std::uint64_t at = 0; at < size; at += part, ++number) {
        http::Request q;
        q.method = "PUT";
        q.url = url_of(to) + "?partNumber=" + std::to_string(number) + "&uploadId=" + http::uri_encode(upload_id, false);
        q.headers.push_back("x-amz-copy-source: " + copy_source(from));
        q.headers.push_back("x-amz-copy-source-range: bytes=" + std::to_string(at) + "-" + std::to_string(std::min(size, at + part) - 1));
        http::Response pr = call(Op::Copy, q);
        pugi::xml_document pd;
        if (!pr.ok() || !pd.load_buffer(pr.body.data(), pr.body.size()) || !pd.child("CopyPartResult"))
          fail("cannot copy part " + std::to_string(number) + " of " + locate(from) + " to", to, pr);
        complete += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" +
                    xml_escape(pd.child("CopyPartResult").child_value("ETag")) + "</ETag></Part>";
      }
      complete += "</CompleteMultipartUpload>";
      http::Request q;
      q.method = "POST";
      q.url = url_of(to) + "?uploadId=" + http::uri_encode(upload_id, false);
      q.body = complete;
      q.headers.push_back("Content-Type: application/xml");
      http::Response cr = call(Op::Put, q);
      if (!cr.ok() || cr.body.find("<Error>") != std::string::npos) fail("cannot complete a multipart copy to", to, cr);
    } catch (...) {
      http::Request abort;
      abort.method = "DELETE";
      abort.url = url_of(to) + "?uploadId=" + http::uri_encode(upload_id, false);
      call(Op::Delete, abort, false);
      throw;
    }
  }

  // Lists every page below `folder` (a full key prefix), handing each <Contents> and
  // <CommonPrefixes> element to `entry` as it arrives (s3_listing.h).
  template <typename Entry>
  void list_pages(const std::string& folder, bool delimited, Entry&& entry, int max_keys = 1000) {
    std::string token;
    util::FunctionRef<void(pugi::xml_node)> visit = entry;
    for (;;) {
      // The query's parameters in the canonical order (sorted), values encoded: the signature
      // is made over the URL as given.
      std::string url = base_url_ + "/?";
      if (!token.empty()) url += "continuation-token=" + http::uri_encode(token, false) + "&";
      if (delimited) url += "delimiter=%2F&";
      url += "list-type=2&max-keys=" + std::to_string(max_keys) + "&prefix=" + http::uri_encode(folder, false);
      s3::ListingReader page(visit);
      auto feed = [&](std::string_view bytes) { page.feed(bytes); };
      auto again = [&] { page.restart(); };
      util::FunctionRef<void(std::string_view)> sink = feed;
      util::FunctionRef<void()> restart = again;
      http::Request q;
      q.url = std::move(url);
      q.sink = &sink;
      http::Response r = call(Op::List, q, true, &restart);
      if (!r.ok()) fail("cannot list", folder.substr(root_.size()), r);
      if (!page.finish())
        throw Error("the answer to a listing is not an S3 listing", locate(folder.substr(root_.size())), "is the endpoint an S3 server? " + endpoint_);
      if (max_keys < 1000 || !page.truncated()) return;
      token = page.continuation_token();
      if (token.empty()) throw Error("a truncated listing came without a continuation token", locate(folder.substr(root_.size())));
    }
  }

  // One request with its retries: throttling, server errors and lost connections are retried
  // with exponential backoff and jitter. A streamed
  // answer (q.sink) may have fed part of its body before it failed: `restart` is told before
  // each new attempt.
  http::Response call(Op op, http::Request& q, bool retry = true, util::FunctionRef<void()>* restart = nullptr) {
    const std::string hash = q.body.empty() ? std::string(kEmptySha256) : hex_sha256(q.body);
    // The URL as sent, in the parts a signature names.
    const std::size_t authority = q.url.find("://") + 3;
    const std::size_t path = q.url.find('/', authority);
    const std::size_t query = q.url.find('?', path);
    const std::vector<std::string> unsigned_headers = q.headers;
    http::Response r;
    for (int attempt = 0;; ++attempt) {
      q.headers = unsigned_headers;  // signed again for each attempt: the signature names the time
      sigv4::Request sr{q.method, std::string_view(q.url).substr(authority, path - authority),
                        std::string_view(q.url).substr(path, query == std::string::npos ? std::string::npos : query - path),
                        query == std::string::npos ? std::string_view() : std::string_view(q.url).substr(query + 1), &q.headers, hash};
      sigv4::sign(sr, credentials_, static_cast<std::int64_t>(std::time(nullptr)));
      r = engine_.perform(q);
      count(op);
      if (!retry || !retryable(r) || attempt + 1 == kAttempts) break;
      ++retries_;
      thread_local std::minstd_rand rng(static_cast<unsigned>(std::hash<std::thread::id>()(std::this_thread::get_id())));
      const long cap_ms = std::min(2000L, 50L << attempt);
      std::this_thread::sleep_for(std::chrono::milliseconds(cap_ms / 2 + static_cast<long>(rng() % static_cast<unsigned>(cap_ms / 2 + 1))));
      if (restart) (*restart)();
    }
    return r;
  }

  void count(Op op) { ++by_op_[static_cast<int>(op)]; }

  // Throws the Error for a failed request: what S3 said, the key as a URL, and the endpoint.
  [[noreturn]] void fail(const std::string& what, std::string_view key, const http::Response& r) const {
    std::string where = locate(key);
    std::string hint = "endpoint " + endpoint_ + ", bucket " + config_.bucket;
    if (r.status == 0)
      throw Error(what + ": the endpoint cannot be reached (" + r.transport_error + ")", where,
                  hint + ": is the endpoint up and the URL right? (tried " + std::to_string(kAttempts) + " times)");
    S3Error e = parse_error(r.body);
    std::string said = "HTTP " + std::to_string(r.status) + (e.code.empty() ? "" : " " + e.code) + (e.message.empty() ? "" : ": " + e.message);
    if (e.code == "NoSuchBucket")
      throw Error(what + ": the bucket does not exist (" + said + ")", where, hint);
    if (r.status == 403)
      throw Error(what + ": access denied (" + said + ")", where,
                  hint + "; the credentials came from " + (config_.credentials_from.empty() ? std::string("the config") : config_.credentials_from) +
                      "; regsweep needs s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject");
    throw Error(what + ": " + said, where, hint);
  }

  static std::int64_t mtime_of(const http::Response& r) {
    for (const auto& [name, value] : r.meta)
      if (name == kTimeMeta) return std::strtoll(value.c_str(), nullptr, 10);
    return parse_http_date(r.last_modified);
  }

  static FileStat stat_of(const http::Response& r) {
    FileStat st;
    st.type = FileType::Regular;
    st.size = r.content_length < 0 ? 0 : static_cast<std::uint64_t>(r.content_length);
    st.mtime_ns = mtime_of(r);
    return st;
  }

  S3Config config_;
  sigv4::Credentials credentials_;
  mutable http::Engine engine_;
  StoreTraits traits_;
  std::string endpoint_, base_url_, root_, location_;
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> by_op_[6] = {};
};

}  // namespace

std::unique_ptr<Store> open_s3_store(const S3Config& config, unsigned connections) {
#ifdef __GLIBC__
  // The walk's and the executor's threads (one per connection) mostly wait on the network:
  // an arena of their own each would only keep the pages each freed (6 MB on the bench's
  // 20,000 keys) for no speed. Two arenas for all.
  ::mallopt(M_ARENA_MAX, 2);
#endif
  auto store = std::make_unique<S3Store>(config, connections);
  store->probe();
  return store;
}

S3Counters s3_counters(Store& store) {
  if (auto* s3 = dynamic_cast<S3Store*>(&store)) return s3->counters();
  return {};
}

}  // namespace regsweep::storage
