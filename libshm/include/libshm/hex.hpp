// Hex text for bytes: how libshm's tools, tests and JSON formats write binary data.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shm {

/// The bytes as lowercase hex, two digits a byte and no separators (Python's bytes.hex()).
std::string to_hex(std::span<const std::byte> bytes);
/// The same for bytes held in a string (a pickle, a block's raw slot).
std::string to_hex(std::string_view bytes);

/// Parses hex as Python's bytes.fromhex does: two digits a byte, either case, with ASCII
/// whitespace allowed between bytes (not inside one), so "0a ff\n" is {0x0a, 0xff}.
/// Throws std::invalid_argument naming the offending character and its position.
std::vector<std::byte> from_hex(std::string_view hex);

}  // namespace shm
