#pragma once
// An immutable string kept once per distinct value for the whole process (interned): a 4-byte
// number, copied for nothing, equal when its number is. Plans hold one action per swept blob or link,
// and most of their strings (a reason, a repository, a part) repeat from action to action: a
// gc plan of 200,000 actions holds a few thousand distinct strings. Interned strings are never
// freed; hold in a Text only what repeats or what a plan keeps anyway.
#include <compare>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace regsweep::util {

class Text {
 public:
  Text() noexcept = default;  // ""
  explicit Text(std::string_view value) : id_(intern(value)) {}
  Text& operator=(std::string_view value) { return *this = Text(value); }

  const std::string& str() const noexcept { return lookup(id_); }
  operator const std::string&() const noexcept { return str(); }  // NOLINT: meant to pass as a string
  operator std::string_view() const noexcept { return str(); }    // NOLINT: meant to pass as a view

  bool empty() const noexcept { return id_ == 0; }
  std::size_t size() const noexcept { return str().size(); }
  const char* c_str() const noexcept { return str().c_str(); }
  const char* data() const noexcept { return str().data(); }
  std::string::const_iterator begin() const noexcept { return str().begin(); }
  std::string::const_iterator end() const noexcept { return str().end(); }
  std::size_t find(std::string_view what, std::size_t from = 0) const noexcept { return str().find(what, from); }
  std::size_t find(char c, std::size_t from = 0) const noexcept { return str().find(c, from); }
  std::size_t rfind(char c, std::size_t from = std::string::npos) const noexcept { return str().rfind(c, from); }
  bool starts_with(std::string_view p) const noexcept { return std::string_view(str()).starts_with(p); }
  bool ends_with(std::string_view p) const noexcept { return std::string_view(str()).ends_with(p); }

  // Interned: equal values have the same number.
  friend bool operator==(const Text& a, const Text& b) noexcept { return a.id_ == b.id_; }
  friend std::strong_ordering operator<=>(const Text& a, const Text& b) noexcept { return a.str() <=> b.str(); }
  friend bool operator==(const Text& a, std::string_view b) noexcept { return std::string_view(a.str()) == b; }
  friend std::strong_ordering operator<=>(const Text& a, std::string_view b) noexcept { return std::string_view(a.str()) <=> b; }

  friend std::string operator+(const Text& a, const Text& b) { return a.str() + b.str(); }
  friend std::string operator+(const Text& a, std::string_view b) { return concat(a.str(), b); }
  friend std::string operator+(std::string_view a, const Text& b) { return concat(a, b.str()); }
  friend std::string operator+(const Text& a, char b) { return a.str() + b; }
  friend std::string operator+(char a, const Text& b) { return a + b.str(); }
  friend std::ostream& operator<<(std::ostream& o, const Text& t) { return o << t.str(); }

 private:
  static std::uint32_t intern(std::string_view value);
  static const std::string& lookup(std::uint32_t id) noexcept;
  static std::string concat(std::string_view a, std::string_view b) {
    std::string out;
    out.reserve(a.size() + b.size());
    out.append(a).append(b);
    return out;
  }

  std::uint32_t id_ = 0;
};

}  // namespace regsweep::util

template <>
struct std::hash<regsweep::util::Text> {
  std::size_t operator()(const regsweep::util::Text& t) const noexcept { return std::hash<std::string>()(t.str()); }
};
