// Which code points CPython's repr() writes as they are, per CPython version (private).
//
// The tables are generated from each interpreter's own str.isprintable() by
// compat/tools/gen_printable.py into printable_tables.cpp; the ctest test printable.tables
// checks them against every installed CPython.
#pragma once

#include <span>

namespace shm::detail {

/// The code points first – last, both included.
struct CodeRange {
  char32_t first;  ///< the first code point of the range
  char32_t last;   ///< the last code point of the range
};

/// The code points for which CPython 3.`cpython_minor`'s str.isprintable() is true, as sorted
/// disjoint ranges; empty for a version without a table (only 3.8 – 3.13 have one).
std::span<const CodeRange> printable_ranges(int cpython_minor) noexcept;

}  // namespace shm::detail
