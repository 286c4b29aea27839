#include "bytes_text.hpp"

#include <stdexcept>

#include "libshm/error.hpp"
#include "libshm/hex.hpp"

namespace shm {

namespace detail {

int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string shown(std::string_view bytes, std::size_t max_bytes) {
  std::string text;
  for (unsigned char c : bytes.substr(0, max_bytes)) {
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      text += static_cast<char>(c);
    } else {
      text += "\\x";
      append_hex(text, c);
    }
  }
  if (bytes.size() > max_bytes) text += "...";
  return text;
}

char repr_quote(std::string_view text) noexcept {
  const bool single = text.find('\'') != std::string_view::npos;
  const bool dbl = text.find('"') != std::string_view::npos;
  return single && !dbl ? '"' : '\'';
}

bool append_ascii_repr(std::string& out, unsigned c, char quote) {
  if (c >= 0x80) return false;
  if (c == '\\' || c == static_cast<unsigned char>(quote)) {
    out += '\\';
    out += static_cast<char>(c);
  } else if (c == '\t') {
    out += "\\t";
  } else if (c == '\n') {
    out += "\\n";
  } else if (c == '\r') {
    out += "\\r";
  } else if (c < 0x20 || c == 0x7F) {
    out += "\\x";
    append_hex(out, c);
  } else {
    out += static_cast<char>(c);
  }
  return true;
}

}  // namespace detail

namespace {

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
    shown = "byte 0x";
    detail::append_hex(shown, c);
  }
  throw InvalidArgument(Errc::invalid_argument, "invalid hex: " + what + " " + shown +
                                                    " at position " + std::to_string(at));
}

}  // namespace

std::string to_hex(std::span<const std::byte> bytes) {
  std::string text;
  text.reserve(bytes.size() * 2);
  for (std::byte b : bytes) detail::append_hex(text, std::to_integer<unsigned>(b));
  return text;
}

std::string to_hex(std::string_view bytes) {
  return to_hex(std::as_bytes(std::span(bytes.data(), bytes.size())));
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
    const int high = detail::hex_digit_value(hex[i]);
    if (high < 0) bad_hex(hex, i, "non-hex character");
    if (i + 1 == hex.size()) {
      throw InvalidArgument(Errc::invalid_argument,
                            "invalid hex: odd number of digits (the last byte at position " +
                                std::to_string(i) + " has one digit)");
    }
    const int low = detail::hex_digit_value(hex[i + 1]);
    if (low < 0) bad_hex(hex, i + 1, "non-hex character");
    bytes.push_back(static_cast<std::byte>(high * 16 + low));
    i += 2;
  }
  return bytes;
}

}  // namespace shm
