// shm::AtomicInt64's checks: where an atomic int64 may be made, in a block or a list's int slot.
// The operations themselves are inline in libshm/atomic.hpp.
#include "libshm/atomic.hpp"

#include <cstdint>
#include <string>

#include "libshm/error.hpp"
#include "libshm/layout.hpp"
#include "libshm/shareable_list.hpp"
#include "list_codec.hpp"
#include "list_slot.hpp"

namespace shm {

namespace {

constexpr std::size_t kInt64Bytes = sizeof(std::int64_t);

}  // namespace

void AtomicInt64::throw_read_only() {
  throw UsageError(Errc::read_only, "atomic write to a block attached read-only");
}

AtomicInt64 atomic_int64(SharedMemory& block, std::size_t offset) {
  if (block.closed()) throw UsageError(Errc::closed, "atomic_int64: the block is closed");
  const std::size_t size = block.size();
  if (offset > size || size - offset < kInt64Bytes) {
    throw InvalidArgument(Errc::invalid_argument, "offset " + std::to_string(offset) +
                                                      " + 8 exceeds the block's " +
                                                      std::to_string(size) + " bytes");
  }
  // The mapping starts on a page, so an offset that is a multiple of 8 is an aligned address.
  if (offset % kInt64Bytes != 0) {
    throw InvalidArgument(Errc::invalid_argument,
                          "offset " + std::to_string(offset) + " is not 8-byte aligned");
  }
  auto* target = reinterpret_cast<std::int64_t*>(block.buf().data() + offset);
  return {target, offset, block.read_only()};
}

AtomicInt64 ShareableList::atomic_int64(std::ptrdiff_t index) {
  const detail::SlotRef ref = slot(index);
  std::byte* data = block_.buf().data();
  // Another process may change the item's type while it is judged: get_as_slow throws the
  // error get_as<std::int64_t> gives for what the slot holds, and returns only if the slot
  // became an int in between, which is then judged again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::int64_t value = 0;
    if (detail::read_exact_scalar(data, ref.begin, ref.end, ref.format_at, ref.code_at, value)) {
      if (ref.begin % kInt64Bytes != 0) {
        throw LayoutError(ref.begin, "item " + std::to_string(ref.index) +
                                         "'s int slot is not 8-byte aligned (CPython aligns "
                                         "every slot)");
      }
      return {reinterpret_cast<std::int64_t*>(data + ref.begin), ref.begin, block_.read_only()};
    }
    (void)get_as_slow<std::int64_t>(index);
  }
  throw LayoutError(ref.code_at, "item " + std::to_string(ref.index) + " changed while being read");
}

}  // namespace shm
