// How libshm writes bytes as text (private): hex digits, bytes shown in messages, and the ASCII
// escapes of CPython's repr(). Every hex digit and every \xNN the library prints comes from here;
// the public half (to_hex, from_hex) is libshm/hex.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace shm::detail {

inline constexpr char kHexDigits[] = "0123456789abcdef";

/// Appends `value` as `width` lowercase hex digits, most significant first ("%0*x").
inline void append_hex(std::string& out, std::uint32_t value, int width = 2) {
  for (int shift = 4 * (width - 1); shift >= 0; shift -= 4)
    out += kHexDigits[(value >> shift) & 15];
}

/// The value of one hex digit of either case, or -1.
int hex_digit_value(char c) noexcept;

/// The bytes for an error message: printable ASCII other than ' and \ as it is, every other byte
/// as \xNN, so that the text is unambiguous inside quotes; at most `max_bytes` bytes, then "...".
std::string shown(std::string_view bytes, std::size_t max_bytes = 64);

/// The quote CPython's repr() of a str or bytes picks: ', unless the text has a ' and no ".
char repr_quote(std::string_view text) noexcept;

/// Appends CPython's repr() spelling of one ASCII character inside `quote`s (\\, \', \t, \n, \r,
/// \xNN for other controls); returns false, appending nothing, for c ≥ 0x80.
bool append_ascii_repr(std::string& out, unsigned c, char quote);

}  // namespace shm::detail
