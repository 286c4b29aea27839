// UTF-8 validation with exactly the strictness of CPython's decoder, so that a str libshm
// accepts is one CPython can encode and a slot libshm decodes is one CPython decodes.
#include "utf8.hpp"

#include <cstdint>
#include <cstring>

namespace shm::detail {
namespace {

// The length of the run of ASCII bytes at the start of text[at...], in whole 8-byte words: the
// common case (names, keys, numbers as text) costs one load and test per 8 bytes instead of
// one sequence_length() per byte. The caller goes on byte by byte from the returned offset.
std::size_t skip_ascii_words(std::string_view text, std::size_t at) noexcept {
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
  while (text.size() - at >= 8) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + at, 8);
    if ((word & kHighBits) != 0) break;
    at += 8;
  }
  return at;
}

// Length of the well-formed sequence starting at text[at], or 0 if it is malformed. The
// ranges are those of Unicode's table 3-7 ("well-formed UTF-8 byte sequences"), which is
// what CPython's decoder enforces.
std::size_t sequence_length(std::string_view text, std::size_t at) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[at + k]); };
  const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return at + k < text.size() && byte(k) >= lo && byte(k) <= hi;
  };
  const unsigned lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return cont(1) ? 2 : 0;
  if (lead == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;        // no overlongs
  if (lead == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;  // no surrogates
  if (lead >= 0xE1 && lead <= 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (lead == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;        // no overlongs
  if (lead == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;  // ≤ U+10FFFF
  if (lead >= 0xF1 && lead <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  return 0;  // 0x80-0xC1 (continuation or overlong lead) and 0xF5-0xFF never start a sequence
}

}  // namespace

// The two validators start on a 64-byte boundary: their 8-bytes-a-step ASCII loop is a few
// dozen bytes of code whose speed depends on not straddling a cache line (on the AMD EPYC CI
// machine, a str of 1000 characters read 25 % slower when an unrelated change moved the loop
// across one), so its place is fixed instead of left to whatever comes before it.
[[gnu::aligned(64)]] std::optional<std::size_t> utf8_code_points(std::string_view text) noexcept {
  std::size_t count = 0;
  for (std::size_t at = 0; at < text.size(); ++count) {
    if (const std::size_t ascii_end = skip_ascii_words(text, at); ascii_end != at) {
      count += ascii_end - at;  // one code point per ASCII byte
      at = ascii_end;
      if (at == text.size()) break;
    }
    const std::size_t n = sequence_length(text, at);
    if (n == 0) return std::nullopt;
    at += n;
  }
  return count;
}

[[gnu::aligned(64)]] std::size_t utf8_valid_prefix(std::string_view text) noexcept {
  std::size_t at = 0;
  while (at < text.size()) {
    at = skip_ascii_words(text, at);
    if (at == text.size()) break;
    const std::size_t n = sequence_length(text, at);
    if (n == 0) break;
    at += n;
  }
  return at;
}

char32_t utf8_next(std::string_view text, std::size_t& at) noexcept {
  const auto byte = [&](std::size_t k) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[at + k]));
  };
  const char32_t lead = byte(0);
  char32_t cp = 0;
  if (lead < 0x80) {
    cp = lead;
    at += 1;
  } else if (lead < 0xE0) {
    cp = ((lead & 0x1F) << 6) | (byte(1) & 0x3F);
    at += 2;
  } else if (lead < 0xF0) {
    cp = ((lead & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    at += 3;
  } else {
    cp = ((lead & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
         (byte(3) & 0x3F);
    at += 4;
  }
  return cp;
}

}  // namespace shm::detail

namespace shm::detail {

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace shm::detail
