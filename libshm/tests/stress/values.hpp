// The stress test's value scheme, shared by the C++ agent; stress.py mirrors it in Python.
// Index i has a role by i % 3: 0 holds only ints, 1 only floats (both are single aligned
// 8-byte stores, so a reader may never see a value nobody wrote), 2 changes type on every
// write (int, float, str, bytes in turn). Write k of index i stores a value that names i and k.
#pragma once

#include <cstdint>
#include <string>

#include "libshm/item.hpp"

namespace stress {

enum class Role { ints, floats, mixed };

inline Role role_of(std::size_t index) {
  return static_cast<Role>(index % 3);
}

inline shm::Item value_for(std::size_t index, std::uint32_t k) {
  const auto i = static_cast<std::int64_t>(index);
  switch (role_of(index)) {
    case Role::ints:
      return (i << 32) | k;
    case Role::floats:
      return static_cast<double>(i) * 1e6 + k + 0.25;
    case Role::mixed:
      switch (k % 4) {
        case 0:
          return (i << 32) | k;
        case 1:
          return static_cast<double>(i) * 1e6 + k + 0.25;
        case 2:
          return "i" + std::to_string(i) + "k" + std::to_string(k);
        default:
          return shm::Bytes{"b" + std::to_string(i) + "k" + std::to_string(k)};
      }
  }
  return shm::None{};
}

// True if `v`, read at `index`, is a value some write put there. Mixed slots are not checked:
// a reader can catch one between its new format and its new data (in CPython as in libshm).
inline bool plausible(std::size_t index, const shm::Item& v) {
  if (role_of(index) == Role::mixed) return true;
  const auto i = static_cast<std::int64_t>(index);
  if (const auto* n = std::get_if<std::int64_t>(&v))
    return role_of(index) == Role::ints && (*n >> 32) == i;
  if (const auto* d = std::get_if<double>(&v)) {
    const double k = *d - static_cast<double>(i) * 1e6 - 0.25;
    return role_of(index) == Role::floats && k >= 0 && k < 4294967296.0 &&
           k == static_cast<double>(static_cast<std::uint64_t>(k));
  }
  return false;
}

}  // namespace stress
