// The 8-byte words of a ShareableList block: the format strings of the scalar items, and the
// one way every libshm reader and writer loads and stores a word that another process may be
// changing. Not API: it is here only because ShareableList::get_as<T> reads its fast path
// inline (libshm/shareable_list.hpp); libshm's sources use the same definitions.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace shm::detail {

/// Everything in a list block is counted in 8-byte words: N, each offset or size, each format
/// string, each scalar value.
inline constexpr std::size_t kWord = 8;

/// A format string as the 8-byte word it is in a block (NUL-padded), in native byte order, so
/// that the formats can be recognised with integer compares.
constexpr std::uint64_t format_word(std::string_view text) noexcept {
  std::uint64_t word = 0;
  for (std::size_t i = 0; i < text.size() && i < kWord; ++i) {
    const auto byte = static_cast<std::uint64_t>(static_cast<unsigned char>(text[i]));
    word |= byte << (8 * (std::endian::native == std::endian::little ? i : kWord - 1 - i));
  }
  return word;
}
/// The formats CPython packs a bool and None with ('?' packs None as False).
inline constexpr std::string_view kBoolFormat = "xxxxxxx?";  // the value in byte 7
inline constexpr std::string_view kNoneFormat = "xxxxxx?x";
/// The format words of the four scalar kinds.
inline constexpr std::uint64_t kIntWord = format_word("q");
inline constexpr std::uint64_t kFloatWord = format_word("d");
inline constexpr std::uint64_t kBoolWord = format_word(kBoolFormat);
inline constexpr std::uint64_t kNoneWord = format_word(kNoneFormat);

// Scalars and format strings are 8-byte words. In every block CPython makes they start at a
// multiple of 8, and there they are loaded and stored with one atomic access, so a reader in
// another process sees a libshm writer's old word or its new one, never half of each. (A
// CPython writer gives no such promise: struct.pack_into zeroes the bytes first.) A damaged
// block may misalign them; then they are copied bytewise, which is still in bounds.
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free,
              "8-byte words must be lock-free to be shared");
static_assert(std::atomic_ref<std::uint64_t>::required_alignment == alignof(std::uint64_t));

/// The 8-byte word at `at`, loaded with one atomic access when aligned.
[[gnu::always_inline]] inline std::uint64_t load_shared_word(const std::byte* at) noexcept {
  std::uint64_t value;
  if (reinterpret_cast<std::uintptr_t>(at) % alignof(std::uint64_t) == 0) {
    auto& target = *reinterpret_cast<std::uint64_t*>(const_cast<std::byte*>(at));
    value = std::atomic_ref<std::uint64_t>(target).load(std::memory_order_relaxed);
  } else {
    std::memcpy(&value, at, sizeof value);
  }
  return value;
}

/// Stores an 8-byte word at `at` with one atomic access when aligned.
[[gnu::always_inline]] inline void store_shared_word(std::byte* at, std::uint64_t value) noexcept {
  if (reinterpret_cast<std::uintptr_t>(at) % alignof(std::uint64_t) == 0) {
    std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(at))
        .store(value, std::memory_order_relaxed);
  } else {
    std::memcpy(at, &value, sizeof value);
  }
}

/// The format word of the items ShareableList::get_as<T> reads directly.
template <class T>
inline constexpr std::uint64_t kExactWord = std::is_same_v<T, std::int64_t> ? kIntWord
                                            : std::is_same_v<T, double>     ? kFloatWord
                                                                            : kBoolWord;

/// Reads the slot [begin, end) into `out` if it holds what CPython writes for a T
/// (std::int64_t, double or bool): T's format word at `format_at`, type code 0 at `code_at`,
/// a slot of at least a word. Returns false, `out` untouched, for anything else: None, other
/// types, damaged slots, which only the full reader (get()'s) can judge. The offsets must lie
/// in the block, as a ShareableList's validated geometry guarantees.
template <class T>
[[gnu::always_inline]] inline bool read_exact_scalar(const std::byte* block, std::size_t begin,
                                                     std::size_t end, std::size_t format_at,
                                                     std::size_t code_at, T& out) noexcept {
  if (end - begin < kWord || load_shared_word(block + format_at) != kExactWord<T> ||
      block[code_at] != std::byte{0}) {
    return false;
  }
  if constexpr (std::is_same_v<T, bool>) {
    out = block[begin + kWord - 1] != std::byte{0};
  } else {
    out = std::bit_cast<T>(load_shared_word(block + begin));
  }
  return true;
}

}  // namespace shm::detail
