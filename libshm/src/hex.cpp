#include "libshm/hex.hpp"

#include <stdexcept>

namespace shm {

namespace {

// The value of one hex digit, or -1.
int digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's ASCII whitespace: space, \t, \n, \v, \f, \r.
bool is_space(char c) noexcept {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

[[noreturn]] void bad_hex(std::string_view hex, std::size_t at, const std::string& what) {
  const auto c = static_cast<unsigned char>(hex[at]);
  std::string shown;
  if (c >= 0x20 && c < 0x7f) {
    shown = std::string("'") + static_cast<char>(c) + "'";
  } else {
    static constexpr char kDigits[] = "0123456789abcdef";
    shown = std::string("byte 0x") + kDigits[c >> 4] + kDigits[c & 15];
  }
  throw std::invalid_argument("invalid hex: " + what + " " + shown + " at position " +
                              std::to_string(at));
}

}  // namespace

std::string to_hex(std::span<const std::byte> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (std::byte b : bytes) {
    const auto v = std::to_integer<unsigned>(b);
    text += kDigits[v >> 4];
    text += kDigits[v & 15];
  }
  return text;
}

std::vector<std::byte> from_hex(std::string_view hex) {
  std::vector<std::byte> bytes;
  bytes.reserve(hex.size() / 2);
  std::size_t i = 0;
  while (i < hex.size()) {
    if (is_space(hex[i])) {
      ++i;
      continue;
    }
    const int high = digit_value(hex[i]);
    if (high < 0) bad_hex(hex, i, "non-hex character");
    if (i + 1 == hex.size()) {
      throw std::invalid_argument("invalid hex: odd number of digits (the last byte at position " +
                                  std::to_string(i) + " has one digit)");
    }
    const int low = digit_value(hex[i + 1]);
    if (low < 0) bad_hex(hex, i + 1, "non-hex character");
    bytes.push_back(static_cast<std::byte>(high * 16 + low));
    i += 2;
  }
  return bytes;
}

}  // namespace shm
