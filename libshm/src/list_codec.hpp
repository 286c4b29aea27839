// One ShareableList item in its slot: format strings, type codes and the slot's bytes
// (private header).
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "libshm/detail/list_words.hpp"
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
  /// Appends text() to `out` without a temporary string (ShareableList::format, per item).
  void append_text(std::string& out) const;
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
  Format format;            // also gives the bytes the slot write covers
  Code code = Code::plain;  // the type code
  std::uint64_t word = 0;   // an int's, float's, bool's or None's 8 bytes
  std::string_view chars;   // a str's UTF-8 or a bytes' data ("<k>s" only)
};

/// Encodes item `index` of a new list. A str's slot is sized as CPython sizes it, by its
/// code points, unless its UTF-8 would not fit: then by its UTF-8 length (never truncated).
/// Throws std::invalid_argument for a str that is not UTF-8, a str/bytes longer than
/// kMaxPayload, or (strict) one ending in NUL. `chars` views into `item`.
Encoded encode_new(const Item& item, std::size_t index, bool strict);

/// Encodes `value` for assignment to the item at `ref` whose format string is now
/// `current_format` (its raw word), with CPython's rules (docs/format.md): scalars get their
/// own format; a str/bytes keeps the current "<k>s" format and must fit in k bytes, and in a
/// slot holding anything else gets "<allocation>s". Validates everything, writes nothing.
/// Throws std::invalid_argument if the value does not fit or is refused, LayoutError if the
/// slot cannot hold it at all. `chars` views into `value`.
Encoded encode_set(const Item& value, const SlotRef& ref, std::uint64_t current_format,
                   bool strict);

/// Writes an encoded item at `ref`, in CPython's order: format string, type code, value
/// (NUL-padded to the format's length; slot bytes past it are left as they are).
void write_item(std::span<std::byte> block, const SlotRef& ref, const Encoded& item);

/// Reads and validates the format string of the item at `ref`: it must be one CPython writes
/// and fit in the slot. Throws LayoutError otherwise.
Format read_format(std::span<const std::byte> block, const SlotRef& ref);

/// read_format for a block read with pread (FileWords): the same checks and errors.
Format read_format(const FileWords& file, const SlotRef& ref);

// format_word and the scalar format words: libshm/detail/list_words.hpp.

// ---------------------------------------------------------------------------------------------
// The scalar codec: how int, float, bool and None sit in a slot. The inline fast paths (get,
// set, view, get_as, the Python module) and the full checked paths of list_codec.cpp all use
// these functions, so there is one encoding and one decoding.

/// Calls `on_scalar(kind)` with the scalar kind of a format word as a compile-time constant
/// (a std::integral_constant), so that the fast paths compile to one compare per format and
/// straight-line code for each, or `otherwise()` for any other word. Both return one type.
template <class OnScalar, class Otherwise>
[[gnu::always_inline]] constexpr auto dispatch_scalar(std::uint64_t format, OnScalar&& on_scalar,
                                                      Otherwise&& otherwise) {
  using Kind = Format::Kind;
  if (format == kIntWord) return on_scalar(std::integral_constant<Kind, Kind::int64>{});
  if (format == kFloatWord) return on_scalar(std::integral_constant<Kind, Kind::float64>{});
  if (format == kBoolWord) return on_scalar(std::integral_constant<Kind, Kind::boolean>{});
  if (format == kNoneWord) return on_scalar(std::integral_constant<Kind, Kind::none>{});
  return otherwise();
}

/// The scalar kind of a format word, or nothing for any other word.
constexpr std::optional<Format::Kind> scalar_kind(std::uint64_t format) noexcept {
  return dispatch_scalar(
      format, [](auto kind) -> std::optional<Format::Kind> { return kind(); },
      []() -> std::optional<Format::Kind> { return std::nullopt; });
}

/// The length k of a "<k>s" format word in CPython's spelling (decimal without a sign or a
/// leading zero, then 's', NUL-padded), or 0 for any other word: struct would accept "08s" or
/// "0s", but no CPython writes them, so they mean the block is damaged.
[[gnu::always_inline]] constexpr std::size_t chars_length(std::uint64_t word) noexcept {
  // In registers, byte by byte from the format's first character: no copy to memory to index.
  if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
  if ((word & 0xff) == '0') return 0;  // a leading zero
  std::size_t k = 0;
  std::size_t i = 0;
  for (; i < kWord; ++i, word >>= 8) {
    const auto digit = static_cast<unsigned>(word & 0xff) - unsigned{'0'};
    if (digit > 9) break;
    k = 10 * k + digit;
  }
  // Then 's', and only NULs after it.
  if (i == 0 || i == kWord || (word & 0xff) != 's' || (word >> 8) != 0) return 0;
  return k;
}

/// `data` without its trailing NULs, which every reader strips (the format stores no length:
/// gh-106939). Checks a word at a time from the end: a str's slot is NUL-padded to a multiple
/// of 8.
[[gnu::always_inline]] inline std::string_view strip_trailing_nuls(std::string_view data) noexcept {
  std::size_t n = data.size();
  while (n >= kWord) {
    std::uint64_t word;
    std::memcpy(&word, data.data() + n - kWord, kWord);
    if (word != 0) {
      // The last byte in memory is the word's most significant on a little-endian machine.
      const int zero_bits = std::endian::native == std::endian::little ? std::countl_zero(word)
                                                                       : std::countr_zero(word);
      return data.substr(0, n - static_cast<std::size_t>(zero_bits) / 8);
    }
    n -= kWord;
  }
  while (n > 0 && data[n - 1] == '\0') --n;
  return data.substr(0, n);
}

/// The format a raw format word holds if it is one CPython writes, else nothing.
constexpr std::optional<Format> format_of_word(std::uint64_t word) noexcept {
  if (const auto kind = scalar_kind(word)) return Format{*kind, kWord};
  if (const std::size_t k = chars_length(word)) return Format{Format::Kind::chars, k};
  return std::nullopt;
}

/// What CPython writes for a scalar item: its format word, type code and slot word.
struct ScalarSlot {
  std::uint64_t format;  // kIntWord, kFloatWord, kBoolWord or kNoneWord
  Code code;             // plain, or none for None
  std::uint64_t word;    // the slot's first 8 bytes
};

/// The slot of a scalar item (int "q", float "d", bool "xxxxxxx?" with 0 or 1 in byte 7, None
/// "xxxxxx?x" with code 3 and zeros), or nothing for str and bytes.
inline std::optional<ScalarSlot> scalar_slot(const Item& item) noexcept {
  switch (item.index()) {
    case 0:
      return ScalarSlot{kNoneWord, Code::none, 0};
    case 1: {
      std::array<std::byte, kWord> bytes{};
      bytes[kWord - 1] = std::byte{*std::get_if<bool>(&item) ? std::uint8_t{1} : std::uint8_t{0}};
      return ScalarSlot{kBoolWord, Code::plain, std::bit_cast<std::uint64_t>(bytes)};
    }
    case 2:
      return ScalarSlot{kIntWord, Code::plain,
                        static_cast<std::uint64_t>(*std::get_if<std::int64_t>(&item))};
    case 3:
      return ScalarSlot{kFloatWord, Code::plain,
                        std::bit_cast<std::uint64_t>(*std::get_if<double>(&item))};
    default:
      return std::nullopt;
  }
}

/// What CPython unpacks with type code 0 from a slot word of scalar format `kind`, as an Item
/// or an ItemView (returned, so that it is built in the caller's result): struct "?" is true
/// for any non-zero byte, and None's format read with code 0 gives the '?' in byte 6.
template <class Value>
[[gnu::always_inline]] inline Value scalar_value(Format::Kind kind, std::uint64_t word) noexcept {
  const auto bytes = std::bit_cast<std::array<std::byte, kWord>>(word);
  if (kind == Format::Kind::int64) return static_cast<std::int64_t>(word);
  if (kind == Format::Kind::float64) return std::bit_cast<double>(word);
  if (kind == Format::Kind::boolean) return bytes[kWord - 1] != std::byte{0};
  return bytes[kWord - 2] != std::byte{0};
}

// load_shared_word and store_shared_word: libshm/detail/list_words.hpp.

/// encode_set + write_item's fast path, inlined into ShareableList::set: an int, float, bool
/// or None value into a slot of at least 8 bytes gets CPython's format word, type code and
/// value, written in write_item's order (format, code, value). Returns false, writing nothing,
/// for str and bytes values and for slots smaller than a word (the full path decides those).
[[gnu::always_inline]] inline bool write_scalar_fast(std::span<std::byte> block, const SlotRef& ref,
                                                     const Item& value) noexcept {
  if (ref.allocation() < kWord) return false;
  const std::optional<ScalarSlot> scalar = scalar_slot(value);
  if (!scalar) return false;
  store_shared_word(block.data() + ref.format_at, scalar->format);
  block[ref.code_at] = static_cast<std::byte>(scalar->code);
  store_shared_word(block.data() + ref.begin, scalar->word);
  return true;
}

/// Reads the item at `ref` as CPython reads it: its format and type code are read now and
/// validated, and the value is unpacked with the format and turned back by the code. Throws
/// LayoutError where CPython would fail with an error of the block (an unknown code, a code
/// that cannot apply to the format), DecodeError for a str slot that is not UTF-8.
Item read_item(std::span<const std::byte> block, const SlotRef& ref);

/// read_item for a block read with pread (FileWords): the same checks, results and errors.
Item read_item(const FileWords& file, const SlotRef& ref);

/// read_item with a fast path inlined into ShareableList::get: a scalar format word with type
/// code 0 or 3 (None) in a slot of at least 8 bytes is read here, in read_item's order
/// (format, code, value); anything else (str, bytes, irregular slots) goes to read_item, with
/// all its checks and messages.
[[gnu::always_inline]] inline Item read_item_fast(std::span<const std::byte> block,
                                                  const SlotRef& ref) {
  if (ref.allocation() >= kWord) {
    const std::uint64_t format = load_shared_word(block.data() + ref.format_at);
    const auto code = static_cast<std::int8_t>(block[ref.code_at]);
    if (code == static_cast<std::int8_t>(Code::plain)) {
      return dispatch_scalar(
          format,
          [&](auto kind) -> Item {
            return scalar_value<Item>(kind, load_shared_word(block.data() + ref.begin));
          },
          [&]() -> Item { return read_item(block, ref); });
    }
    if (code == static_cast<std::int8_t>(Code::none) && scalar_kind(format)) return None{};
  }
  return read_item(block, ref);
}

}  // namespace shm::detail
