// The two ShareableList block layouts, where a list block's parts are, and the errors for a block
// that is not a valid list or holds an undecodable str (docs/format.md, "ShareableList layout 3.9+"
// and "ShareableList layout 3.8"). The lowest layer of the list API: it includes nothing of
// libshm's own but the error model (error.hpp), so the layout code and tools can use it without
// the whole list class.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "libshm/error.hpp"

namespace shm {

/// The two block layouts CPython has used.
enum class Layout {
  v38,  ///< CPython 3.8: a table of N per-item sizes after the count
  v39,  ///< CPython 3.9 – 3.13: a table of N+1 cumulative offsets after the count (default)
};

/// "3.8" or "3.9+".
std::string_view to_string(Layout layout) noexcept;

/// The layout a user names: "3.8", or "3.9" / "3.9+" (the spelling to_string gives); nullopt
/// for anything else. The one parser of layout names (the CLI, the Python module, the agents).
std::optional<Layout> parse_layout(std::string_view text) noexcept;

/// A block that is not a valid ShareableList (corrupted, truncated, or not a list at all):
/// Errc::corrupt_block. what() says what is wrong and where, e.g.
/// "offset 24: item 2's offset 8 is below item 1's offset 16".
class LayoutError : public CorruptBlockError {
 public:
  using CorruptBlockError::CorruptBlockError;
};

/// A str item whose stored bytes are not UTF-8, so it has no value (CPython raises
/// UnicodeDecodeError, e.g. for a slot where it cut a character in two: gh-88336):
/// Errc::decode, with offset() the slot's first byte in the block. The block itself is sound;
/// other items stay readable.
class DecodeError : public std::invalid_argument, public Error {
 public:
  DecodeError(std::size_t offset, const std::string& what)
      : std::invalid_argument(what), Error(Errc::decode, offset) {}
};

/// Where the parts of a list block are, as byte offsets into the block.
struct ListRegions {
  Layout layout;        ///< the block's layout
  std::size_t count;    ///< N, the number of items (the word at offset 0)
  std::size_t table;    ///< N+1 offsets (3.9+) or N sizes (3.8), starting at byte 8
  std::size_t data;     ///< the item slots
  std::size_t formats;  ///< N format strings of 8 bytes
  std::size_t codes;    ///< N one-byte type codes
  std::size_t end;      ///< one past the last code: the size CPython gives such a block
};

}  // namespace shm
