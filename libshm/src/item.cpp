// shm::Item: Python's equality, repr() and type names for ShareableList values.
#include "libshm/item.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <stdexcept>

#include "bytes_text.hpp"
#include "float_repr.hpp"
#include "item_view.hpp"
#include "libshm/error.hpp"
#include "printable.hpp"
#include "utf8.hpp"

namespace shm {
namespace {

// Python compares int with float exactly (2**53 + 1 != 2.0**53), never by converting the int
// to a double, so neither may be rounded here.
bool int_equals_double(std::int64_t i, double d) noexcept {
  // [-2^63, 2^63) as doubles: every integral double in it converts to int64 exactly.
  constexpr double kLow = -9223372036854775808.0;
  constexpr double kHigh = 9223372036854775808.0;
  if (!(d >= kLow && d < kHigh) || std::trunc(d) != d) return false;  // NaN fails the range
  return static_cast<std::int64_t>(d) == i;
}

// A bool, int or float as a number; nullopt-like flag for the other types.
struct Number {
  bool is_number = false;  // false for None, str and bytes
  bool is_double = false;  // which of the two members holds the value
  std::int64_t i = 0;      // bool or int
  double d = 0;            // float
};

Number as_number(const ItemView& item) noexcept {
  if (const bool* b = std::get_if<bool>(&item)) return {true, false, *b ? 1 : 0, 0};
  if (const auto* i = std::get_if<std::int64_t>(&item)) return {true, false, *i, 0};
  if (const double* d = std::get_if<double>(&item)) return {true, true, 0, *d};
  return {};
}

using detail::append_ascii_repr;
using detail::repr_quote;

// Appends an escape such as \x7f or \u2028: `prefix`, then `width` hex digits.
void append_escape(std::string& out, const char* prefix, unsigned value, int width) {
  out += prefix;
  detail::append_hex(out, value, width);
}

void check_minor(int cpython_minor) {
  if (cpython_minor < kOldestReprMinor || cpython_minor > kNewestReprMinor) {
    throw InvalidArgument(Errc::invalid_argument, "no repr table for CPython 3." +
                                                      std::to_string(cpython_minor) + " (3." +
                                                      std::to_string(kOldestReprMinor) + " to 3." +
                                                      std::to_string(kNewestReprMinor) + ")");
  }
}

bool printable_in(std::span<const detail::CodeRange> ranges, char32_t cp) noexcept {
  // The first range that ends at or after cp holds it if it starts at or before it.
  const auto it = std::lower_bound(
      ranges.begin(), ranges.end(), cp,
      [](const detail::CodeRange& range, char32_t value) { return range.last < value; });
  return it != ranges.end() && it->first <= cp;
}

std::string str_repr(std::string_view text, int cpython_minor) {
  const auto printable = detail::printable_ranges(cpython_minor);
  const char quote = repr_quote(text);
  std::string out(1, quote);
  if (!detail::utf8_code_points(text)) {
    // Not a str CPython could hold; show the bytes rather than fail.
    for (unsigned char c : text) {
      if (!append_ascii_repr(out, c, quote)) append_escape(out, "\\x", c, 2);
    }
  } else {
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t start = at;
      const char32_t cp = detail::utf8_next(text, at);
      if (append_ascii_repr(out, static_cast<unsigned>(cp), quote)) continue;
      if (printable_in(printable, cp)) {
        out.append(text.substr(start, at - start));
      } else if (cp <= 0xFF) {
        append_escape(out, "\\x", static_cast<unsigned>(cp), 2);
      } else if (cp <= 0xFFFF) {
        append_escape(out, "\\u", static_cast<unsigned>(cp), 4);
      } else {
        append_escape(out, "\\U", static_cast<unsigned>(cp), 8);
      }
    }
  }
  out += quote;
  return out;
}

std::string bytes_repr(std::string_view data) {
  const char quote = repr_quote(data);
  std::string out = "b";
  out += quote;
  for (unsigned char c : data) {
    if (!append_ascii_repr(out, c, quote)) append_escape(out, "\\x", c, 2);
  }
  out += quote;
  return out;
}

}  // namespace

ItemView view_of(const Item& item) noexcept {
  switch (item.index()) {
    case 0:
      return None{};
    case 1:
      return *std::get_if<bool>(&item);
    case 2:
      return *std::get_if<std::int64_t>(&item);
    case 3:
      return *std::get_if<double>(&item);
    case 4:
      return std::string_view(*std::get_if<std::string>(&item));
    default:
      return BytesView{std::get_if<Bytes>(&item)->data};
  }
}

Item to_item(const ItemView& view) {
  switch (view.index()) {
    case 0:
      return None{};
    case 1:
      return std::get<bool>(view);
    case 2:
      return std::get<std::int64_t>(view);
    case 3:
      return std::get<double>(view);
    case 4:
      return std::string(std::get<std::string_view>(view));
    default:
      return Bytes{std::string(std::get<BytesView>(view).data)};
  }
}

bool python_equal(const Item& a, const Item& b) noexcept {
  return detail::python_equal(view_of(a), view_of(b));
}

bool detail::python_equal(const ItemView& a, const ItemView& b) noexcept {
  const Number x = as_number(a);
  const Number y = as_number(b);
  if (x.is_number || y.is_number) {
    if (!x.is_number || !y.is_number) return false;
    if (x.is_double && y.is_double) return x.d == y.d;  // NaN != NaN, -0.0 == 0.0
    if (x.is_double) return int_equals_double(y.i, x.d);
    if (y.is_double) return int_equals_double(x.i, y.d);
    return x.i == y.i;
  }
  return a == b;  // None, str, bytes: same type and same contents
}

bool python_isprintable(char32_t code_point, int cpython_minor) {
  check_minor(cpython_minor);
  return printable_in(detail::printable_ranges(cpython_minor), code_point);
}

std::string python_repr(const Item& item, int cpython_minor) {
  return detail::python_repr(view_of(item), cpython_minor);
}

std::string detail::python_repr(const ItemView& item, int cpython_minor) {
  check_minor(cpython_minor);
  switch (item.index()) {
    case 0:
      return "None";
    case 1:
      return std::get<bool>(item) ? "True" : "False";
    case 2:
      return std::to_string(std::get<std::int64_t>(item));
    case 3:
      return detail::python_float_repr(std::get<double>(item));
    case 4:
      return str_repr(std::get<std::string_view>(item), cpython_minor);
    default:
      return bytes_repr(std::get<BytesView>(item).data);
  }
}

std::string_view type_name(const Item& item) noexcept {
  static constexpr std::string_view kNames[] = {"NoneType", "bool", "int", "float", "str", "bytes"};
  return kNames[item.index()];
}

}  // namespace shm
