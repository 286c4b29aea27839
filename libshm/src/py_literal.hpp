// A reader for the few Python literals .npy headers and dtype descrs are written in (private
// header): str, int, True/False, tuple, list and dict, as numpy's safe_eval accepts them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libshm/array.hpp"
#include "libshm/error.hpp"

namespace shm::detail {

/// One parsed literal.
struct PyLiteral {
  enum class Kind { str, integer, boolean, tuple, list, dict };
  Kind kind = Kind::str;
  std::string text;              // str: the value as UTF-8
  bool negative = false;         // integer: sign
  std::uint64_t magnitude = 0;   // integer: |value| (parse fails above 2^64 - 1)
  bool flag = false;             // boolean
  std::vector<PyLiteral> items;  // tuple, list; dict: key, value, key, value, ...
  std::size_t position = 0;      // where it starts in the parsed text
};

/// A literal that could not be parsed: what and where (offset in the text).
class PyLiteralError : public InvalidArgument {
 public:
  PyLiteralError(std::size_t position, const std::string& what)
      : InvalidArgument(Errc::invalid_argument, what), position_(position) {}
  /// Offset in the text.
  [[nodiscard]] std::size_t position() const noexcept { return position_; }

 private:
  std::size_t position_;
};

/// Parses `text` as one literal, with whitespace around it. Nesting deeper than 64 levels is
/// refused. Throws PyLiteralError.
PyLiteral parse_py_literal(std::string_view text);

/// Python's repr() of a str given as UTF-8 (quotes chosen as CPython does; control characters
/// and backslashes escaped).
std::string py_repr(std::string_view text);

/// The dtype a parsed descr literal describes (Dtype::from_descr's rules); `whole` is the text
/// errors quote. Throws std::invalid_argument.
Dtype dtype_from_literal(const PyLiteral& v, std::string_view whole);

/// A short description of a literal for error messages ("a str", "an int", ...).
const char* py_kind_name(PyLiteral::Kind kind);

}  // namespace shm::detail
