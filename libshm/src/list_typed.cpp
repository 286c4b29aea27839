// ShareableList's typed, zero-copy and bulk access: view, get_as, get_view, read_into,
// write_from. Same rules as get() and set() (list_codec.cpp's read_item and write_item), but
// no Item is built: scalars come straight from the slot, str and bytes as views into it.
// Anything irregular is handed to read_item, so errors and messages are get()'s.
#include <array>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "libshm/error.hpp"
#include "libshm/shareable_list.hpp"
#include "list_codec.hpp"
#include "list_layout.hpp"
#include "list_slot.hpp"
#include "utf8.hpp"

namespace shm {

namespace {

[[noreturn, gnu::cold, gnu::noinline]] void throw_range(std::size_t first, std::size_t count,
                                                        std::size_t size) {
  throw OutOfRange("ShareableList items " + std::to_string(first) + " to " +
                   std::to_string(first + count) + " out of range for " + std::to_string(size) +
                   " items");
}

// Python's name for what an ItemView holds, for the type-mismatch message.
const char* type_name(std::size_t alternative) noexcept {
  constexpr std::array<const char*, 6> names = {"None",    "a bool", "an int",
                                                "a float", "a str",  "a bytes"};
  return names[alternative];
}

// Python's name for the type get_as<T> asked for.
template <class T>
constexpr const char* wanted_name() noexcept {
  if constexpr (std::is_same_v<T, std::int64_t>) return "an int";
  if constexpr (std::is_same_v<T, double>) return "a float";
  if constexpr (std::is_same_v<T, bool>) return "a bool";
  return "a str or bytes";
}

[[noreturn, gnu::cold, gnu::noinline]] void throw_mismatch(std::size_t index,
                                                           std::size_t alternative,
                                                           const char* wanted) {
  throw InvalidArgument(Errc::wrong_type, "item " + std::to_string(index) + " is " +
                                              type_name(alternative) + ", not " + wanted);
}

// The item at `ref` as read_item reads it, for the slots CPython writes: the scalar formats
// with their codes (as read_item_fast) and "<k>s" with codes 0 - 3, inline. Returns
// false, with `out` untouched, for anything else, and for a str that is not UTF-8.
[[gnu::always_inline]] inline bool view_fast(std::span<const std::byte> block,
                                             const detail::SlotRef& ref, ItemView& out) {
  if (ref.allocation() < detail::kWord) [[unlikely]]
    return false;
  const std::uint64_t format = detail::load_shared_word(block.data() + ref.format_at);
  const auto code = static_cast<std::int8_t>(block[ref.code_at]);
  const std::byte* slot = block.data() + ref.begin;
  if (code == 0) {
    const bool scalar = detail::dispatch_scalar(
        format,
        [&](auto kind) {
          out = detail::scalar_value<ItemView>(kind, detail::load_shared_word(slot));
          return true;
        },
        [] { return false; });
    if (scalar) return true;
  } else if (code == 3 && detail::scalar_kind(format)) {
    out = None{};
    return true;
  }
  const std::size_t k = detail::chars_length(format);
  if (k == 0 || k > ref.allocation() || code < 0 || code > 3) return false;
  if (code == 3) {
    out = None{};
    return true;
  }
  std::string_view data(reinterpret_cast<const char*>(slot), k);
  // Code 0 on "<k>s" is CPython's raw bytes, padding included.
  if (code == 0) {
    out = BytesView{data};
    return true;
  }
  data = detail::strip_trailing_nuls(data);  // padding to every reader (gh-106939)
  if (code == 2) {
    out = BytesView{data};
    return true;
  }
  if (detail::utf8_valid_prefix(data) != data.size()) return false;
  out = data;
  return true;
}

// view_fast's other cases: a format that is not one CPython writes or does not fit, a code
// that is not 0 - 3 or does not go with the format, code 0 on None's format (CPython's '?'
// in byte 6), a str that is not UTF-8. read_item throws get()'s exception for each error;
// should it succeed instead (another process repaired the slot in between), the slot is read
// again.
[[gnu::noinline]] ItemView view_slow(std::span<const std::byte> block, const detail::SlotRef& ref) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    ItemView out;
    if (view_fast(block, ref, out)) return out;
    (void)detail::read_item(block, ref);  // get()'s exception for what view_fast refused
  }
  // Only a writer changing the slot under every one of the reads gets here.
  throw LayoutError(ref.code_at, "item " + std::to_string(ref.index) + " changed while being read");
}

// One return of a named value (NRVO): view_fast writes straight into the caller's result,
// which a copy from a local would read back with a store-forwarding stall.
[[gnu::always_inline]] inline ItemView view_item(std::span<const std::byte> block,
                                                 const detail::SlotRef& ref) {
  ItemView out;
  if (!view_fast(block, ref, out)) [[unlikely]]
    out = view_slow(block, ref);
  return out;
}

}  // namespace

ItemView ShareableList::view(std::ptrdiff_t index) const {
  const detail::SlotRef ref = slot(index);
  return view_item(block_.buf(), ref);
}

namespace {

// Item `ref` read as get() reads it, which must give a T: get_as<T> for every slot its inline
// fast path (read_exact_scalar) does not take.
template <class T>
T read_typed(std::span<const std::byte> block, const detail::SlotRef& ref) {
  const ItemView view = view_item(block, ref);
  if (const T* value = std::get_if<T>(&view)) return *value;
  throw_mismatch(ref.index, view.index(), wanted_name<T>());
}

// The characters of a str or bytes item, for get_view and get_bytes_view.
std::string_view chars_of(std::span<const std::byte> block, const detail::SlotRef& ref) {
  const ItemView view = view_item(block, ref);
  if (const auto* s = std::get_if<std::string_view>(&view)) return *s;
  if (const auto* b = std::get_if<BytesView>(&view)) return b->data;
  throw_mismatch(ref.index, view.index(), wanted_name<std::string_view>());
}

}  // namespace

template <class T>
T ShareableList::get_as_slow(std::ptrdiff_t index) const {
  const detail::SlotRef ref = slot(index);
  return read_typed<T>(block_.buf(), ref);
}

std::string_view ShareableList::get_view(std::ptrdiff_t index) const {
  const detail::SlotRef ref = slot(index);
  return chars_of(block_.buf(), ref);
}

std::span<const std::byte> ShareableList::get_bytes_view(std::ptrdiff_t index) const {
  const std::string_view chars = get_view(index);
  return std::as_bytes(std::span<const char>(chars.data(), chars.size()));
}

template <class T>
void ShareableList::read_into(std::size_t first, std::span<T> out) const {
  if (block_.closed()) detail::throw_list_closed();
  if (first > size_ || out.size() > size_ - first) throw_range(first, out.size(), size_);
  // Locals, not members: a store to `out` may alias them (std::int64_t and std::size_t do),
  // which would reload each member on every item.
  const std::byte* block = block_.buf().data();
  const std::size_t* slots = slots_.data();
  const std::size_t formats_at = formats_at_;
  const std::size_t codes_at = codes_at_;
  T* target = out.data();
  for (std::size_t k = 0; k < out.size(); ++k) {
    const std::size_t i = first + k;
    T value;
    if (!detail::read_exact_scalar(block, slots[i], slots[i + 1], formats_at + detail::kWord * i,
                                   codes_at + i, value)) [[unlikely]] {
      value = get_as_slow<T>(static_cast<std::ptrdiff_t>(i));
    }
    target[k] = value;
  }
}

template <class T>
void ShareableList::write_from(std::size_t first, std::span<const T> values) {
  if (block_.closed()) detail::throw_list_closed();
  if (first > size_ || values.size() > size_ - first) throw_range(first, values.size(), size_);
  if (block_.read_only())
    throw UsageError(Errc::read_only, "ShareableList: the block is read-only");
  const std::span<std::byte> block = block_.buf();
  for (std::size_t k = 0; k < values.size(); ++k) {
    const std::size_t i = first + k;
    const detail::SlotRef ref{i, slots_[i], slots_[i + 1], formats_at_ + detail::kWord * i,
                              codes_at_ + i};
    // write_scalar_fast writes what set() writes, in its order; a slot smaller than a word
    // (damaged blocks only) goes to set(), which throws its LayoutError.
    if (!detail::write_scalar_fast(block, ref, Item(values[k]))) {
      set(static_cast<std::ptrdiff_t>(i), Item(values[k]));
    }
  }
}

template std::int64_t ShareableList::get_as_slow<std::int64_t>(std::ptrdiff_t) const;
template double ShareableList::get_as_slow<double>(std::ptrdiff_t) const;
template bool ShareableList::get_as_slow<bool>(std::ptrdiff_t) const;
template void ShareableList::read_into<std::int64_t>(std::size_t, std::span<std::int64_t>) const;
template void ShareableList::read_into<double>(std::size_t, std::span<double>) const;
template void ShareableList::read_into<bool>(std::size_t, std::span<bool>) const;
template void ShareableList::write_from<std::int64_t>(std::size_t, std::span<const std::int64_t>);
template void ShareableList::write_from<double>(std::size_t, std::span<const double>);
template void ShareableList::write_from<bool>(std::size_t, std::span<const bool>);

}  // namespace shm
