// UTF-8 as CPython's strict "utf-8" codec sees it (private header).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace shm::detail {

/// The number of code points in `text` if it is well-formed UTF-8 by the rules of CPython's
/// strict decoder (no overlong forms, no surrogates U+D800-U+DFFF, nothing above U+10FFFF);
/// std::nullopt otherwise. CPython sizes a str slot by this count (len(str)).
std::optional<std::size_t> utf8_code_points(std::string_view text) noexcept;

/// Where `text` stops being well-formed UTF-8: the byte offset of the first bad sequence, or
/// text.size() if it is all well-formed. Used to say where a decode failed.
std::size_t utf8_valid_prefix(std::string_view text) noexcept;

/// Decodes the code point starting at text[at], which must be well-formed, and advances `at`.
char32_t utf8_next(std::string_view text, std::size_t& at) noexcept;

}  // namespace shm::detail

namespace shm::detail {

/// Appends the UTF-8 encoding of `cp` (at most U+10FFFF, not a surrogate) to `out`.
void utf8_append(std::string& out, char32_t cp);

}  // namespace shm::detail
