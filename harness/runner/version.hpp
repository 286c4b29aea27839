// CPython version numbers as the registry uses them: "3.12.1", "3.14.0a4", "3.15.0rc1".
// Ordered as CPython orders its releases (3.14.0a4 < 3.14.0b1 < 3.14.0rc1 < 3.14.0).
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace harness {

/// One CPython release number.
struct Version {
  int major = 0;   // 3
  int minor = 0;   // 12
  int micro = 0;   // 1
  int level = 3;   // 0 alpha, 1 beta, 2 release candidate, 3 final
  int serial = 0;  // the N of aN, bN, rcN

  /// Parses "3.12", "3.12.1", "3.14.0a4", "3.15.0rc1", "3.13.0+" (a local build: the trailing
  /// '+' is ignored); nullopt for anything else.
  static std::optional<Version> parse(std::string_view text);

  /// "3.12.1", "3.14.0a4".
  [[nodiscard]] std::string str() const;
  /// The same major and minor ("3.12" of "3.12.7").
  [[nodiscard]] bool same_minor(const Version& other) const noexcept {
    return major == other.major && minor == other.minor;
  }

  friend auto operator<=>(const Version&, const Version&) = default;
};

}  // namespace harness
