#include "terminal_progress.h"

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cstdlib>

#include "regsweep/util/format.h"

namespace regsweep::cli {

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

TerminalProgress::TerminalProgress(std::ostream& err) : err_(err), started_ns_(now_ns()) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::milliseconds(200));
      if (!stop_ && !phase_.empty()) draw(false);
    }
  });
}

TerminalProgress::~TerminalProgress() {
  done();
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void TerminalProgress::phase(std::string_view name) {
  std::lock_guard lock(mutex_);
  phase_ = std::string(name);
  items_ = 0;
  bytes_ = 0;
  total_ = 0;
  started_ns_ = now_ns();
  requests_at_phase_ = traffic_ ? traffic_().requests : 0;
}

void TerminalProgress::expect(std::uint64_t total) { total_ = total; }

void TerminalProgress::show_traffic(std::function<Traffic()> traffic) {
  std::lock_guard lock(mutex_);
  traffic_ = std::move(traffic);
  requests_at_phase_ = traffic_().requests;
}

void TerminalProgress::advance(std::uint64_t items, std::uint64_t bytes) {
#ifdef REGSWEEP_TEST_HOOKS
  // Test builds only: make a small store as slow as a big one, so that a test in a terminal
  // sees the progress line (REGSWEEP_TEST_SLOW_PROGRESS_MS per step).
  static const long slow_ms = [] {
    const char* v = std::getenv("REGSWEEP_TEST_SLOW_PROGRESS_MS");
    return v ? std::strtol(v, nullptr, 10) : 0L;
  }();
  if (slow_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
#endif
  items_.fetch_add(items, std::memory_order_relaxed);
  if (bytes) bytes_.fetch_add(bytes, std::memory_order_relaxed);
}

void TerminalProgress::done() {
  std::lock_guard lock(mutex_);
  if (shown_) err_ << "\r\033[K" << std::flush;
  shown_ = false;
  phase_.clear();
}

void TerminalProgress::draw(bool) {
  // Called with mutex_ held. Nothing is shown for phases shorter than half a second.
  double secs = static_cast<double>(now_ns() - started_ns_) / 1e9;
  if (secs < 0.5) return;
  std::uint64_t items = items_.load(), bytes = bytes_.load();
  char line[200];
  std::snprintf(line, sizeof line, "regsweep: %s: %llu items (%.0f/s)", phase_.c_str(), static_cast<unsigned long long>(items),
                static_cast<double>(items) / secs);
  std::string text = line;
  const std::uint64_t total = total_.load();
  if (total > items && items > 0) {
    const double left_s = static_cast<double>(total - items) * secs / static_cast<double>(items);
    std::snprintf(line, sizeof line, " of %llu, about %.0f s left", static_cast<unsigned long long>(total), left_s);
    text += line;
  }
  if (bytes) text += ", " + util::human_bytes(bytes) + " (" + util::human_bytes(static_cast<std::uint64_t>(static_cast<double>(bytes) / secs)) + "/s)";
  if (traffic_) {
    const Traffic t = traffic_();
    const std::uint64_t in_phase = t.requests - std::min(t.requests, requests_at_phase_);
    std::snprintf(line, sizeof line, "; %llu requests", static_cast<unsigned long long>(t.requests));
    text += line;
    if (t.retries) text += " (" + std::to_string(t.retries) + " retried)";
    if (t.bytes) text += ", " + util::human_bytes(t.bytes);
    if (total > items && items > 0 && in_phase > 0)
      text += ", about " + std::to_string(in_phase * (total - items) / items) + " more";
  }
  err_ << "\r\033[K" << text << std::flush;
  shown_ = true;
}

}  // namespace regsweep::cli
