// Block names: CPython's naming rules and libshm's stricter validation (private header).
#pragma once

#include <string>
#include <string_view>

namespace shm::detail {

/// Longest name after the leading slash that shm_open accepts on Linux (NAME_MAX).
inline constexpr std::size_t kMaxNameBytes = 255;

/// The name as the caller means it: one leading '/' (the C convention) is dropped, so "/x"
/// and "x" are the same block, whose CPython name is "x". Throws std::invalid_argument if the
/// result is not a name every CPython can round-trip.
std::string normalize_name(std::string_view name);

/// A fresh CPython-style default name: "psm_" followed by 8 random lowercase hex digits.
std::string random_name();

/// What a file of mode `mode` is, for messages: "a FIFO", "a directory", "a socket", ...
std::string file_type_text(unsigned mode);

/// The name as the OS and CPython's tracker see it: "/" + name.
inline std::string os_name(std::string_view name) {
  return "/" + std::string(name);
}

}  // namespace shm::detail
