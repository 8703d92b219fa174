#pragma once
// A relative path built on the stack ("<hex>/link"): the walk composes one per file and
// must not allocate for it.
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace regsweep::util {

class SmallPath {
 public:
  SmallPath() = default;
  template <typename... Parts>
  explicit SmallPath(Parts... parts) {
    (append(parts), ...);
  }
  SmallPath& append(std::string_view part) {
    if (len_ + part.size() >= sizeof buf_) throw std::length_error("path too long");
    std::memcpy(buf_ + len_, part.data(), part.size());
    len_ += part.size();
    buf_[len_] = '\0';
    return *this;
  }
  std::string_view view() const { return {buf_, len_}; }
  operator std::string_view() const { return view(); }  // NOLINT: meant to pass as a view

 private:
  char buf_[512] = {};
  std::size_t len_ = 0;
};

}  // namespace regsweep::util
