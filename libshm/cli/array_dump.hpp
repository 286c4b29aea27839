// What `pyshm dump` shows of an array (a block with an .npy header, or any block read with
// --dtype/--shape): numpy-style text and JSON. The format is described in README.md (pyshm).
#pragma once

#include <cstddef>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "libshm/array.hpp"
#include "libshm/item.hpp"

namespace pyshm {

/// numpy's default print threshold: arrays with more elements are summarised.
inline constexpr std::size_t kSummaryThreshold = 1000;
/// numpy's default edgeitems: a summarised axis shows this many items at each end.
inline constexpr std::size_t kEdgeItems = 3;

/// The array laid out as numpy's repr lays it out, without the `array(...)` around it: nested
/// brackets, ", " between items, each row of a 2-D array on its own line, blank lines between
/// 2-D blocks; with more than kSummaryThreshold elements, every axis longer than 2 × kEdgeItems
/// shows its first and last kEdgeItems items with `...` between. Each element is written as
/// Python 3.`cpython_minor`'s repr() of what numpy's tolist() gives for it (so an array without
/// `...` reads back in Python as its tolist()): bool True/False, int, float (f2 and f4 as the
/// double they convert to), complex `(1.5-2j)`, bytes `b'ab'` (trailing NULs stripped, as numpy
/// does; V<n> whole), str `'é'`; a record of a structured dtype as a tuple of its fields, a
/// subarray field as a list. Rows are not padded to a common width nor wrapped. An empty array
/// is `[]`; a 0-d array is its one element. Throws std::invalid_argument for a `U` element
/// holding a code point that is not a Unicode scalar value (naming the element).
void print_array(std::ostream& out, const shm::ConstArrayView& array,
                 int cpython_minor = shm::kNewestReprMinor);

/// The whole array (never summarised) as JSON: nested lists as numpy's tolist() nests them,
/// each scalar in Item JSON (docs/format.md): bool, integer, float with {"float": "nan" | "inf"
/// | "-inf"}, bytes {"bytes": "<hex>"}, str a string; a complex number [real, imag], a record a
/// list of its fields, a subarray field a nested list. Throws as print_array.
void print_array_json(std::ostream& out, const shm::ConstArrayView& array);

/// Python's repr of a shape tuple: `(1000, 3)`, `(5,)`, `()`.
std::string shape_repr(std::span<const std::size_t> shape);

/// A dtype as pyshm names it: numpy's dtype.str (`<f8`), or dtype.descr for a structured
/// dtype (`[('a', '<i4'), ('b', '<f8')]`), whose str (`|V12`) would not say what it holds.
std::string dtype_text(const shm::Dtype& dtype);

/// What `pyshm ls` says of an .npy block: `npy <f8 (1000, 3)`, ` fortran` appended for
/// Fortran order.
std::string npy_kind(const shm::NpyHeader& header);

/// A dtype from --dtype: numpy's dtype.str (`<f8`, `>i2`, `|S5`) or, from `[` or a quote on,
/// a dtype.descr literal (`[('a', '<i4'), ('b', '<f8')]`). Throws std::invalid_argument.
shm::Dtype parse_dtype(const std::string& text);

/// A shape from --shape: sizes separated by commas (`1000,3`, `5`), or the empty string for a
/// 0-d array. Throws std::invalid_argument naming the text.
std::vector<std::size_t> parse_shape(const std::string& text);

}  // namespace pyshm
