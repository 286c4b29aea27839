// Python's repr() of a float (private header).
#pragma once

#include <string>

namespace shm::detail {

/// The text CPython's float.__repr__ gives: the shortest digits that read back to the same
/// double, in fixed notation with at least one fractional digit ("1.0", "0.0001",
/// "1234567890123456.0") when the decimal exponent is in [-4, 16), else in exponent notation
/// with a sign and at least two exponent digits ("1e+16", "1e-05", "5e-324"); "nan", "inf",
/// "-inf" for the specials. Every finite result is valid JSON with a fraction or exponent.
std::string python_float_repr(double value);

}  // namespace shm::detail
