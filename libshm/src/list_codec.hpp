// One ShareableList item in its slot: format strings, type codes and the slot's bytes
// (private header).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "libshm/item.hpp"
#include "list_layout.hpp"

namespace shm::detail {

/// The longest str (in UTF-8 bytes) or bytes a ShareableList item can hold: its allocation
/// 8·(len//8 + 1) is written as the format "<k>s", which must fit in 8 characters, so
/// k ≤ 9,999,992 (CPython asserts this; under -O it writes an unreadable item).
inline constexpr std::size_t kMaxPayload = 9'999'991;

/// A packing format CPython writes, parsed. Nothing else is accepted when reading.
struct Format {
  /// What the format packs: int "q", float "d", bool "xxxxxxx?", None "xxxxxx?x", str or
  /// bytes "<k>s".
  enum class Kind : std::uint8_t { int64, float64, boolean, none, chars };
  Kind kind = Kind::int64;
  std::size_t length = kWord;  // bytes it packs: 8, or k for "<k>s"

  /// The format string, e.g. "q" or "16s".
  [[nodiscard]] std::string text() const;
};

/// The back-transform codes CPython stores after the formats (one signed byte each).
enum class Code : std::int8_t {
  plain = 0,  ///< int, float, bool: the unpacked value as is
  str = 1,    ///< trailing NULs stripped, then UTF-8 decoded
  bytes = 2,  ///< trailing NULs stripped
  none = 3,   ///< None, whatever the slot holds
};

/// Where item `index` lives in a block: its slot, format string and type code.
struct SlotRef {
  std::size_t index = 0;      // the item's position in the list
  std::size_t begin = 0;      // first byte of its slot
  std::size_t end = 0;        // one past the slot's last byte
  std::size_t format_at = 0;  // its 8-byte format string
  std::size_t code_at = 0;    // its type code

  /// The slot's size: its allocation.
  [[nodiscard]] std::size_t allocation() const noexcept { return end - begin; }
};

/// Item i's place in a block of geometry `g`.
SlotRef slot_ref(const ListGeometry& g, std::size_t i) noexcept;

/// An item ready to be written: what goes into its format string, type code and slot.
struct Encoded {
  Format format;                        // also gives the bytes the slot write covers
  Code code = Code::plain;              // the type code
  std::array<std::byte, kWord> word{};  // the 8 bytes of an int, float, bool or None
  std::string_view chars;               // a str's UTF-8 or a bytes' data ("<k>s" only)
};

/// Encodes item `index` of a new list. A str's slot is sized as CPython sizes it, by its
/// code points, unless its UTF-8 would not fit: then by its UTF-8 length (never truncated).
/// Throws std::invalid_argument for a str that is not UTF-8, a str/bytes longer than
/// kMaxPayload, or (strict) one ending in NUL. `chars` views into `item`.
Encoded encode_new(const Item& item, std::size_t index, bool strict);

/// Encodes `value` for assignment to the item at `ref` whose format string is now
/// `current_format` (8 raw bytes), with CPython's rules (reference §2.5): scalars get their
/// own format; a str/bytes keeps the current "<k>s" format and must fit in k bytes, and in a
/// slot holding anything else gets "<allocation>s". Validates everything, writes nothing.
/// Throws std::invalid_argument if the value does not fit or is refused, LayoutError if the
/// slot cannot hold it at all. `chars` views into `value`.
Encoded encode_set(const Item& value, const SlotRef& ref,
                   std::span<const std::byte, kWord> current_format, bool strict);

/// Writes an encoded item at `ref`, in CPython's order: format string, type code, value
/// (NUL-padded to the format's length; slot bytes past it are left as they are).
void write_item(std::span<std::byte> block, const SlotRef& ref, const Encoded& item);

/// Reads and validates the format string of the item at `ref`: it must be one CPython writes
/// and fit in the slot. Throws LayoutError otherwise.
Format read_format(std::span<const std::byte> block, const SlotRef& ref);

/// Reads the item at `ref` as CPython reads it: its format and type code are read now and
/// validated, and the value is unpacked with the format and turned back by the code. Throws
/// LayoutError where CPython would fail with an error of the block (an unknown code, a code
/// that cannot apply to the format), DecodeError for a str slot that is not UTF-8.
Item read_item(std::span<const std::byte> block, const SlotRef& ref);

}  // namespace shm::detail
