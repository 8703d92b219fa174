#include "http_engine.h"

#include <curl/curl.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "regsweep/error.h"
#include "regsweep/util/format.h"

namespace regsweep::storage::http {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + 8);
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                      c == '.' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// One request in flight: the caller waits on `cv` for its end, and for the body's bytes when
// they go to a sink.
struct Transfer {
  const Request* request = nullptr;
  Response* response = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  bool finished = false;
  std::string streamed;    // body bytes for the sink, not yet taken by the caller
  bool abandoned = false;  // the sink threw: the rest of the body is not wanted
  std::mutex mutex;
  std::condition_variable cv;
};

struct Engine::Impl {
  EngineSettings settings;
  CURLM* multi = nullptr;
  std::thread thread;
  std::mutex mutex;
  std::deque<Transfer*> queue;
  bool stopping = false;
  std::vector<CURL*> idle;
  std::atomic<std::uint64_t> requests{0}, bytes_in{0}, bytes_out{0};

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (t->request->sink && status >= 200 && status < 300) {
      // Handed to the caller's thread, which runs the sink: a sink may then take locks or
      // work as long as it likes without holding up every other transfer on this thread.
      std::lock_guard<std::mutex> lock(t->mutex);
      if (t->abandoned) return 0;
      t->streamed.append(data, len);
      t->cv.notify_one();
      return len;
    }
    std::string& body = t->response->body;
    if (body.size() + len > t->request->max_body) {
      t->response->truncated = true;
      return 0;  // stops the transfer: the caller asked for no more than this
    }
    if (body.empty() && t->response->content_length > 0 && static_cast<std::uint64_t>(t->response->content_length) <= t->request->max_body)
      body.reserve(static_cast<std::size_t>(t->response->content_length));  // not twice its size by doubling
    body.append(data, len);
    return len;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t len = size * n;
    std::string_view line(data, len);
    Response& r = *t->response;
    if (line.starts_with("HTTP/")) {  // a new answer (after a 100 Continue): forget the last one's
      r.etag.clear();
      r.last_modified.clear();
      r.meta.clear();
      r.headers.clear();
      r.content_length = -1;
      return len;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return len;
    std::string name = util::ascii_lower(util::trim_space(line.substr(0, colon)));
    std::string_view value = util::trim_space(line.substr(colon + 1));
    if (name == "etag") r.etag = std::string(value);
    else if (name == "last-modified") r.last_modified = std::string(value);
    else if (name == "content-length") r.content_length = std::strtoll(std::string(value).c_str(), nullptr, 10);
    else if (name.starts_with("x-amz-meta-")) r.meta.emplace_back(name.substr(11), std::string(value));
    if (t->request->keep_headers) r.headers.emplace_back(std::move(name), std::string(value));
    return len;
  }

  void setup(Transfer& t) {
    CURL* e;
    if (!idle.empty()) {
      e = idle.back();
      idle.pop_back();
      curl_easy_reset(e);
    } else {
      e = curl_easy_init();
    }
    t.easy = e;
    const Request& q = *t.request;
    curl_easy_setopt(e, CURLOPT_URL, q.url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    // Only what an object store or a registry speaks: a URL from an answer (a token realm, a
    // redirect) never makes libcurl read a file or another protocol.
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, settings.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, settings.stall_timeout_s);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    if (settings.skip_verify) {
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (!settings.ca_file.empty()) {
      curl_easy_setopt(e, CURLOPT_CAINFO, settings.ca_file.c_str());
    }
    if (q.follow_redirects) {
      curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
      curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }
    const std::string_view method = q.method;
    bool has_type = false;
    for (const std::string& h : q.headers) {
      t.headers = curl_slist_append(t.headers, h.c_str());
      if (util::ascii_lower(std::string_view(h).substr(0, 13)) == "content-type:") has_type = true;
    }
    if (method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (method == "PUT" || method == "POST") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, q.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(q.body.size()));
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q.method);
      if (!has_type) t.headers = curl_slist_append(t.headers, "Content-Type: application/octet-stream");
      t.headers = curl_slist_append(t.headers, "Expect:");  // no 100-continue round trip
      bytes_out += q.body.size();
    } else if (method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q.method);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  }

  void finish(Transfer& t, CURLcode code) {
    Response& r = *t.response;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &r.status);
    r.curl_code = code;
    if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && r.truncated)) {
      r.transport_error = curl_easy_strerror(code);
      if (code != CURLE_WRITE_ERROR) r.status = 0;  // no whole answer: treat as none
    }
    curl_off_t down = 0;
    curl_easy_getinfo(t.easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
    bytes_in += static_cast<std::uint64_t>(down);
    ++requests;
    curl_multi_remove_handle(multi, t.easy);
    curl_slist_free_all(t.headers);
    t.headers = nullptr;
    idle.push_back(t.easy);
    std::lock_guard<std::mutex> lock(t.mutex);
    t.finished = true;
    t.cv.notify_one();
  }

  void loop() {
    int running = 0;
    for (;;) {
      std::deque<Transfer*> incoming;
      {
        std::lock_guard<std::mutex> lock(mutex);
        incoming.swap(queue);
        if (stopping && incoming.empty() && running == 0) break;
      }
      for (Transfer* t : incoming) {
        setup(*t);
        curl_multi_add_handle(multi, t->easy);
      }
      curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Transfer* t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
        finish(*t, msg->data.result);
      }
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }
};

Engine::Engine(EngineSettings settings) : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->settings = std::move(settings);
  impl_->multi = curl_multi_init();
  const long n = impl_->settings.connections ? impl_->settings.connections : 1;
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, n);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, n);
  impl_->thread = std::thread([this] { impl_->loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
  impl_->thread.join();
  for (CURL* e : impl_->idle) curl_easy_cleanup(e);
  curl_multi_cleanup(impl_->multi);
}

Response Engine::perform(const Request& request) {
  Response response;
  Transfer t;
  t.request = &request;
  t.response = &response;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->queue.push_back(&t);
  }
  curl_multi_wakeup(impl_->multi);
  std::unique_lock<std::mutex> lock(t.mutex);
  std::exception_ptr sink_failed;
  std::string chunk;
  for (;;) {
    t.cv.wait(lock, [&] { return t.finished || !t.streamed.empty(); });
    if (t.streamed.empty()) break;  // finished, and every byte handed on
    chunk.clear();
    chunk.swap(t.streamed);
    if (sink_failed) continue;
    lock.unlock();
    try {
      (*request.sink)(chunk);
    } catch (...) {
      // The transfer still writes into `t` until it ends: stop it and wait for that.
      sink_failed = std::current_exception();
    }
    lock.lock();
    if (sink_failed) t.abandoned = true;
  }
  lock.unlock();
  if (sink_failed) std::rethrow_exception(sink_failed);
  return response;
}

std::string_view Response::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

Engine::Counters Engine::counters() const {
  return Counters{impl_->requests.load(), impl_->bytes_in.load(), impl_->bytes_out.load()};
}

}  // namespace regsweep::storage::http
