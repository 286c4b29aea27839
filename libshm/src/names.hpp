// Block names (private header): what only the implementation needs beside shm::BlockName.
#pragma once

#include <string>
#include <string_view>

namespace shm::detail {

/// Longest name after the leading slash that shm_open accepts on Linux (NAME_MAX).
inline constexpr std::size_t kMaxNameBytes = 255;

/// What a file of mode `mode` is, for messages: "a FIFO", "a directory", "a socket", ...
std::string file_type_text(unsigned mode);

}  // namespace shm::detail
