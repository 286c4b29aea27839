// The .npy header (numpy's np.lib.format, versions 1.0 – 3.0) and shm::NpyArray.
#include <array>
#include <limits>
#include <set>

#include "libshm/array.hpp"
#include "py_literal.hpp"

namespace shm {
namespace {

constexpr std::size_t kArrayAlign = 64;           // np.lib.format.ARRAY_ALIGN
constexpr std::size_t kGrowthAxisMaxDigits = 21;  // np.lib.format.GROWTH_AXIS_MAX_DIGITS

std::string shape_repr(std::span<const std::size_t> shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

bool ascii(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::size_t checked_nbytes(const Dtype& dtype, std::span<const std::size_t> shape, bool& overflow) {
  std::size_t n = dtype.itemsize();
  overflow = false;
  for (const std::size_t d : shape) {
    if (__builtin_mul_overflow(n, d, &n)) overflow = true;
  }
  return n;
}

}  // namespace

std::vector<std::byte> make_npy_header(const Dtype& dtype, std::span<const std::size_t> shape,
                                       Order order) {
  if (shape.size() > kMaxDims) {
    throw InvalidArgument(Errc::invalid_argument,
                          "an array has at most " + std::to_string(kMaxDims) + " dimensions, not " +
                              std::to_string(shape.size()));
  }
  bool overflow = false;
  (void)checked_nbytes(dtype, shape, overflow);
  if (overflow) throw InvalidArgument(Errc::too_large, "array size overflows");
  // np.lib.format._write_array_header: the dict's repr with sorted keys, then room for the
  // growing axis, then _wrap_header's padding.
  std::string text = "{'descr': " + dtype.descr() +
                     ", 'fortran_order': " + (order == Order::F ? "True" : "False") +
                     ", 'shape': " + shape_repr(shape) + ", }";
  if (!shape.empty()) {
    const std::size_t digits =
        std::to_string(shape[order == Order::F ? shape.size() - 1 : 0]).size();
    if (digits < kGrowthAxisMaxDigits) text.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  const std::size_t hlen = text.size() + 1;  // with the final newline
  int major = 1;
  std::size_t prefix = 10;  // magic, version, 2-byte length
  std::size_t pad = kArrayAlign - (prefix + hlen) % kArrayAlign;
  if (!ascii(text) || hlen + pad > 0xffff) {
    major = ascii(text) ? 2 : 3;  // 3.0: UTF-8 (names numpy would write as latin-1 too)
    prefix = 12;
    pad = kArrayAlign - (prefix + hlen) % kArrayAlign;
    if (hlen + pad > 0xffffffffu) throw InvalidArgument(Errc::too_large, ".npy header too long");
  }
  const std::size_t total = hlen + pad;
  std::vector<std::byte> out(prefix + total);
  std::memcpy(out.data(), kNpyMagic.data(), kNpyMagic.size());
  out[6] = static_cast<std::byte>(major);
  out[7] = std::byte{0};
  for (std::size_t k = 0; k < prefix - 8; ++k) {
    out[8 + k] = static_cast<std::byte>((total >> (8 * k)) & 0xff);
  }
  std::memcpy(out.data() + prefix, text.data(), text.size());
  std::memset(out.data() + prefix + text.size(), ' ', pad);
  out.back() = std::byte{'\n'};
  return out;
}

NpyHeader read_npy_header(std::span<const std::byte> block) {
  return read_npy_header(block, block.size());
}

NpyHeader read_npy_header(std::span<const std::byte> head, std::size_t block_size) {
  using detail::PyLiteral;
  if (head.size() > block_size) {
    throw InvalidArgument(Errc::invalid_argument, "the " + std::to_string(head.size()) +
                                                      " bytes read exceed the block's " +
                                                      std::to_string(block_size));
  }
  const auto short_read = [&](std::size_t offset, std::size_t end) {
    if (end > head.size()) {  // only for a caller that read part of the block
      throw NpyHeaderError(offset, "the header runs to byte " + std::to_string(end) +
                                       ", past the " + std::to_string(head.size()) + " bytes read");
    }
  };
  if (block_size < 10) {
    throw NpyHeaderError(
        0, "a block of " + std::to_string(block_size) + " bytes is too small for an .npy header");
  }
  short_read(0, 10);
  if (std::memcmp(head.data(), kNpyMagic.data(), kNpyMagic.size()) != 0) {
    throw NpyHeaderError(0, "no .npy magic (\\x93NUMPY)");
  }
  NpyHeader h;
  h.version = {std::to_integer<int>(head[6]), std::to_integer<int>(head[7])};
  if (h.version.second != 0 || h.version.first < 1 || h.version.first > 3) {
    throw NpyHeaderError(6, "unsupported .npy version " + std::to_string(h.version.first) + "." +
                                std::to_string(h.version.second));
  }
  const std::size_t len_size = h.version.first == 1 ? 2 : 4;
  const std::size_t start = 8 + len_size;
  if (block_size < start) throw NpyHeaderError(8, "block ends inside the header length");
  short_read(8, start);
  std::size_t hlen = 0;
  for (std::size_t k = 0; k < len_size; ++k) {
    hlen |= std::to_integer<std::size_t>(head[8 + k]) << (8 * k);
  }
  if (hlen > block_size - start) {
    throw NpyHeaderError(8, "header length " + std::to_string(hlen) + " runs past the end of the " +
                                std::to_string(block_size) + "-byte block");
  }
  short_read(8, start + hlen);
  const auto* raw = reinterpret_cast<const char*>(head.data() + start);
  std::string text;
  if (h.version.first == 3) {
    text.assign(raw, hlen);
  } else {  // latin-1
    text.reserve(hlen);
    for (std::size_t i = 0; i < hlen; ++i) {
      const auto c = static_cast<unsigned char>(raw[i]);
      if (c < 0x80) {
        text += static_cast<char>(c);
      } else {
        text += static_cast<char>(0xC0 | (c >> 6));
        text += static_cast<char>(0x80 | (c & 0x3F));
      }
    }
  }
  PyLiteral dict;
  try {
    dict = detail::parse_py_literal(text);
  } catch (const detail::PyLiteralError& e) {
    throw NpyHeaderError(start, std::string("header does not parse: ") + e.what());
  }
  if (dict.kind != PyLiteral::Kind::dict) {
    throw NpyHeaderError(start,
                         std::string("header is ") + py_kind_name(dict.kind) + ", not a dict");
  }
  const PyLiteral* descr = nullptr;
  const PyLiteral* fortran = nullptr;
  const PyLiteral* shape = nullptr;
  std::set<std::string> keys;
  for (std::size_t i = 0; i < dict.items.size(); i += 2) {
    const PyLiteral& k = dict.items[i];
    if (k.kind != PyLiteral::Kind::str)
      throw NpyHeaderError(start + k.position, "a key is not a str");
    // A repeated key keeps its last value in Python; numpy then sees one key.
    keys.insert(k.text);
    if (k.text == "descr") {
      descr = &dict.items[i + 1];
    } else if (k.text == "fortran_order") {
      fortran = &dict.items[i + 1];
    } else if (k.text == "shape") {
      shape = &dict.items[i + 1];
    } else {
      throw NpyHeaderError(start + k.position, "unexpected key " + detail::py_repr(k.text) +
                                                   " (keys are descr, fortran_order, shape)");
    }
  }
  if (descr == nullptr || fortran == nullptr || shape == nullptr) {
    throw NpyHeaderError(start, "header lacks one of the keys descr, fortran_order, shape");
  }
  try {
    h.dtype = detail::dtype_from_literal(*descr, "descr");
  } catch (const std::invalid_argument& e) {
    throw NpyHeaderError(start + descr->position, e.what());
  }
  if (fortran->kind != PyLiteral::Kind::boolean) {
    throw NpyHeaderError(start + fortran->position, "fortran_order is not True or False");
  }
  h.fortran_order = fortran->flag;
  if (shape->kind != PyLiteral::Kind::tuple) {
    throw NpyHeaderError(start + shape->position, "shape is not a tuple");
  }
  if (shape->items.size() > kMaxDims) {
    throw NpyHeaderError(start + shape->position,
                         "shape has " + std::to_string(shape->items.size()) +
                             " dimensions, more than " + std::to_string(kMaxDims));
  }
  for (const auto& d : shape->items) {
    if (d.kind != PyLiteral::Kind::integer || d.negative || d.magnitude > SIZE_MAX) {
      throw NpyHeaderError(start + d.position, "shape holds something other than a size");
    }
    h.shape.push_back(static_cast<std::size_t>(d.magnitude));
  }
  bool overflow = false;
  h.nbytes = checked_nbytes(h.dtype, h.shape, overflow);
  h.data_offset = start + hlen;
  try {  // every accepted header must give a view: its strides must be representable too
    (void)contiguous_strides(h.shape, h.dtype.itemsize(), h.fortran_order ? Order::F : Order::C);
  } catch (const std::invalid_argument&) {
    overflow = true;
  }
  for (const std::size_t d : h.shape) {
    if (d > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max())) overflow = true;
  }
  if (overflow || h.nbytes > block_size - h.data_offset) {
    throw NpyHeaderError(
        h.data_offset,
        "the data of shape " + shape_repr(h.shape) + " " + h.dtype.str() +
            (overflow ? " overflows"
                      : " (" + std::to_string(h.nbytes) + " bytes) runs past the end of the " +
                            std::to_string(block_size) + "-byte block"));
  }
  return h;
}

NpyArray::NpyArray(SharedMemory block, NpyHeader header)
    : block_(std::move(block)), header_(std::move(header)) {}

NpyArray NpyArray::create(const Dtype& dtype, std::span<const std::size_t> shape,
                          const NpyCreateOptions& options) {
  const auto header = make_npy_header(dtype, shape, options.order);
  bool overflow = false;
  const std::size_t nbytes = checked_nbytes(dtype, shape, overflow);
  if (overflow || nbytes > SIZE_MAX - header.size()) {
    throw InvalidArgument(Errc::too_large, "array size overflows");
  }
  SharedMemory block =
      options.name.empty()
          ? SharedMemory::create(header.size() + nbytes, options.block)
          : SharedMemory::create(header.size() + nbytes, options.name, options.block);
  try {
    std::memcpy(block.buf().data(), header.data(), header.size());
    NpyHeader h = read_npy_header(block.buf());
    return NpyArray(std::move(block), std::move(h));
  } catch (...) {
    try {
      block.unlink();
    } catch (...) {
    }
    throw;
  }
}

NpyArray NpyArray::attach(std::string_view name, const AttachOptions& options) {
  // Registered only once the header is read: a block that is not an .npy block must not be
  // left registered, or this process's exit would destroy it for its owner.
  AttachOptions untracked = options;
  untracked.track = false;
  NpyArray array = adopt(SharedMemory::attach(name, untracked));
  if (options.track) array.block_.track();
  return array;
}

NpyArray NpyArray::adopt(SharedMemory block) {
  NpyHeader h = read_npy_header(block.buf());
  return NpyArray(std::move(block), std::move(h));
}

ArrayView NpyArray::view() const {
  return ArrayView(block_, header_.dtype, header_.shape, order(), header_.data_offset,
                   Alignment::any);
}

ConstArrayView NpyArray::cview() const {
  return ConstArrayView(block_, header_.dtype, header_.shape, order(), header_.data_offset,
                        Alignment::any);
}

}  // namespace shm
