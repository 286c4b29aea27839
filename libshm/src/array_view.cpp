// shm::BasicArrayView: bounds and alignment checks, indexing, text elements, fields.
#include <algorithm>
#include <limits>

#include "libshm/array.hpp"
#include "libshm/error.hpp"
#include "utf8.hpp"

namespace shm {

std::vector<std::ptrdiff_t> contiguous_strides(std::span<const std::size_t> shape,
                                               std::size_t itemsize, Order order) {
  if (shape.size() > kMaxDims) {
    throw InvalidArgument(Errc::invalid_argument,
                          "an array has at most " + std::to_string(kMaxDims) + " dimensions, not " +
                              std::to_string(shape.size()));
  }
  std::vector<std::ptrdiff_t> strides(shape.size());
  std::size_t step = itemsize;
  bool overflow = false;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    const std::size_t d = order == Order::C ? shape.size() - 1 - k : k;
    strides[d] = static_cast<std::ptrdiff_t>(step);
    // numpy uses the item size as the stride past a dimension of length 0; so do we, and only
    // the product of the non-zero dimensions must fit.
    if (shape[d] != 0 && __builtin_mul_overflow(step, shape[d], &step)) overflow = true;
    if (step > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max())) {
      overflow = true;
    }
  }
  if (overflow) throw InvalidArgument(Errc::too_large, "array size overflows");
  return strides;
}

template <bool Mutable>
BasicArrayView<Mutable>::BasicArrayView(std::span<Byte> bytes, Dtype dtype,
                                        std::span<const std::size_t> shape,
                                        std::span<const std::ptrdiff_t> strides, std::size_t offset,
                                        Alignment alignment)
    : bytes_(bytes), dtype_(std::move(dtype)), offset_(offset), alignment_(alignment) {
  if (shape.size() > kMaxDims) {
    throw InvalidArgument(Errc::invalid_argument,
                          "an array has at most " + std::to_string(kMaxDims) + " dimensions, not " +
                              std::to_string(shape.size()));
  }
  if (strides.size() != shape.size()) {
    throw InvalidArgument(Errc::invalid_argument,
                          "shape has " + std::to_string(shape.size()) + " dimensions but " +
                              std::to_string(strides.size()) + " strides were given");
  }
  if (offset > bytes.size()) {
    throw InvalidArgument(Errc::invalid_argument, "offset " + std::to_string(offset) +
                                                      " is past the end of " +
                                                      std::to_string(bytes.size()) + " bytes");
  }
  layout_.ndim = shape.size();
  bool empty = false;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    layout_.shape[d] = shape[d];
    layout_.strides[d] = strides[d];
    if (shape[d] == 0) empty = true;
    if (shape[d] > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max())) {
      throw InvalidArgument(Errc::too_large, "dimension " + std::to_string(d) + " is too large");
    }
  }
  // The number of elements must be countable.
  std::size_t count = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (__builtin_mul_overflow(count, shape[d], &count)) {
      throw InvalidArgument(Errc::too_large, "array size overflows");
    }
  }
  if (!empty) {
    // The lowest and highest byte any element starts at, relative to element (0, ..., 0).
    std::ptrdiff_t lo = 0;
    std::ptrdiff_t hi = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      std::ptrdiff_t extent = 0;
      if (__builtin_mul_overflow(static_cast<std::ptrdiff_t>(shape[d] - 1), strides[d], &extent) ||
          __builtin_add_overflow(extent < 0 ? lo : hi, extent, extent < 0 ? &lo : &hi)) {
        throw InvalidArgument(Errc::invalid_argument, "strides reach outside any buffer");
      }
    }
    const auto unsigned_lo = static_cast<std::size_t>(-lo);
    if (unsigned_lo > offset) {
      throw InvalidArgument(Errc::invalid_argument,
                            "an element starts " + std::to_string(unsigned_lo) +
                                " bytes before offset " + std::to_string(offset) +
                                ", before the buffer");
    }
    const auto end = static_cast<std::size_t>(hi);  // end of the last element, from offset
    if (end > bytes.size() - offset || dtype_.itemsize() > bytes.size() - offset - end) {
      throw InvalidArgument(Errc::invalid_argument, "array of " + std::to_string(count) + " " +
                                                        dtype_.str() + " elements at offset " +
                                                        std::to_string(offset) +
                                                        " reaches past the end of " +
                                                        std::to_string(bytes.size()) + " bytes");
    }
  }
  if (alignment == Alignment::required) check_aligned(dtype_.alignment());
}

template <bool Mutable>
void BasicArrayView<Mutable>::check_aligned(std::size_t alignment) const {
  if (alignment <= 1) return;
  const auto address = reinterpret_cast<std::uintptr_t>(bytes_.data()) + offset_;
  if (address % alignment != 0) {
    throw InvalidArgument(Errc::invalid_argument, "array at offset " + std::to_string(offset_) +
                                                      " is not aligned to " +
                                                      std::to_string(alignment) + " bytes");
  }
  for (std::size_t d = 0; d < layout_.ndim; ++d) {
    if (layout_.shape[d] > 1 && layout_.strides[d] % static_cast<std::ptrdiff_t>(alignment) != 0) {
      throw InvalidArgument(Errc::invalid_argument, "stride " + std::to_string(layout_.strides[d]) +
                                                        " of dimension " + std::to_string(d) +
                                                        " is not a multiple of the alignment " +
                                                        std::to_string(alignment));
    }
  }
}

template <bool Mutable>
auto BasicArrayView<Mutable>::block_bytes(const SharedMemory& block) -> std::span<Byte> {
  if constexpr (Mutable) {
    if (block.read_only()) {
      throw InvalidArgument(
          Errc::invalid_argument,
          "block '" + block.name() + "' is attached read-only: use a ConstArrayView");
    }
  }
  return block.buf();
}

template <bool Mutable>
std::size_t BasicArrayView<Mutable>::size() const noexcept {
  std::size_t n = 1;
  for (std::size_t d = 0; d < layout_.ndim; ++d) n *= layout_.shape[d];
  return n;
}

template <bool Mutable>
std::size_t BasicArrayView<Mutable>::byte_offset(std::span<const std::size_t> index) const {
  if (index.size() != layout_.ndim) {
    throw OutOfRange(std::to_string(index.size()) + " indices for an array of " +
                     std::to_string(layout_.ndim) + " dimensions");
  }
  auto off = static_cast<std::ptrdiff_t>(offset_);
  for (std::size_t d = 0; d < layout_.ndim; ++d) {
    if (index[d] >= layout_.shape[d]) {
      throw OutOfRange("index " + std::to_string(index[d]) + " is out of bounds for axis " +
                       std::to_string(d) + " with size " + std::to_string(layout_.shape[d]));
    }
    off += static_cast<std::ptrdiff_t>(index[d]) * layout_.strides[d];
  }
  return static_cast<std::size_t>(off);
}

template <bool Mutable>
std::string BasicArrayView<Mutable>::text(std::span<const std::size_t> index) const {
  const auto e = element(index);
  if (dtype_.kind() == DtypeKind::bytes) {
    std::size_t n = e.size();
    while (n > 0 && e[n - 1] == std::byte{0}) --n;
    return {reinterpret_cast<const char*>(e.data()), n};
  }
  if (dtype_.kind() != DtypeKind::unicode) {
    throw InvalidArgument(Errc::wrong_type, "dtype " + dtype_.str() + " holds no text");
  }
  std::vector<char32_t> cps(e.size() / 4);
  std::memcpy(cps.data(), e.data(), e.size());
  if (!dtype_.is_native()) {
    for (auto& c : cps) c = detail::byteswap_value(static_cast<std::uint32_t>(c));
  }
  while (!cps.empty() && cps.back() == 0) cps.pop_back();
  std::string out;
  for (const char32_t c : cps) {
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
      throw InvalidArgument(Errc::decode, "element holds " + std::to_string(c) +
                                              ", which is not a Unicode scalar value");
    }
    detail::utf8_append(out, c);
  }
  return out;
}

template <bool Mutable>
void BasicArrayView<Mutable>::set_text(std::span<const std::size_t> index,
                                       std::string_view value) const requires Mutable {
  // if constexpr: clang 14 instantiates this constrained member for const views too.
  if constexpr (Mutable) {
    const auto e = element(index);
    if (dtype_.kind() == DtypeKind::bytes) {
      if (value.size() > e.size()) {
        throw InvalidArgument(Errc::invalid_value, std::to_string(value.size()) +
                                                       " bytes do not fit in " + dtype_.str());
      }
      std::memcpy(e.data(), value.data(), value.size());
      std::memset(e.data() + value.size(), 0, e.size() - value.size());
      return;
    }
    if (dtype_.kind() != DtypeKind::unicode) {
      throw InvalidArgument(Errc::wrong_type, "dtype " + dtype_.str() + " holds no text");
    }
    const auto count = detail::utf8_code_points(value);
    if (!count) throw InvalidArgument(Errc::invalid_value, "text is not valid UTF-8");
    if (*count > e.size() / 4) {
      throw InvalidArgument(Errc::invalid_value,
                            std::to_string(*count) + " characters do not fit in " + dtype_.str());
    }
    std::vector<std::uint32_t> cps(e.size() / 4, 0);
    std::size_t at = 0;
    for (std::size_t k = 0; at < value.size(); ++k) {
      cps[k] = detail::utf8_next(value, at);
      if (!dtype_.is_native()) cps[k] = detail::byteswap_value(cps[k]);
    }
    std::memcpy(e.data(), cps.data(), e.size());
  }
}

template <bool Mutable>
BasicArrayView<Mutable> BasicArrayView<Mutable>::field(std::string_view name) const {
  const Field& f = dtype_.field(name);
  std::vector<std::size_t> shape(layout_.shape.begin(), layout_.shape.begin() + layout_.ndim);
  std::vector<std::ptrdiff_t> strides(layout_.strides.begin(),
                                      layout_.strides.begin() + layout_.ndim);
  const auto inner = contiguous_strides(f.shape, f.dtype.itemsize(), Order::C);
  shape.insert(shape.end(), f.shape.begin(), f.shape.end());
  strides.insert(strides.end(), inner.begin(), inner.end());
  // An empty array may sit at the very end of its bytes, where the field's offset is not.
  const std::size_t at =
      size() == 0 ? std::min(offset_ + f.offset, bytes_.size()) : offset_ + f.offset;
  return BasicArrayView(bytes_, f.dtype, shape, strides, at, Alignment::any);
}

template class BasicArrayView<true>;
template class BasicArrayView<false>;

}  // namespace shm
