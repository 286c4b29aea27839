// shm::Item: one value of a ShareableList, with Python's equality and repr. Its JSON form, Item
// JSON, is libshm/item_json.hpp (target shm::item_json).
#pragma once

#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace shm {

/// Python's None.
struct None {
  friend bool operator==(None, None) noexcept { return true; }
};

/// A Python `bytes` value: raw bytes, a type distinct from str (std::string holds UTF-8 text).
struct Bytes {
  std::string data;  // the bytes, any values including NUL
  friend bool operator==(const Bytes&, const Bytes&) = default;
};

/// One ShareableList value: None, bool, int (int64), float (double), str (UTF-8) or bytes.
/// The alternatives are in this order; index() tells the type.
using Item = std::variant<None, bool, std::int64_t, double, std::string, Bytes>;

/// A bytes value seen without copying: in a block (ShareableList::view), NUL-stripped as get()
/// strips it, or in an Item (view_of).
struct BytesView {
  std::string_view data;  ///< the bytes

  friend bool operator==(const BytesView&, const BytesView&) = default;
};

/// An item seen without copying: the alternatives of Item, in the same order, with a str's
/// UTF-8 and a bytes' data as views instead of owned strings. From ShareableList::view they
/// point into the block and are valid while the list stays open (not closed, moved or
/// destroyed); another process assigning to the item while a view is used changes what the
/// view shows (there is no locking, as in CPython), so copy what must stay stable.
using ItemView = std::variant<None, bool, std::int64_t, double, std::string_view, BytesView>;

/// The Item an ItemView shows, with its characters copied.
Item to_item(const ItemView& view);

/// A view of `item` (its strings are viewed, not copied; valid while `item` lives unchanged).
ItemView view_of(const Item& item) noexcept;

/// Python's `a == b` for two items, as ShareableList.count and .index use it: numbers compare
/// by value across bool, int and float (1 == True == 1.0, 0 == False == 0.0), NaN equals
/// nothing (not even itself), None equals only None, str equals only str and bytes only bytes.
bool python_equal(const Item& a, const Item& b) noexcept;

/// The oldest CPython 3.x minor version whose repr() python_repr() writes (3.8).
inline constexpr int kOldestReprMinor = 8;
/// The newest CPython 3.x minor version whose repr() python_repr() writes (3.13), the default.
inline constexpr int kNewestReprMinor = 13;

/// Python's repr() of the item, exactly as CPython 3.`cpython_minor` writes it: None, True, 42,
/// 2.5, nan, 'text', b'\x00ab'. A str's non-ASCII characters are written as they are if that
/// version's str.isprintable() says so (its Unicode database: 12.1 in 3.8, 13.0 in 3.9 and
/// 3.10, 14.0 in 3.11, 15.0 in 3.12, 15.1 in 3.13), else as \xNN, \uNNNN or \UNNNNNNNN.
/// A str that is not valid UTF-8 (no Python str) shows its bytes as \xNN escapes.
/// Throws std::invalid_argument for a version outside kOldestReprMinor – kNewestReprMinor.
std::string python_repr(const Item& item, int cpython_minor = kNewestReprMinor);

/// CPython 3.`cpython_minor`'s chr(code_point).isprintable(): false for code points beyond
/// U+10FFFF. The tables are generated from each interpreter (compat/tools/gen_printable.py).
/// Throws std::invalid_argument for a version outside kOldestReprMinor – kNewestReprMinor.
bool python_isprintable(char32_t code_point, int cpython_minor = kNewestReprMinor);

/// The Python type name: "NoneType", "bool", "int", "float", "str" or "bytes".
std::string_view type_name(const Item& item) noexcept;

}  // namespace shm
