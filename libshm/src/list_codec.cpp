// Items in their slots, exactly as CPython's ShareableList packs and unpacks them
// (docs/format.md, "ShareableList: the items"): the format strings, the type codes, and the bytes
// of each type.
//
// Reading treats the block as hostile and changing under us (another process may write it at
// any time): each part is copied out of the block once, then validated, then used, so a value
// is never built from bytes that were checked at a different moment.
#include "list_codec.hpp"

#include <atomic>
#include <bit>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "bytes_text.hpp"
#include "libshm/error.hpp"
#include "utf8.hpp"

namespace shm::detail {
namespace {

// The longest k in "<k>s" whose format fits in 8 characters.
constexpr std::size_t kMaxChars = 9'999'999;

// CPython's allocation for a str/bytes of `n` units: always one more 8-byte block than needed,
// so an empty value gets 8 and a value of 8 gets 16.
constexpr std::size_t allocation_for(std::size_t n) noexcept {
  return kWord * (n / kWord + 1);
}

std::string item_label(std::size_t index) {
  return "item " + std::to_string(index);
}

// A format string's raw bytes as text for an error message: printable ASCII as is, anything
// else as \xNN, in quotes.
std::string quote_raw(std::string_view raw) {
  return "'" + shown(raw) + "'";
}

// The 8 format bytes without CPython's trailing-NUL padding.
std::string_view strip_format(std::span<const std::byte, kWord> raw) {
  std::string_view text(reinterpret_cast<const char*>(raw.data()), raw.size());
  while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  return text;
}

[[noreturn, gnu::cold, gnu::noinline]] void throw_format_too_long(const Format& format,
                                                                  const SlotRef& ref) {
  throw LayoutError(ref.format_at,
                    item_label(ref.index) + "'s format '" + format.text() + "' needs " +
                        std::to_string(format.length) + " bytes but its slot at offset " +
                        std::to_string(ref.begin) + " has " + std::to_string(ref.allocation()));
}

// The format of the item at `ref` from its raw format word, checked against the slot; throws
// LayoutError for a format CPython does not write or one that does not fit.
Format checked_format(std::uint64_t word, const SlotRef& ref) {
  const std::optional<Format> format = format_of_word(word);
  if (!format) [[unlikely]] {
    const auto raw = std::bit_cast<std::array<std::byte, kWord>>(word);
    const std::string_view text = strip_format(raw);
    const bool digits_only =
        !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
    throw LayoutError(ref.format_at,
                      item_label(ref.index) + "'s format " + quote_raw(text) +
                          " is not one CPython writes" +
                          (digits_only ? " (a \"<k>s\" format cut to 8 characters?)" : ""));
  }
  if (format->length > ref.allocation()) throw_format_too_long(*format, ref);
  return *format;
}

// Scalar and format words are loaded and stored atomically where aligned: why, in
// libshm/detail/list_words.hpp (load_shared_word, store_shared_word).

// The encoding of a scalar item (scalar_slot); false for str and bytes.
bool encode_scalar(const Item& item, Encoded& out) {
  const std::optional<ScalarSlot> scalar = scalar_slot(item);
  if (!scalar) return false;
  out.format = {*scalar_kind(scalar->format), kWord};
  out.code = scalar->code;
  out.word = scalar->word;
  return true;
}

// A str's UTF-8 or a bytes' data, validated for storage: UTF-8 (str), length, strict. Returns
// the payload and, for a str, its code-point count (bytes: its length). A refusal is `refused`:
// a bad argument of a create (CPython: AssertionError), a bad value for a set (ValueError).
std::pair<std::string_view, std::size_t> checked_payload(const Item& item, std::size_t index,
                                                         bool strict, Errc refused) {
  const bool is_str = std::holds_alternative<std::string>(item);
  const std::string_view data = is_str ? std::string_view(std::get<std::string>(item))
                                       : std::string_view(std::get<Bytes>(item).data);
  const char* kind = is_str ? "str" : "bytes";
  std::size_t units = data.size();
  if (is_str) {
    const auto points = utf8_code_points(data);
    if (!points) {
      throw InvalidArgument(refused, item_label(index) +
                                                     ": the str is not valid UTF-8 (bad byte at " +
                                                     std::to_string(utf8_valid_prefix(data)) + ")");
    }
    units = *points;
  }
  if (data.size() > kMaxPayload) {
    throw InvalidArgument(refused,
                          item_label(index) + ": a " + kind + " of " + std::to_string(data.size()) +
                              " bytes is longer than 9,999,991 bytes, the most a ShareableList "
                              "item can hold (its format \"<k>s\" must fit in 8 characters)");
  }
  if (strict && !data.empty() && data.back() == '\0') {
    throw InvalidArgument(
        refused,
        item_label(index) + ": the " + kind + " ends with NUL, which every reader strips (strict)");
  }
  return {data, units};
}

}  // namespace

std::string Format::text() const {
  std::string out;
  append_text(out);
  return out;
}

void Format::append_text(std::string& out) const {
  switch (kind) {
    case Kind::int64:
      out += 'q';
      break;
    case Kind::float64:
      out += 'd';
      break;
    case Kind::boolean:
      out += kBoolFormat;
      break;
    case Kind::none:
      out += kNoneFormat;
      break;
    default: {
      std::array<char, 24> digits;
      char* end = std::to_chars(digits.data(), digits.data() + digits.size(), length).ptr;
      out.append(digits.data(), static_cast<std::size_t>(end - digits.data()));
      out += 's';
    }
  }
}

SlotRef slot_ref(const ListGeometry& g, std::size_t i) noexcept {
  return {i, g.slots[i], g.slots[i + 1], g.formats + kWord * i, g.codes + i};
}

Encoded encode_new(const Item& item, std::size_t index, bool strict) {
  Encoded out;
  if (encode_scalar(item, out)) return out;
  const auto [data, units] = checked_payload(item, index, strict, Errc::invalid_argument);
  // CPython sizes by len(): code points for a str. Where the UTF-8 would not fit it truncates
  // (gh-88336); libshm sizes by the UTF-8 instead, so every reader gets the whole value.
  std::size_t allocation = allocation_for(units);
  if (data.size() > allocation) allocation = allocation_for(data.size());
  out.format = {Format::Kind::chars, allocation};
  out.code = std::holds_alternative<std::string>(item) ? Code::str : Code::bytes;
  out.chars = data;
  return out;
}

Encoded encode_set(const Item& value, const SlotRef& ref, std::uint64_t current_format,
                   bool strict) {
  Encoded out;
  if (encode_scalar(value, out)) {
    if (ref.allocation() < kWord) {
      throw LayoutError(ref.begin,
                        item_label(ref.index) + "'s slot is " + std::to_string(ref.allocation()) +
                            " bytes, too small for an 8-byte " + std::string(type_name(value)));
    }
    return out;
  }
  const auto [data, units] = checked_payload(value, ref.index, strict, Errc::invalid_value);
  // CPython keeps a str/bytes slot's format and gives any other slot "<allocation>s". A
  // format that is not CPython's is replaced like a scalar's, which repairs the slot.
  const std::optional<Format> current = format_of_word(current_format);
  if (current && current->kind == Format::Kind::chars && current->length <= ref.allocation()) {
    out.format = *current;
  } else if (ref.allocation() == 0 || ref.allocation() > kMaxChars) {
    throw LayoutError(ref.begin, item_label(ref.index) + "'s slot of " +
                                     std::to_string(ref.allocation()) +
                                     " bytes cannot be described by a \"<k>s\" format");
  } else {
    out.format = {Format::Kind::chars, ref.allocation()};
  }
  if (data.size() > out.format.length) {
    throw InvalidArgument(Errc::invalid_value,
                          "bytes/str item exceeds available storage: " + item_label(ref.index) +
                              " holds " + std::to_string(out.format.length) +
                              " bytes, the value has " + std::to_string(data.size()));
  }
  out.code = std::holds_alternative<std::string>(value) ? Code::str : Code::bytes;
  out.chars = data;
  return out;
}

namespace {
// The format string as its 8 NUL-padded bytes in the block ("8s" packing), built without a
// std::string: set() writes one on every call.
std::uint64_t format_bytes(const Format& format) noexcept {
  switch (format.kind) {
    case Format::Kind::int64:
      return kIntWord;
    case Format::Kind::float64:
      return kFloatWord;
    case Format::Kind::boolean:
      return kBoolWord;
    case Format::Kind::none:
      return kNoneWord;
    default: {
      std::array<char, kWord> text{};
      // k ≤ 9,999,999: at most 7 digits and the 's' (encode_* refuse anything longer).
      char* end = std::to_chars(text.data(), text.data() + kWord - 1, format.length).ptr;
      *end = 's';
      return std::bit_cast<std::uint64_t>(text);
    }
  }
}
}  // namespace

void write_item(std::span<std::byte> block, const SlotRef& ref, const Encoded& item) {
  store_shared_word(block.data() + ref.format_at, format_bytes(item.format));
  block[ref.code_at] = static_cast<std::byte>(item.code);
  std::byte* slot = block.data() + ref.begin;
  if (item.format.kind != Format::Kind::chars) {
    store_shared_word(slot, item.word);
  } else {
    // struct "<k>s": the data, then NULs up to k.
    std::memcpy(slot, item.chars.data(), item.chars.size());
    std::memset(slot + item.chars.size(), 0, item.format.length - item.chars.size());
  }
}

Format read_format(std::span<const std::byte> block, const SlotRef& ref) {
  return checked_format(load_shared_word(block.data() + ref.format_at), ref);
}

Format read_format(const FileWords& file, const SlotRef& ref) {
  std::array<std::byte, kWord> raw;
  file.read(ref.format_at, raw);
  return checked_format(std::bit_cast<std::uint64_t>(raw), ref);
}

namespace {

// read_item's checks and decoding, given the item's raw format string and type code, and
// `fill(out)`, which copies the first out.size() bytes of its slot (never more than the slot's
// allocation: the format was checked against it first).
template <class Fill>
Item decode_item(std::uint64_t raw_format, std::int8_t code, const SlotRef& ref, const Fill& fill) {
  const Format format = checked_format(raw_format, ref);
  const auto mismatch = [&](const char* what) {
    return LayoutError(ref.code_at, item_label(ref.index) + "'s type code " + std::to_string(code) +
                                        " (" + what + ") does not go with its format '" +
                                        format.text() + "'");
  };
  if (code < 0 || code > 3) {
    throw LayoutError(ref.code_at, item_label(ref.index) + "'s type code " + std::to_string(code) +
                                       " is not 0 (int, float, bool), 1 (str), 2 (bytes) or 3 "
                                       "(None)");
  }
  // CPython unpacks first, so even None needs a valid format that fits (checked above).
  if (code == static_cast<std::int8_t>(Code::none)) return None{};

  if (format.kind != Format::Kind::chars) {
    // CPython applies code 1's or 2's rstrip() to a number and fails (AttributeError).
    if (code == static_cast<std::int8_t>(Code::str)) throw mismatch("str");
    if (code == static_cast<std::int8_t>(Code::bytes)) throw mismatch("bytes");
    std::array<std::byte, kWord> word;
    fill(std::span<std::byte>(word));
    return scalar_value<Item>(format.kind, std::bit_cast<std::uint64_t>(word));
  }

  std::string data(format.length, '\0');
  fill(std::as_writable_bytes(std::span(data)));
  // Code 0 on "<k>s" gives CPython's raw bytes, padding included.
  if (code == static_cast<std::int8_t>(Code::plain)) return Bytes{std::move(data)};
  // The format stores no length: trailing NULs are padding to every reader (gh-106939).
  data.resize(strip_trailing_nuls(data).size());
  if (code == static_cast<std::int8_t>(Code::bytes)) return Bytes{std::move(data)};
  const std::size_t good = utf8_valid_prefix(data);
  if (good != data.size()) {
    throw DecodeError(ref.begin, item_label(ref.index) + " at offset " + std::to_string(ref.begin) +
                                     " is a str whose bytes are not UTF-8 (from byte " +
                                     std::to_string(good) + " of " + std::to_string(data.size()) +
                                     ")");
  }
  return data;
}

}  // namespace

Item read_item(std::span<const std::byte> block, const SlotRef& ref) {
  const std::uint64_t raw = load_shared_word(block.data() + ref.format_at);
  return decode_item(raw, static_cast<std::int8_t>(block[ref.code_at]), ref,
                     [&](std::span<std::byte> out) {
                       std::memcpy(out.data(), block.data() + ref.begin, out.size());
                     });
}

Item read_item(const FileWords& file, const SlotRef& ref) {
  std::array<std::byte, kWord> raw;
  file.read(ref.format_at, raw);
  std::array<std::byte, 1> code;
  file.read(ref.code_at, code);
  return decode_item(std::bit_cast<std::uint64_t>(raw), static_cast<std::int8_t>(code[0]), ref,
                     [&](std::span<std::byte> out) { file.read(ref.begin, out); });
}

}  // namespace shm::detail
