// shm::Dtype and shm::Float16: numpy's dtype spellings and its float16 conversions.
#include <algorithm>
#include <limits>
#include <set>

#include "libshm/array.hpp"
#include "libshm/error.hpp"
#include "py_literal.hpp"

namespace shm {

// ---- Float16: numpy's npy_halfbits_to_floatbits / npy_floatbits_to_halfbits --------------

float Float16::to_float() const noexcept {
  const std::uint32_t h = bits;
  const std::uint32_t sign = (h & 0x8000u) << 16;
  const std::uint32_t exp = h & 0x7c00u;
  std::uint32_t f = 0;
  if (exp == 0) {
    std::uint32_t sig = h & 0x03ffu;
    if (sig == 0) {
      f = sign;
    } else {  // subnormal: normalise
      sig <<= 1;
      std::uint32_t shift = 0;
      while ((sig & 0x0400u) == 0) {
        sig <<= 1;
        ++shift;
      }
      f = sign + ((127 - 15 - shift) << 23) + ((sig & 0x03ffu) << 13);
    }
  } else if (exp == 0x7c00u) {
    f = sign + 0x7f800000u + ((h & 0x03ffu) << 13);
  } else {
    f = sign + (((h & 0x7fffu) + 0x1c000u) << 13);
  }
  return std::bit_cast<float>(f);
}

Float16 Float16::from_float(float value) noexcept {
  const auto f = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((f & 0x80000000u) >> 16);
  std::uint32_t exp = f & 0x7f800000u;
  if (exp >= 0x47800000u) {  // overflow, inf or NaN
    if (exp == 0x7f800000u && (f & 0x007fffffu) != 0) {
      auto ret = static_cast<std::uint16_t>(0x7c00u + ((f & 0x007fffffu) >> 13));
      if (ret == 0x7c00u) ++ret;  // keep it a NaN
      return Float16{static_cast<std::uint16_t>(sign + ret)};
    }
    return Float16{static_cast<std::uint16_t>(sign + 0x7c00u)};
  }
  if (exp <= 0x38000000u) {  // subnormal half or zero
    if (exp < 0x33000000u) return Float16{sign};
    exp >>= 23;
    std::uint32_t sig = 0x00800000u + (f & 0x007fffffu);
    sig >>= (113 - exp);
    if ((sig & 0x00003fffu) != 0x00001000u || (f & 0x000007ffu) != 0) sig += 0x00001000u;
    return Float16{static_cast<std::uint16_t>(sign + (sig >> 13))};
  }
  const auto hexp = static_cast<std::uint16_t>((exp - 0x38000000u) >> 13);
  std::uint32_t sig = f & 0x007fffffu;
  if ((sig & 0x00003fffu) != 0x00001000u) sig += 0x00001000u;
  // A carry out of the significand increments the exponent: still the right answer (up to inf).
  return Float16{static_cast<std::uint16_t>(sign + hexp + (sig >> 13))};
}

// ---- Dtype -----------------------------------------------------------------------------------

namespace {

// Largest item size accepted: numpy's (a C int).
constexpr std::size_t kMaxItemsize = std::numeric_limits<std::int32_t>::max();

[[noreturn]] void bad_dtype(std::string_view str, const std::string& why) {
  throw InvalidArgument(Errc::invalid_argument,
                        "cannot parse dtype '" + std::string(str) + "': " + why);
}

bool one_byte_order_free(DtypeKind kind, std::size_t itemsize) {
  return itemsize == 1 || kind == DtypeKind::boolean || kind == DtypeKind::bytes ||
         kind == DtypeKind::raw || kind == DtypeKind::structured;
}

}  // namespace

Dtype::Dtype() : Dtype(DtypeKind::floating, 8, ByteOrder::little) {}

Dtype::Dtype(DtypeKind kind, std::size_t itemsize, ByteOrder order)
    : kind_(kind), itemsize_(itemsize), order_(order) {}

Dtype Dtype::parse(std::string_view str) {
  std::string_view s = str;
  if (s.empty()) bad_dtype(str, "empty");
  char order = '=';
  if (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=') {
    order = s[0];
    s.remove_prefix(1);
  }
  if (s.empty()) bad_dtype(str, "no type after the byte order");
  const char code = s[0];
  const std::string_view digits = s.substr(1);
  if (digits.empty()) bad_dtype(str, std::string("no size after '") + code + "'");
  std::size_t n = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') bad_dtype(str, "size '" + std::string(digits) + "' is not a number");
    n = n * 10 + static_cast<std::size_t>(c - '0');
    if (n > kMaxItemsize) bad_dtype(str, "size too large");
  }
  if (digits.size() > 1 && digits[0] == '0') bad_dtype(str, "size with a leading zero");
  DtypeKind kind{};
  std::size_t itemsize = n;
  switch (code) {
    case 'b':
      if (n != 1) bad_dtype(str, "bool is 'b1'");
      kind = DtypeKind::boolean;
      break;
    case 'i':
    case 'u':
      if (n != 1 && n != 2 && n != 4 && n != 8) {
        bad_dtype(str, "integers have 1, 2, 4 or 8 bytes, not " + std::to_string(n));
      }
      kind = code == 'i' ? DtypeKind::signed_integer : DtypeKind::unsigned_integer;
      break;
    case 'f':
      if (n != 2 && n != 4 && n != 8) {
        bad_dtype(str, "floats have 2, 4 or 8 bytes, not " + std::to_string(n) +
                           (n > 8 ? " (long double is not supported)" : ""));
      }
      kind = DtypeKind::floating;
      break;
    case 'c':
      if (n != 8 && n != 16) bad_dtype(str, "complex numbers have 8 or 16 bytes");
      kind = DtypeKind::complex;
      break;
    case 'S':
    case 'V':
      if (n == 0) bad_dtype(str, "size 0");
      kind = code == 'S' ? DtypeKind::bytes : DtypeKind::raw;
      break;
    case 'U':
      if (n == 0) bad_dtype(str, "size 0");
      if (n > kMaxItemsize / 4) bad_dtype(str, "size too large");
      kind = DtypeKind::unicode;
      itemsize = 4 * n;
      break;
    case 'M':
    case 'm':
      bad_dtype(str, "datetime and timedelta dtypes are not supported");
    case 'O':
      bad_dtype(str, "object arrays hold pointers and cannot be shared");
    default:
      bad_dtype(str, std::string("unknown type code '") +
                         (code >= 0x20 && code < 0x7f ? std::string(1, code) : "?") + "'");
  }
  ByteOrder bo = order == '<' ? ByteOrder::little : order == '>' ? ByteOrder::big : kNativeOrder;
  if (one_byte_order_free(kind, itemsize)) bo = ByteOrder::not_applicable;
  return Dtype(kind, itemsize, bo);
}

namespace detail {

std::vector<std::size_t> shape_from_literal(const PyLiteral& v, std::string_view whole) {
  std::vector<std::size_t> shape;
  auto dim = [&](const PyLiteral& d) {
    if (d.kind != PyLiteral::Kind::integer || d.negative) {
      bad_dtype(whole, "a field's shape must hold non-negative ints");
    }
    if (d.magnitude > kMaxItemsize) bad_dtype(whole, "a field's shape is too large");
    return static_cast<std::size_t>(d.magnitude);
  };
  if (v.kind == PyLiteral::Kind::integer) {
    shape.push_back(dim(v));
  } else if (v.kind == PyLiteral::Kind::tuple) {
    if (v.items.size() > kMaxDims) bad_dtype(whole, "a field's shape has too many dimensions");
    for (const auto& d : v.items) shape.push_back(dim(d));
  } else {
    bad_dtype(whole, std::string("a field's shape must be a tuple, not ") + py_kind_name(v.kind));
  }
  return shape;
}

Dtype dtype_from_literal(const PyLiteral& v, std::string_view whole) {
  if (v.kind == PyLiteral::Kind::str) {
    try {
      return Dtype::parse(v.text);
    } catch (const std::invalid_argument& e) {
      bad_dtype(whole, e.what());
    }
  }
  if (v.kind != PyLiteral::Kind::list) {
    bad_dtype(whole, std::string("a descr is a str or a list, not ") + py_kind_name(v.kind));
  }
  std::vector<Field> fields;
  std::size_t offset = 0;
  std::size_t unnamed = 0;
  for (const auto& entry : v.items) {
    if (entry.kind != PyLiteral::Kind::tuple ||
        (entry.items.size() != 2 && entry.items.size() != 3)) {
      bad_dtype(whole, "a field is a tuple (name, type) or (name, type, shape)");
    }
    const PyLiteral& name = entry.items[0];
    if (name.kind == PyLiteral::Kind::tuple) bad_dtype(whole, "field titles are not supported");
    if (name.kind != PyLiteral::Kind::str) bad_dtype(whole, "a field name must be a str");
    Field f;
    f.dtype = dtype_from_literal(entry.items[1], whole);
    if (entry.items.size() == 3) f.shape = shape_from_literal(entry.items[2], whole);
    if (name.text.empty() && f.dtype.kind() == DtypeKind::raw && entry.items.size() == 2) {
      offset += f.dtype.itemsize();  // padding
      if (offset > kMaxItemsize) bad_dtype(whole, "record too large");
      continue;
    }
    f.name = name.text.empty() ? "f" + std::to_string(unnamed) : name.text;
    ++unnamed;
    f.offset = offset;
    const std::size_t size = f.size();
    if (size > kMaxItemsize || offset + size > kMaxItemsize) bad_dtype(whole, "record too large");
    offset += size;
    fields.push_back(std::move(f));
  }
  // The descr of a plain dtype: [('', '<f4')].
  if (v.items.size() == 1 && fields.size() == 1 && v.items[0].items.size() == 2 &&
      v.items[0].items[0].text.empty()) {
    return fields[0].dtype;
  }
  try {
    return Dtype::structured(std::move(fields), offset);
  } catch (const std::invalid_argument& e) {
    bad_dtype(whole, e.what());
  }
}

}  // namespace detail

Dtype Dtype::from_descr(std::string_view descr) {
  detail::PyLiteral v;
  try {
    v = detail::parse_py_literal(descr);
  } catch (const detail::PyLiteralError& e) {
    bad_dtype(descr, e.what());
  }
  return detail::dtype_from_literal(v, descr);
}

Dtype Dtype::structured(std::vector<Field> fields, std::size_t itemsize) {
  std::sort(fields.begin(), fields.end(),
            [](const Field& a, const Field& b) { return a.offset < b.offset; });
  std::set<std::string_view> names;
  std::size_t end = 0;
  for (const auto& f : fields) {
    if (f.name.empty()) throw InvalidArgument(Errc::invalid_argument, "a field has an empty name");
    if (!names.insert(f.name).second) {
      throw InvalidArgument(Errc::invalid_argument, "field '" + f.name + "' appears twice");
    }
    if (f.shape.size() > kMaxDims) {
      throw InvalidArgument(Errc::invalid_argument,
                            "field '" + f.name + "' has too many dimensions");
    }
    const std::size_t size = f.size();
    if (size == std::numeric_limits<std::size_t>::max()) {
      throw InvalidArgument(Errc::invalid_argument, "field '" + f.name + "' is too large");
    }
    if (f.offset < end)
      throw InvalidArgument(Errc::invalid_argument, "field '" + f.name + "' overlaps another");
    if (f.offset > itemsize || size > itemsize - f.offset) {
      throw InvalidArgument(Errc::invalid_argument,
                            "field '" + f.name + "' (offset " + std::to_string(f.offset) + ", " +
                                std::to_string(size) + " bytes) does not fit in " +
                                std::to_string(itemsize) + " bytes");
    }
    end = f.offset + size;
  }
  Dtype d(DtypeKind::structured, itemsize, ByteOrder::not_applicable);
  d.fields_ = std::move(fields);
  return d;
}

std::size_t Field::size() const noexcept {
  std::size_t n = dtype.itemsize();
  for (const std::size_t d : shape) {
    if (d != 0 && n > std::numeric_limits<std::size_t>::max() / d) {
      return std::numeric_limits<std::size_t>::max();
    }
    n *= d;
  }
  return n;
}

bool Dtype::is_native() const noexcept {
  if (kind_ == DtypeKind::structured) {
    return std::all_of(fields_.begin(), fields_.end(),
                       [](const Field& f) { return f.dtype.is_native(); });
  }
  return order_ == ByteOrder::not_applicable || order_ == kNativeOrder;
}

std::size_t Dtype::alignment() const noexcept {
  switch (kind_) {
    case DtypeKind::signed_integer:
    case DtypeKind::unsigned_integer:
    case DtypeKind::floating:
      return itemsize_;
    case DtypeKind::complex:
      return itemsize_ / 2;
    case DtypeKind::unicode:
      return 4;
    default:
      return 1;
  }
}

std::string Dtype::str() const {
  std::string s(1, order_ == ByteOrder::little ? '<' : order_ == ByteOrder::big ? '>' : '|');
  switch (kind_) {
    case DtypeKind::boolean:
      return s + "b1";
    case DtypeKind::signed_integer:
      return s + "i" + std::to_string(itemsize_);
    case DtypeKind::unsigned_integer:
      return s + "u" + std::to_string(itemsize_);
    case DtypeKind::floating:
      return s + "f" + std::to_string(itemsize_);
    case DtypeKind::complex:
      return s + "c" + std::to_string(itemsize_);
    case DtypeKind::bytes:
      return s + "S" + std::to_string(itemsize_);
    case DtypeKind::unicode:
      return s + "U" + std::to_string(itemsize_ / 4);
    case DtypeKind::raw:
    case DtypeKind::structured:
      return s + "V" + std::to_string(itemsize_);
  }
  return s;
}

std::string Dtype::descr() const {
  if (kind_ != DtypeKind::structured) return detail::py_repr(str());
  std::string out = "[";
  std::size_t at = 0;
  auto add = [&](const std::string& entry) {
    if (out.size() > 1) out += ", ";
    out += entry;
  };
  for (const auto& f : fields_) {
    if (f.offset > at) add("('', '|V" + std::to_string(f.offset - at) + "')");
    std::string e = "(" + detail::py_repr(f.name) + ", " + f.dtype.descr();
    if (!f.shape.empty()) {
      e += ", (";
      for (std::size_t i = 0; i < f.shape.size(); ++i) {
        e += (i ? ", " : "") + std::to_string(f.shape[i]);
      }
      e += f.shape.size() == 1 ? ",)" : ")";
    }
    add(e + ")");
    at = f.offset + f.size();
  }
  if (itemsize_ > at) add("('', '|V" + std::to_string(itemsize_ - at) + "')");
  return out + "]";
}

const Field& Dtype::field(std::string_view name) const {
  for (const auto& f : fields_) {
    if (f.name == name) return f;
  }
  throw InvalidArgument(Errc::invalid_argument,
                        "dtype " + str() + " has no field '" + std::string(name) + "'");
}

Dtype Dtype::native() const {
  Dtype d = *this;
  if (d.order_ != ByteOrder::not_applicable) d.order_ = kNativeOrder;
  for (auto& f : d.fields_) f.dtype = f.dtype.native();
  return d;
}

bool operator==(const Dtype& a, const Dtype& b) {
  return a.kind_ == b.kind_ && a.itemsize_ == b.itemsize_ && a.order_ == b.order_ &&
         a.fields_ == b.fields_;
}

namespace detail {

void check_type(const Dtype& dtype, DtypeKind kind, std::size_t size, const char* type_name) {
  if (dtype.kind() != kind || dtype.itemsize() != size) {
    throw InvalidArgument(Errc::wrong_type, std::string("dtype ") + dtype.str() +
                                                " cannot be accessed as " + type_name + " (" +
                                                std::to_string(size) + " bytes)");
  }
}

}  // namespace detail

}  // namespace shm
