#include "array_dump.hpp"

#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "libshm/item_json.hpp"

namespace pyshm {

namespace {

enum class Style { text, json };

// Writes elements of one view: scalars, or records through one writer per field (over the
// field's view, whose extra dimensions are a subarray field's shape).
class ElementWriter {
 public:
  ElementWriter(shm::ConstArrayView view, Style style, int cpython_minor)
      : view_(std::move(view)), style_(style), minor_(cpython_minor) {
    for (const shm::Field& f : view_.dtype().fields()) {
      subarray_ndims_.push_back(f.shape.size());
      fields_.emplace_back(view_.field(f.name), style, minor_);
    }
  }

  // The element at `index` (one index per dimension of the view, subarray dimensions not
  // included); `index` is scratch space, restored on return.
  void write(std::string& out, std::vector<std::size_t>& index) const {
    if (fields_.empty()) {
      write_scalar(out, index);
      return;
    }
    out += style_ == Style::text ? '(' : '[';
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (i > 0) out += separator();
      fields_[i].write_subarray(out, index, subarray_ndims_[i]);
    }
    if (style_ == Style::text && fields_.size() == 1) out += ',';  // Python's 1-tuple
    out += style_ == Style::text ? ')' : ']';
  }

 private:
  [[nodiscard]] const char* separator() const { return style_ == Style::text ? ", " : ","; }

  // A subarray field as a nested list, whole (numpy summarises only the outer array).
  void write_subarray(std::string& out, std::vector<std::size_t>& index, std::size_t left) const {
    if (left == 0) {
      write(out, index);
      return;
    }
    const std::size_t n = view_.shape()[index.size()];
    out += '[';
    for (std::size_t k = 0; k < n; ++k) {
      if (k > 0) out += separator();
      index.push_back(k);
      write_subarray(out, index, left - 1);
      index.pop_back();
    }
    out += ']';
  }

  void put(std::string& out, const shm::Item& item) const {
    out += style_ == Style::text ? shm::python_repr(item, minor_) : shm::to_json(item);
  }

  template <typename Narrow, typename Wide>
  [[nodiscard]] Wide load_as(std::span<const std::size_t> index) const {
    return static_cast<Wide>(view_.load<Narrow>(index));
  }

  // An integer element of any size, widened to Wide (std::int64_t or std::uint64_t, which
  // also gives the element's signedness).
  template <typename Wide>
  [[nodiscard]] Wide load_integer(std::span<const std::size_t> index) const {
    constexpr bool kSigned = std::is_signed_v<Wide>;
    switch (view_.dtype().itemsize()) {
      case 1:
        return load_as<std::conditional_t<kSigned, std::int8_t, std::uint8_t>, Wide>(index);
      case 2:
        return load_as<std::conditional_t<kSigned, std::int16_t, std::uint16_t>, Wide>(index);
      case 4:
        return load_as<std::conditional_t<kSigned, std::int32_t, std::uint32_t>, Wide>(index);
      default:
        return load_as<Wide, Wide>(index);
    }
  }

  [[nodiscard]] double load_float(std::span<const std::size_t> index) const {
    switch (view_.dtype().itemsize()) {
      case 2:
        return view_.load<shm::Float16>(index).to_float();
      case 4:
        return load_as<float, double>(index);
      default:
        return load_as<double, double>(index);
    }
  }

  [[nodiscard]] std::complex<double> load_complex(std::span<const std::size_t> index) const {
    if (view_.dtype().itemsize() == 8) {
      const auto c = view_.load<std::complex<float>>(index);
      return {c.real(), c.imag()};
    }
    return view_.load<std::complex<double>>(index);
  }

  // Python's repr of a complex: each part as float's repr without the ".0" it adds to whole
  // numbers, the imaginary part signed, no real part (and no parentheses) when it is +0.0.
  void put_complex(std::string& out, std::complex<double> c) const {
    if (style_ == Style::json) {
      out +=
          '[' + shm::to_json(shm::Item{c.real()}) + ',' + shm::to_json(shm::Item{c.imag()}) + ']';
      return;
    }
    const auto part = [this](double x) {
      std::string s = shm::python_repr(shm::Item{x}, minor_);
      if (s.ends_with(".0")) s.resize(s.size() - 2);
      return s;
    };
    const std::string imag = part(c.imag());
    if (c.real() == 0.0 && !std::signbit(c.real())) {
      out += imag + 'j';
      return;
    }
    out += '(' + part(c.real()) + (imag.front() == '-' ? "" : "+") + imag + "j)";
  }

  void write_scalar(std::string& out, std::span<const std::size_t> index) const {
    switch (view_.dtype().kind()) {
      case shm::DtypeKind::boolean:
        put(out, view_.load<bool>(index));
        return;
      case shm::DtypeKind::signed_integer:
        put(out, load_integer<std::int64_t>(index));
        return;
      case shm::DtypeKind::unsigned_integer: {
        const auto v = load_integer<std::uint64_t>(index);
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          out += std::to_string(v);  // beyond Item's int64; the same digits in Python and JSON
        } else {
          put(out, static_cast<std::int64_t>(v));
        }
        return;
      }
      case shm::DtypeKind::floating:
        put(out, load_float(index));
        return;
      case shm::DtypeKind::complex:
        put_complex(out, load_complex(index));
        return;
      case shm::DtypeKind::bytes:
        put(out, shm::Bytes{view_.text(index)});
        return;
      case shm::DtypeKind::unicode:
        try {
          put(out, view_.text(index));
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument("element " + shape_repr(index) + ": " + e.what());
        }
        return;
      case shm::DtypeKind::raw:
      case shm::DtypeKind::structured: {  // a record without fields: numpy shows its bytes
        const auto bytes = view_.element(index);
        put(out,
            shm::Bytes{std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size())});
        return;
      }
    }
  }

  shm::ConstArrayView view_;
  Style style_;
  int minor_;
  // One writer per field of a structured dtype, in offset order, over the field's view, and
  // the dimensions that view adds (a subarray field's).
  std::vector<ElementWriter> fields_;
  std::vector<std::size_t> subarray_ndims_;
};

// One element, through `scratch` (reused, so that a large dump allocates once).
void write_element(std::ostream& out, const ElementWriter& writer, std::vector<std::size_t>& index,
                   std::string& scratch) {
  scratch.clear();
  writer.write(scratch, index);
  out << scratch;
}

// numpy's _formatArray without line wrapping, streamed: items of the last axis on one line,
// those of axis k separated by a comma and ndim - k - 1 newlines, then k + 1 spaces.
void write_text(std::ostream& out, const ElementWriter& writer, std::span<const std::size_t> shape,
                bool summarise, std::vector<std::size_t>& index, std::string& scratch) {
  const std::size_t axis = index.size();
  if (axis == shape.size()) {
    write_element(out, writer, index, scratch);
    return;
  }
  const std::size_t n = shape[axis];
  const bool summary = summarise && n > 2 * kEdgeItems;
  const std::size_t left = shape.size() - axis;
  const std::string between =
      left == 1 ? ", " : "," + std::string(left - 1, '\n') + std::string(axis + 1, ' ');
  out << '[';
  for (std::size_t k = 0; k < n; ++k) {
    if (summary && k == kEdgeItems) {
      out << between << "...";
      k = n - kEdgeItems;
    }
    if (k > 0) out << between;
    index.push_back(k);
    write_text(out, writer, shape, summarise, index, scratch);
    index.pop_back();
  }
  out << ']';
}

void write_json(std::ostream& out, const ElementWriter& writer, std::span<const std::size_t> shape,
                std::vector<std::size_t>& index, std::string& scratch) {
  const std::size_t axis = index.size();
  if (axis == shape.size()) {
    write_element(out, writer, index, scratch);
    return;
  }
  out << '[';
  for (std::size_t k = 0; k < shape[axis]; ++k) {
    if (k > 0) out << ',';
    index.push_back(k);
    write_json(out, writer, shape, index, scratch);
    index.pop_back();
  }
  out << ']';
}

}  // namespace

void print_array(std::ostream& out, const shm::ConstArrayView& array, int cpython_minor) {
  if (array.size() == 0) {
    out << "[]";
    return;
  }
  const ElementWriter writer(array, Style::text, cpython_minor);
  std::vector<std::size_t> index;
  std::string scratch;
  write_text(out, writer, array.shape(), array.size() > kSummaryThreshold, index, scratch);
}

void print_array_json(std::ostream& out, const shm::ConstArrayView& array) {
  const ElementWriter writer(array, Style::json, shm::kNewestReprMinor);
  std::vector<std::size_t> index;
  std::string scratch;
  write_json(out, writer, array.shape(), index, scratch);
}

std::string shape_repr(std::span<const std::size_t> shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::string dtype_text(const shm::Dtype& dtype) {
  return dtype.kind() == shm::DtypeKind::structured ? dtype.descr() : dtype.str();
}

std::string npy_kind(const shm::NpyHeader& header) {
  return "npy " + dtype_text(header.dtype) + " " + shape_repr(header.shape) +
         (header.fortran_order ? " fortran" : "");
}

shm::Dtype parse_dtype(const std::string& text) {
  const std::size_t first = text.find_first_not_of(' ');
  if (first != std::string::npos &&
      (text[first] == '[' || text[first] == '\'' || text[first] == '"')) {
    return shm::Dtype::from_descr(text);
  }
  return shm::Dtype::parse(text);
}

std::vector<std::size_t> parse_shape(const std::string& text) {
  const auto bad = [&text](const std::string& why) {
    return std::invalid_argument(
        "--shape takes sizes separated by commas, like 1000,3 or (5,), "
        "not '" +
        text + "': " + why);
  };
  std::string body = text;
  if (body.size() >= 2 && body.front() == '(' && body.back() == ')') {
    body = body.substr(1, body.size() - 2);
  }
  std::vector<std::size_t> shape;
  std::size_t at = 0;
  while (at < body.size()) {
    std::size_t end = body.find(',', at);
    if (end == std::string::npos) end = body.size();
    std::string part = body.substr(at, end - at);
    const std::size_t b = part.find_first_not_of(' ');
    const std::size_t e = part.find_last_not_of(' ');
    part = b == std::string::npos ? "" : part.substr(b, e - b + 1);
    if (part.empty()) {
      throw bad("an empty size");  // a final comma, as in Python's (5,), ends the loop first
    } else if (part.find_first_not_of("0123456789") != std::string::npos) {
      throw bad("'" + part + "' is not a size");
    } else {
      if (shape.size() == shm::kMaxDims) {
        throw bad("more than " + std::to_string(shm::kMaxDims) + " dimensions");
      }
      try {
        shape.push_back(static_cast<std::size_t>(std::stoull(part)));
      } catch (const std::out_of_range&) {
        throw bad("'" + part + "' is too large");
      }
    }
    at = end + 1;
  }
  return shape;
}

}  // namespace pyshm
