// ShareableList::slot(), the one place that turns an index into its slot, for every reader and
// writer of a list (shareable_list.cpp's get/set, list_typed.cpp's typed and bulk access).
// Defined here, inline, so that each of those files inlines it: their fast paths are a few dozen
// instructions, and a call returning the 40-byte SlotRef through memory would be a third of
// them.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "libshm/error.hpp"
#include "libshm/shareable_list.hpp"
#include "list_layout.hpp"

namespace shm::detail {

// Kept out of line so that slot() stays small enough to inline.
[[noreturn, gnu::cold, gnu::noinline]] inline void throw_list_closed() {
  throw UsageError(Errc::closed, "ShareableList: the block is closed");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_list_index(std::ptrdiff_t index,
                                                                    std::size_t size) {
  throw OutOfRange("ShareableList index " + std::to_string(index) + " out of range for " +
                   std::to_string(size) + " items");
}

}  // namespace shm::detail

namespace shm {

[[gnu::always_inline]] inline detail::SlotRef ShareableList::slot(std::ptrdiff_t index) const {
  // A moved-from list has no slot table any more; its block reports closed.
  if (block_.closed()) [[unlikely]]
    detail::throw_list_closed();
  // Python's rule, without CPython's bug: only [-N, N) is an index (docs/cpython-quirks.md).
  const auto n = static_cast<std::ptrdiff_t>(size_);
  if (index < -n || index >= n) [[unlikely]]
    detail::throw_list_index(index, size_);
  const auto i = static_cast<std::size_t>(index < 0 ? index + n : index);
  return {i, slots_[i], slots_[i + 1], formats_at_ + detail::kWord * i, codes_at_ + i};
}

}  // namespace shm
