// numpy arrays in shared memory: shm::Dtype (numpy's dtype.str / dtype.descr spelling),
// shm::ArrayView / shm::ConstArrayView (typed, checked views over any bytes), and shm::NpyArray
// (a block that starts with numpy's own .npy header, so both sides know the array's layout).
// The .npy header is described in docs/format.md ("numpy arrays: the .npy header").
#pragma once

#include <array>
#include <bit>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "libshm/error.hpp"
#include "libshm/shared_memory.hpp"

namespace shm {

/// The most dimensions an array (or a structured field's subarray) may have: numpy's
/// NPY_MAXDIMS.
inline constexpr std::size_t kMaxDims = 32;

/// numpy's float16 (`f2`), stored as its raw IEEE-754 binary16 bits. Converts to and from
/// float exactly as numpy does (round to nearest even; NaN payloads keep their top bits).
struct Float16 {
  /// The raw bits, in native byte order.
  std::uint16_t bits = 0;
  /// The value as a float (exact: every binary16 value is a float).
  [[nodiscard]] float to_float() const noexcept;
  /// The binary16 nearest to `value` (ties to even; overflow gives ±inf), as numpy's
  /// `np.float16(np.float32(value))`.
  static Float16 from_float(float value) noexcept;
  /// Same bits.
  friend bool operator==(Float16, Float16) = default;
};

/// The byte order of a dtype, as numpy's dtype.byteorder after normalisation.
enum class ByteOrder {
  little,          ///< '<'
  big,             ///< '>'
  not_applicable,  ///< '|': one-byte types, bool, bytes, void and structured dtypes
};

/// This machine's byte order.
inline constexpr ByteOrder kNativeOrder =
    std::endian::native == std::endian::little ? ByteOrder::little : ByteOrder::big;

/// What a dtype's elements are (numpy's dtype.kind, with structured split from void).
enum class DtypeKind {
  boolean,           ///< 'b': `|b1`
  signed_integer,    ///< 'i': `i1 i2 i4 i8`
  unsigned_integer,  ///< 'u': `u1 u2 u4 u8`
  floating,          ///< 'f': `f2 f4 f8`
  complex,           ///< 'c': `c8 c16`
  bytes,             ///< 'S': `|S<n>`, n bytes, NUL-padded
  unicode,           ///< 'U': `<U<n>`, n UCS-4 code points, NUL-padded
  raw,               ///< 'V': `|V<n>`, n opaque bytes (padding in structured dtypes)
  structured,        ///< 'V' with fields: a record of named fields at given offsets
};

struct Field;

/// A numpy dtype: a kind, an item size, a byte order and, for structured dtypes, fields.
/// Immutable value type; equal when numpy's dtypes are equal (same str or same fields).
class Dtype {
 public:
  /// Parses numpy's `dtype.str` spelling: an optional byte order (`<` `>` `|` `=`, none means
  /// native) and a type: `b1`, `i1 i2 i4 i8`, `u1 u2 u4 u8`, `f2 f4 f8`, `c8 c16`, `S<n>`,
  /// `U<n>`, `V<n>` (n ≥ 1). As numpy, `=` and a missing order mean this machine's, and the
  /// order of a one-byte type (and of S, V, b1) is `|` whatever was given. Throws
  /// std::invalid_argument naming the part that could not be parsed (`"f16"`, `"M8"`, ...).
  static Dtype parse(std::string_view str);

  /// Parses numpy's `dtype.descr` (or the `descr` of an .npy header) written as a Python
  /// literal: a quoted `dtype.str` (`'<f8'`), or a list of fields `[('a', '<i4'), ('', '|V4'),
  /// ('b', '<f8', (2, 3)), ('c', [...nested...])]` where `('', '|V<n>')` entries are padding.
  /// Offsets follow the list, as numpy's descr_to_dtype. A list with a single unnamed
  /// non-padding field is that field's dtype (`[('', '>f4')]` is `>f4`: `np.dtype('>f4').descr`;
  /// numpy would read it back as a one-field record); other unnamed fields are called `f<i>`
  /// (i = the field's position), as `np.dtype(descr)` names them.
  /// Throws std::invalid_argument naming what could not be parsed.
  static Dtype from_descr(std::string_view descr);

  /// A structured dtype of `fields` (any order; offsets as given) in records of `itemsize`
  /// bytes. Throws std::invalid_argument if a field is empty-named, named twice, overlaps
  /// another or does not fit in itemsize.
  static Dtype structured(std::vector<Field> fields, std::size_t itemsize);

  /// `<f8`: the default dtype, numpy's float64.
  Dtype();

  /// Kind of element.
  [[nodiscard]] DtypeKind kind() const noexcept { return kind_; }
  /// Bytes per element (numpy's itemsize).
  [[nodiscard]] std::size_t itemsize() const noexcept { return itemsize_; }
  /// Byte order; not_applicable for one-byte, bytes, raw and structured dtypes.
  [[nodiscard]] ByteOrder byte_order() const noexcept { return order_; }
  /// True if elements can be read as native values without swapping bytes (numpy's
  /// dtype.isnative; a structured dtype is native when all its fields are).
  [[nodiscard]] bool is_native() const noexcept;
  /// The alignment an element needs for direct access: the size of one scalar (c8: 4, c16: 8,
  /// U: 4), 1 for bool, bytes, raw and structured dtypes (numpy's packed records).
  [[nodiscard]] std::size_t alignment() const noexcept;
  /// numpy's `dtype.str`: `<f8`, `|b1`, `<U5`, `|V24` for a structured dtype.
  [[nodiscard]] std::string str() const;
  /// numpy's `dtype.descr`, as the Python literal .npy headers hold: `'<f8'` for a plain dtype
  /// (numpy's dtype_to_descr), `[('a', '<i4'), ('', '|V4'), ...]` for a structured one,
  /// with padding entries for the gaps.
  [[nodiscard]] std::string descr() const;
  /// The fields of a structured dtype in offset order; empty for other kinds.
  [[nodiscard]] const std::vector<Field>& fields() const noexcept { return fields_; }
  /// The field called `name`; throws std::invalid_argument if there is none.
  [[nodiscard]] const Field& field(std::string_view name) const;
  /// The same dtype in native byte order (fields too): numpy's dtype.newbyteorder('=').
  [[nodiscard]] Dtype native() const;

  /// Same kind, item size, byte order and (for structured dtypes) fields.
  friend bool operator==(const Dtype& a, const Dtype& b);

 private:
  Dtype(DtypeKind kind, std::size_t itemsize, ByteOrder order);

  DtypeKind kind_;
  std::size_t itemsize_;
  ByteOrder order_;
  std::vector<Field> fields_;  // structured only, sorted by offset
};

/// One field of a structured dtype.
struct Field {
  /// The field's name (UTF-8), never empty.
  std::string name;
  /// The dtype of one scalar of the field.
  Dtype dtype;
  /// Byte offset of the field in the record.
  std::size_t offset = 0;
  /// Subarray shape (`('x', '<i2', (2, 3))`), empty for a scalar field.
  std::vector<std::size_t> shape;
  /// Bytes the field occupies: dtype.itemsize() times the product of shape.
  [[nodiscard]] std::size_t size() const noexcept;
  /// Same name, dtype, offset and shape.
  friend bool operator==(const Field&, const Field&) = default;
};

/// Memory order for views and .npy blocks made from a shape alone.
enum class Order {
  C,  ///< row-major: the last index varies fastest (numpy's default)
  F,  ///< column-major: the first index varies fastest (Fortran order)
};

/// Whether a view must be aligned for its dtype.
enum class Alignment {
  required,  ///< the first element and every stride must be multiples of dtype.alignment()
  any,       ///< unaligned views allowed: load/store work, as<T>() throws if misaligned
};

/// The strides (in bytes, signed as numpy's) of a contiguous array of `shape` with elements of
/// `itemsize` bytes in `order`. Throws std::invalid_argument if the byte count overflows.
std::vector<std::ptrdiff_t> contiguous_strides(std::span<const std::size_t> shape,
                                               std::size_t itemsize, Order order = Order::C);

namespace detail {

// The value types as<T>()/load<T>() accept, and what dtype they match.
template <typename T>
struct ScalarTraits {
  static constexpr bool supported = false;
};
template <>
struct ScalarTraits<bool> {
  static constexpr bool supported = true;
  static constexpr DtypeKind kind = DtypeKind::boolean;
};
#define LIBSHM_ARRAY_SCALAR(T, K)                   \
  template <>                                       \
  struct ScalarTraits<T> {                          \
    static constexpr bool supported = true;         \
    static constexpr DtypeKind kind = DtypeKind::K; \
  };
LIBSHM_ARRAY_SCALAR(std::int8_t, signed_integer)
LIBSHM_ARRAY_SCALAR(std::int16_t, signed_integer)
LIBSHM_ARRAY_SCALAR(std::int32_t, signed_integer)
LIBSHM_ARRAY_SCALAR(std::int64_t, signed_integer)
LIBSHM_ARRAY_SCALAR(std::uint8_t, unsigned_integer)
LIBSHM_ARRAY_SCALAR(std::uint16_t, unsigned_integer)
LIBSHM_ARRAY_SCALAR(std::uint32_t, unsigned_integer)
LIBSHM_ARRAY_SCALAR(std::uint64_t, unsigned_integer)
LIBSHM_ARRAY_SCALAR(Float16, floating)
LIBSHM_ARRAY_SCALAR(float, floating)
LIBSHM_ARRAY_SCALAR(double, floating)
LIBSHM_ARRAY_SCALAR(std::complex<float>, complex)
LIBSHM_ARRAY_SCALAR(std::complex<double>, complex)
#undef LIBSHM_ARRAY_SCALAR

// Throws std::invalid_argument unless a T of `size` bytes and `kind` is `dtype`.
void check_type(const Dtype& dtype, DtypeKind kind, std::size_t size, const char* type_name);

template <typename T>
const char* type_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "bool";
  else if constexpr (std::is_same_v<T, Float16>)
    return "shm::Float16";
  else if constexpr (std::is_same_v<T, float>)
    return "float";
  else if constexpr (std::is_same_v<T, double>)
    return "double";
  else if constexpr (std::is_same_v<T, std::complex<float>>)
    return "std::complex<float>";
  else if constexpr (std::is_same_v<T, std::complex<double>>)
    return "std::complex<double>";
  else if constexpr (std::is_signed_v<T>)
    return "a signed integer";
  else
    return "an unsigned integer";
}

template <typename T>
void check_scalar(const Dtype& dtype) {
  check_type(dtype, ScalarTraits<T>::kind, sizeof(T), type_name<T>());
}

// Reverses the bytes of each scalar of a value of type T (each part of a complex).
template <typename T>
T byteswap_value(T v) noexcept {
  if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>) {
    return T(byteswap_value(v.real()), byteswap_value(v.imag()));
  } else {
    std::array<std::byte, sizeof(T)> b;
    std::memcpy(b.data(), &v, sizeof(T));
    for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
    std::memcpy(&v, b.data(), sizeof(T));
    return v;
  }
}

// The shape and strides a view walks, shared by its iterators (not shm::Layout, a list's).
struct Geometry {
  std::size_t ndim = 0;
  std::array<std::size_t, kMaxDims> shape{};
  std::array<std::ptrdiff_t, kMaxDims> strides{};
};

// Walks every element of a layout in C order (the last index fastest), one byte pointer at a
// time. Dimensions that are contiguous with each other are merged first, so walking a
// contiguous array is one pointer bump and one counter per element.
template <typename B>
class Cursor {
 public:
  Cursor() = default;
  Cursor(B* first, const Geometry& layout) : p_(first) {
    std::size_t total = 1;
    for (std::size_t d = 0; d < layout.ndim; ++d) total *= layout.shape[d];
    if (total == 0) return;
    // Merge dimension d into the previous one when stepping the previous once is stepping d
    // over its whole length.
    ndim_ = 0;
    for (std::size_t d = 0; d < layout.ndim; ++d) {
      if (layout.shape[d] == 1) continue;
      if (ndim_ > 0 &&
          strides_[ndim_ - 1] == layout.strides[d] * static_cast<std::ptrdiff_t>(layout.shape[d])) {
        shape_[ndim_ - 1] *= layout.shape[d];
        strides_[ndim_ - 1] = layout.strides[d];
      } else {
        shape_[ndim_] = layout.shape[d];
        strides_[ndim_] = layout.strides[d];
        ++ndim_;
      }
    }
    if (ndim_ == 0) {  // one element
      shape_[0] = 1;
      strides_[0] = 0;
      ndim_ = 1;
    }
    inner_stride_ = strides_[ndim_ - 1];
    inner_left_ = shape_[ndim_ - 1];
  }
  [[nodiscard]] B* get() const noexcept { return p_; }
  [[nodiscard]] bool done() const noexcept { return inner_left_ == 0; }
  void next() noexcept {
    p_ += inner_stride_;
    if (--inner_left_ == 0) next_row();
  }

 private:
  void next_row() noexcept {
    // Rewind the inner dimension, then carry into the outer ones like an odometer.
    p_ -= inner_stride_ * static_cast<std::ptrdiff_t>(shape_[ndim_ - 1]);
    for (std::size_t d = ndim_ - 1; d-- > 0;) {
      if (++index_[d] < shape_[d]) {
        p_ += strides_[d];
        inner_left_ = shape_[ndim_ - 1];
        return;
      }
      p_ -= strides_[d] * static_cast<std::ptrdiff_t>(shape_[d] - 1);
      index_[d] = 0;
    }
  }

  B* p_ = nullptr;
  std::ptrdiff_t inner_stride_ = 0;
  std::size_t inner_left_ = 0;  // elements left in the current row; 0 = done
  std::size_t ndim_ = 0;
  std::array<std::size_t, kMaxDims> shape_{};
  std::array<std::ptrdiff_t, kMaxDims> strides_{};
  std::array<std::size_t, kMaxDims> index_{};
};

}  // namespace detail

template <bool Mutable>
class BasicArrayView;

/// A typed view of an array whose dtype is exactly T in native byte order, from
/// BasicArrayView::as<T>(): element references by index, and iteration in C order.
/// `Elem` is T for a mutable view and const T for a const one. Does not own the memory.
template <typename Elem>
class TypedView {
  using Byte = std::conditional_t<std::is_const_v<Elem>, const std::byte, std::byte>;

 public:
  /// Iterates every element in C order (last index fastest), yielding Elem&.
  class iterator {
   public:
    /// The element type.
    using value_type = std::remove_const_t<Elem>;
    /// Required by std::input_iterator.
    using difference_type = std::ptrdiff_t;
    /// What dereferencing gives.
    using reference = Elem&;
    /// A singular iterator (for the iterator concepts only).
    iterator() = default;
    /// The current element.
    reference operator*() const noexcept { return *reinterpret_cast<Elem*>(c_.get()); }
    /// Moves to the next element in C order.
    iterator& operator++() noexcept {
      c_.next();
      return *this;
    }
    /// Moves to the next element in C order.
    void operator++(int) noexcept { c_.next(); }
    /// True once every element has been visited.
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.c_.done();
    }

   private:
    friend class TypedView;
    explicit iterator(detail::Cursor<Byte> c) : c_(c) {}
    detail::Cursor<Byte> c_;
  };

  /// The first element (C order).
  [[nodiscard]] iterator begin() const { return iterator(detail::Cursor<Byte>(first_, layout_)); }
  /// The end of the iteration.
  [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }

  /// The element at `index` (one index per dimension). Throws std::out_of_range for a wrong
  /// number of indices or an index outside the shape.
  template <typename... I>
  Elem& operator()(I... index) const {
    const std::array<std::size_t, sizeof...(I)> idx{static_cast<std::size_t>(index)...};
    return at(idx);
  }
  /// The element at `index`; throws std::out_of_range as operator().
  Elem& at(std::span<const std::size_t> index) const {
    if (index.size() != layout_.ndim) throw OutOfRange("wrong number of indices");
    std::ptrdiff_t off = 0;
    for (std::size_t d = 0; d < layout_.ndim; ++d) {
      if (index[d] >= layout_.shape[d]) throw OutOfRange("index out of range");
      off += static_cast<std::ptrdiff_t>(index[d]) * layout_.strides[d];
    }
    return *reinterpret_cast<Elem*>(first_ + off);
  }
  /// Number of elements.
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = 1;
    for (std::size_t d = 0; d < layout_.ndim; ++d) n *= layout_.shape[d];
    return n;
  }
  /// The elements as one span when they are contiguous in C order (or the array is 1-D with
  /// stride sizeof(T)); otherwise throws std::logic_error.
  [[nodiscard]] std::span<Elem> contiguous() const {
    std::ptrdiff_t expect = sizeof(Elem);
    for (std::size_t d = layout_.ndim; d-- > 0;) {
      if (layout_.shape[d] != 1 && layout_.strides[d] != expect) {
        throw UsageError(Errc::invalid_argument, "the view is not C-contiguous");
      }
      expect *= static_cast<std::ptrdiff_t>(layout_.shape[d]);
    }
    return {reinterpret_cast<Elem*>(first_), size()};
  }

 private:
  template <bool>
  friend class BasicArrayView;
  TypedView(Byte* first, const detail::Geometry& layout) : first_(first), layout_(layout) {}
  Byte* first_;
  detail::Geometry layout_;
};

/// A view of an array in memory it does not own: a dtype, a shape, strides in bytes (any sign)
/// and the byte offset of element (0, …, 0) in the underlying span. Every element's bytes are
/// checked to lie inside the span, and (with Alignment::required) to be aligned for the dtype,
/// when the view is made: std::invalid_argument otherwise. Mutable views (ArrayView) are made
/// over writable bytes only; ConstArrayView reads.
template <bool Mutable>
class BasicArrayView {
 public:
  /// std::byte for a mutable view, const std::byte for a const one.
  using Byte = std::conditional_t<Mutable, std::byte, const std::byte>;

  /// A contiguous array of `shape` in `order`, starting `offset` bytes into `bytes`.
  BasicArrayView(std::span<Byte> bytes, Dtype dtype, std::span<const std::size_t> shape,
                 Order order = Order::C, std::size_t offset = 0,
                 Alignment alignment = Alignment::required)
      : BasicArrayView(bytes, dtype, shape, contiguous_strides(shape, dtype.itemsize(), order),
                       offset, alignment) {}

  /// An array of `shape` with explicit byte `strides` (one per dimension, may be negative or
  /// zero) whose element (0, …, 0) is `offset` bytes into `bytes`.
  BasicArrayView(std::span<Byte> bytes, Dtype dtype, std::span<const std::size_t> shape,
                 std::span<const std::ptrdiff_t> strides, std::size_t offset = 0,
                 Alignment alignment = Alignment::required);

  /// A view over a whole block: a mutable view needs a block not attached read-only
  /// (std::invalid_argument otherwise).
  BasicArrayView(const SharedMemory& block, Dtype dtype, std::span<const std::size_t> shape,
                 Order order = Order::C, std::size_t offset = 0,
                 Alignment alignment = Alignment::required)
      : BasicArrayView(block_bytes(block), std::move(dtype), shape, order, offset, alignment) {}

  /// A view over a whole block with explicit strides; read-only blocks as above.
  BasicArrayView(const SharedMemory& block, Dtype dtype, std::span<const std::size_t> shape,
                 std::span<const std::ptrdiff_t> strides, std::size_t offset = 0,
                 Alignment alignment = Alignment::required)
      : BasicArrayView(block_bytes(block), std::move(dtype), shape, strides, offset, alignment) {}

  /// A mutable view converts to a const one.
  operator BasicArrayView<false>() const  // NOLINT(google-explicit-constructor)
      requires Mutable {
    return BasicArrayView<false>(bytes_, dtype_, shape(), strides(), offset_, alignment_);
  }

  /// The element dtype.
  [[nodiscard]] const Dtype& dtype() const noexcept { return dtype_; }
  /// Number of dimensions.
  [[nodiscard]] std::size_t ndim() const noexcept { return layout_.ndim; }
  /// The shape.
  [[nodiscard]] std::span<const std::size_t> shape() const noexcept {
    return {layout_.shape.data(), layout_.ndim};
  }
  /// The strides in bytes.
  [[nodiscard]] std::span<const std::ptrdiff_t> strides() const noexcept {
    return {layout_.strides.data(), layout_.ndim};
  }
  /// Byte offset of element (0, …, 0) in the underlying span.
  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }
  /// Number of elements (the product of the shape).
  [[nodiscard]] std::size_t size() const noexcept;
  /// The underlying bytes.
  [[nodiscard]] std::span<Byte> bytes() const noexcept { return bytes_; }

  /// Byte offset in bytes() of the element at `index`; throws std::out_of_range for a wrong
  /// number of indices or an index outside the shape.
  [[nodiscard]] std::size_t byte_offset(std::span<const std::size_t> index) const;
  /// The bytes of the element at `index` (as byte_offset).
  [[nodiscard]] std::span<Byte> element(std::span<const std::size_t> index) const {
    return bytes_.subspan(byte_offset(index), dtype_.itemsize());
  }

  /// A typed view for direct access by reference. T must be the dtype in native byte order
  /// (double for `<f8` on x86-64; `view.as<double>()` throws std::invalid_argument for `<f4`
  /// or `>f8`): an integer type of the same signedness and size, float, double, Float16,
  /// std::complex<float/double>. bool is read with load<bool>() (any non-zero byte is true).
  /// Throws std::invalid_argument if the view is not aligned for T.
  template <typename T>
  [[nodiscard]] TypedView<std::conditional_t<Mutable, T, const T>> as() const {
    static_assert(detail::ScalarTraits<T>::supported && !std::is_same_v<T, bool>,
                  "as<T>() takes an integer, float, double, shm::Float16 or std::complex type");
    detail::check_scalar<T>(dtype_);
    if (!dtype_.is_native()) {
      throw InvalidArgument(
          Errc::wrong_type,
          "dtype " + dtype_.str() + " is not in native byte order: read it with load<T>()");
    }
    check_aligned(alignof(T));
    return TypedView<std::conditional_t<Mutable, T, const T>>(bytes_.data() + offset_, layout_);
  }

  /// The element at `index` as a native T, byte-swapped from the dtype's byte order when it is
  /// not native; works on unaligned views. T is checked against the dtype as in as<T>();
  /// bool reads any non-zero byte as true.
  template <typename T>
  [[nodiscard]] T load(std::span<const std::size_t> index) const {
    static_assert(detail::ScalarTraits<T>::supported, "load<T>() takes a scalar type");
    detail::check_scalar<T>(dtype_);
    const Byte* p = bytes_.data() + byte_offset(index);
    if constexpr (std::is_same_v<T, bool>) {
      return *p != std::byte{0};
    } else {
      T v;
      std::memcpy(&v, p, sizeof(T));
      return dtype_.is_native() ? v : detail::byteswap_value(v);
    }
  }
  /// load<T>() of the element at (i, j, ...): one index per dimension.
  template <typename T, typename... I>
  [[nodiscard]] T get(I... index) const {
    const std::array<std::size_t, sizeof...(I)> idx{static_cast<std::size_t>(index)...};
    return load<T>(idx);
  }

  /// Writes native `value` into the element at `index` in the dtype's byte order (the inverse
  /// of load); bool writes 0 or 1. Mutable views only.
  template <typename T>
  void store(std::span<const std::size_t> index, T value) const requires Mutable {
    static_assert(detail::ScalarTraits<T>::supported, "store<T>() takes a scalar type");
    detail::check_scalar<T>(dtype_);
    std::byte* p = bytes_.data() + byte_offset(index);
    if constexpr (std::is_same_v<T, bool>) {
      *p = std::byte{value ? std::uint8_t{1} : std::uint8_t{0}};
    } else {
      if (!dtype_.is_native()) value = detail::byteswap_value(value);
      std::memcpy(p, &value, sizeof(T));
    }
  }

  /// The text of a bytes (`S`) or unicode (`U`) element, as numpy reads it: trailing NULs
  /// stripped; a `U` element's code points (byte-swapped if needed) as UTF-8. Throws
  /// std::invalid_argument for other dtypes and for a `U` element holding a code point that
  /// is not a Unicode scalar value.
  [[nodiscard]] std::string text(std::span<const std::size_t> index) const;
  /// Writes `value` into a bytes or unicode element as numpy assigns it: NUL-padded; S takes
  /// the bytes, U the code points of UTF-8 `value`. Throws std::invalid_argument if it does
  /// not fit, is not valid UTF-8 (U), or the dtype is neither. Mutable views only.
  void set_text(std::span<const std::size_t> index, std::string_view value) const requires Mutable;

  /// A view of field `name` of a structured dtype, as numpy's `array[name]`: same shape and
  /// strides, the field's dtype, its offset added, and a subarray field's shape appended (C
  /// order within the element). Fields of packed records may be unaligned, so the field view
  /// allows that (Alignment::any): load/store always work, as<T>() checks the alignment T needs.
  /// Throws std::invalid_argument if there is no such field.
  [[nodiscard]] BasicArrayView field(std::string_view name) const;

 private:
  template <bool>
  friend class BasicArrayView;
  static std::span<Byte> block_bytes(const SharedMemory& block);
  void check_aligned(std::size_t alignment) const;

  std::span<Byte> bytes_;
  Dtype dtype_;
  detail::Geometry layout_;
  std::size_t offset_ = 0;
  Alignment alignment_ = Alignment::required;
};

/// A view that reads and writes (over writable memory).
using ArrayView = BasicArrayView<true>;
/// A view that only reads.
using ConstArrayView = BasicArrayView<false>;

extern template class BasicArrayView<true>;
extern template class BasicArrayView<false>;

// ---------------------------------------------------------------------------------------------
// .npy blocks

/// The six bytes every .npy header starts with: `\x93NUMPY`.
inline constexpr std::array<unsigned char, 6> kNpyMagic{0x93, 'N', 'U', 'M', 'P', 'Y'};

/// An .npy header that is not valid, or whose data does not fit the block:
/// Errc::corrupt_block, with the offset in the block where the problem was found.
class NpyHeaderError : public CorruptBlockError {
 public:
  using CorruptBlockError::CorruptBlockError;
};

/// What an .npy header says, validated against the bytes that follow it.
struct NpyHeader {
  /// Format version: {1, 0}, {2, 0} or {3, 0}.
  std::pair<int, int> version{1, 0};
  /// The element dtype (`descr`).
  Dtype dtype;
  /// The shape (`shape`).
  std::vector<std::size_t> shape;
  /// `fortran_order`.
  bool fortran_order = false;
  /// Where the data starts: magic, version, length and header text included.
  std::size_t data_offset = 0;
  /// Bytes of data: product of shape times itemsize.
  std::size_t nbytes = 0;
};

/// Reads and validates the .npy header at the start of `block`: magic `\x93NUMPY`, version
/// 1.0, 2.0 or 3.0, header length inside the block, a Python dict literal with exactly the keys
/// `descr`, `fortran_order`, `shape`, a valid descr, at most kMaxDims dimensions, and data
/// (shape × itemsize, without overflow) that fits in the block after the header. Throws
/// shm::NpyHeaderError (with the offset of the problem) for anything else; never reads outside
/// `block` and allocates at most in proportion to the header's length.
NpyHeader read_npy_header(std::span<const std::byte> block);

/// read_npy_header for a block of `block_size` bytes of which only the first ones, `head`, are
/// at hand: for a reader that preads a header instead of mapping a block it does not trust (as
/// pyshm does). The data must fit in block_size; `head` must hold the whole header, else
/// shm::NpyHeaderError at offset 0 or 8 saying the header runs past the bytes read (a caller that
/// read less than the block may read more and retry). std::invalid_argument if head is longer
/// than block_size.
NpyHeader read_npy_header(std::span<const std::byte> head, std::size_t block_size);

/// The .npy header numpy writes for an array of `dtype` and `shape` in `order`, byte for byte
/// (np.lib.format.write_array's): version 1.0, or 2.0 when longer than 65,535 bytes (3.0, UTF-8,
/// when a field name is not ASCII), padded with spaces and a newline so the data starts at a
/// multiple of 64. Throws std::invalid_argument for more than kMaxDims dimensions or a size that
/// overflows.
std::vector<std::byte> make_npy_header(const Dtype& dtype, std::span<const std::size_t> shape,
                                       Order order = Order::C);

/// Options for NpyArray::create.
struct NpyCreateOptions {
  /// Memory order of the data (`fortran_order` in the header).
  Order order = Order::C;
  /// The block's name; empty: a random `psm_` name, as SharedMemory::create.
  std::string name;
  /// The block's own options (tracking, reserving).
  CreateOptions block = {};
};

/// A shared-memory block holding one array after numpy's .npy header, so that any process can
/// attach it knowing only its name: C++ with NpyArray::attach, Python with numpy's
/// np.lib.format on SharedMemory(name).buf (recipe in docs/format.md). Move-only; owns the
/// SharedMemory (closes it when destroyed, never unlinks).
class NpyArray {
 public:
  /// Creates a block of header + data for `shape` elements of `dtype`, writes the header
  /// and leaves the data zeroed (a new block is zero-filled). Throws std::invalid_argument for
  /// bad shapes or names, std::system_error from SharedMemory::create. Nothing is left in
  /// /dev/shm on failure.
  static NpyArray create(const Dtype& dtype, std::span<const std::size_t> shape,
                         const NpyCreateOptions& options = {});
  /// create() with a shape given as a list: `NpyArray::create(Dtype::parse("<f8"), {1000, 3})`.
  static NpyArray create(const Dtype& dtype, std::initializer_list<std::size_t> shape,
                         const NpyCreateOptions& options = {}) {
    return create(dtype, std::span<const std::size_t>(shape.begin(), shape.size()), options);
  }
  /// Attaches block `name` and reads its header (read_npy_header). Throws what
  /// SharedMemory::attach throws, and shm::NpyHeaderError if the block is not a valid .npy block.
  /// With `options.track` the block is registered (SharedMemory::track) only once its header
  /// was read: a refused attach has registered nothing, so its exit leaves the block alone.
  static NpyArray attach(std::string_view name, const AttachOptions& options = {});
  /// Takes an attached block and reads its header; throws shm::NpyHeaderError as attach.
  static NpyArray adopt(SharedMemory block);

  /// The header read or written.
  [[nodiscard]] const NpyHeader& header() const noexcept { return header_; }
  /// The element dtype.
  [[nodiscard]] const Dtype& dtype() const noexcept { return header_.dtype; }
  /// The shape.
  [[nodiscard]] std::span<const std::size_t> shape() const noexcept { return header_.shape; }
  /// The data's memory order.
  [[nodiscard]] Order order() const noexcept { return header_.fortran_order ? Order::F : Order::C; }
  /// A view that writes; throws std::invalid_argument for a block attached read-only.
  [[nodiscard]] ArrayView view() const;
  /// A view that reads.
  [[nodiscard]] ConstArrayView cview() const;
  /// The block.
  [[nodiscard]] SharedMemory& shm() noexcept { return block_; }
  /// The block.
  [[nodiscard]] const SharedMemory& shm() const noexcept { return block_; }
  /// The block's name.
  [[nodiscard]] const std::string& name() const noexcept { return block_.name(); }

 private:
  NpyArray(SharedMemory block, NpyHeader header);
  SharedMemory block_;
  NpyHeader header_;
};

}  // namespace shm
