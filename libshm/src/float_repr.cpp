// Python's float repr, built from the shortest round-trip digits std::to_chars produces and
// laid out by the rules of CPython's format_float_short (Python/pystrtod.c), so that Item JSON
// and repr() read exactly as CPython writes them.
#include "float_repr.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace shm::detail {

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";

  // Shortest scientific form, e.g. "-1.2345e+05": the digits and the decimal exponent.
  char buf[64];
  const char* end =
      std::to_chars(buf, buf + sizeof buf, std::fabs(value), std::chars_format::scientific).ptr;
  const std::string_view text(buf, static_cast<std::size_t>(end - buf));
  const std::size_t e_at = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e_at)) {
    if (c != '.') digits += c;
  }
  const int exponent = std::atoi(std::string(text.substr(e_at + 1)).c_str());

  std::string out = std::signbit(value) ? "-" : "";
  // CPython: "decpt" is the exponent of 0.d1d2d3…; exponent notation when decpt <= -4 or > 16.
  const int decpt = exponent + 1;
  const int ndigits = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (ndigits > 1) out += "." + digits.substr(1);
    const int magnitude = std::abs(exponent);
    out += exponent < 0 ? "e-" : "e+";
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
  } else if (decpt <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-decpt), '0') + digits;
  } else if (decpt < ndigits) {
    out += digits.substr(0, static_cast<std::size_t>(decpt)) + "." +
           digits.substr(static_cast<std::size_t>(decpt));
  } else {
    out += digits + std::string(static_cast<std::size_t>(decpt - ndigits), '0') + ".0";
  }
  return out;
}

}  // namespace shm::detail
