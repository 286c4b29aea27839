#include "version.hpp"

#include <charconv>

namespace harness {

namespace {

// Reads a decimal number at `at`; false if there is none.
bool number(std::string_view text, std::size_t& at, int& out) {
  const char* first = text.data() + at;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, out);
  if (ec != std::errc() || end == first || out < 0) return false;
  at += static_cast<std::size_t>(end - first);
  return true;
}

}  // namespace

std::optional<Version> Version::parse(std::string_view text) {
  if (!text.empty() && text.back() == '+') text.remove_suffix(1);
  Version v;
  std::size_t at = 0;
  if (!number(text, at, v.major) || at >= text.size() || text[at] != '.') return std::nullopt;
  ++at;
  if (!number(text, at, v.minor)) return std::nullopt;
  if (at < text.size() && text[at] == '.') {
    ++at;
    if (!number(text, at, v.micro)) return std::nullopt;
  }
  if (at < text.size()) {
    std::string_view rest = text.substr(at);
    if (rest.rfind("rc", 0) == 0) {
      v.level = 2;
      at += 2;
    } else if (rest[0] == 'a' || rest[0] == 'b') {
      v.level = rest[0] == 'a' ? 0 : 1;
      at += 1;
    } else {
      return std::nullopt;
    }
    if (!number(text, at, v.serial) || at != text.size()) return std::nullopt;
  }
  return v;
}

std::string Version::str() const {
  std::string s = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro);
  static constexpr const char* kLevels[] = {"a", "b", "rc"};
  if (level < 3) s += kLevels[level] + std::to_string(serial);
  return s;
}

}  // namespace harness
