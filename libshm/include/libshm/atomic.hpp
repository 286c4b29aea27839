// shm::AtomicInt64: atomic operations on a 64-bit integer inside a shared-memory block, which
// every process mapping the block (C++ with libshm, Python with the libshm module) can share
// without a lock.
//
// The integer is the 8 bytes at an 8-aligned offset of the block, in native byte order: exactly
// what a ShareableList int slot holds (format "q", native 'q' at a multiple of 8; docs/format.md),
// so the stdlib's ShareableList reads a valid int from such a slot at any moment while others
// update it. Every operation is sequentially consistent (std::memory_order_seq_cst) and
// lock-free; lock-free is what makes std::atomic_ref work between processes, since a lock, if
// the library used one, would live in this process only.
//
// Atomic only against other atomic operations: a plain write of the same bytes (a
// ShareableList::set, the stdlib's sl[i] = v, which zeroes the slot before it packs the new
// value) can land between an atomic read and write of another process and be lost, or lose the
// other's update. Use the atomic operations for every write of a shared counter.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "libshm/shared_memory.hpp"

namespace shm {

class ShareableList;
class AtomicInt64;

/// The int64 at byte `offset` of `block`, for atomic operations. Throws shm::InvalidArgument
/// (Errc::invalid_argument) when `offset` is not a multiple of 8 ("offset 12 is not 8-byte
/// aligned") or the 8 bytes do not fit ("offset 4090 + 8 exceeds the block's 4096 bytes"),
/// shm::UsageError (Errc::closed) on a closed or moved-from block. A block attached read-only
/// gives a handle that can load() but whose writes throw Errc::read_only.
AtomicInt64 atomic_int64(SharedMemory& block, std::size_t offset);

/// Atomic, sequentially consistent operations on one int64 of a block: made by
/// shm::atomic_int64(block, offset) or ShareableList::atomic_int64(index).
///
/// A small handle, copyable, that points into the block's mapping: it is valid while that
/// mapping is, until the SharedMemory (or ShareableList) it was made from, or the one that was
/// moved from it, is closed or destroyed; using it after that is undefined behaviour, as using a
/// pointer into buf() is. Arithmetic wraps as two's
/// complement (std::atomic_ref's fetch_add: 2^63 - 1 + 1 is -2^63), in every process alike.
class AtomicInt64 {
 public:
  static_assert(std::atomic_ref<std::int64_t>::is_always_lock_free,
                "an int64 shared between processes must be lock-free");
  static_assert(std::atomic_ref<std::int64_t>::required_alignment <= 8,
                "an 8-aligned int64 in a block must be usable atomically");

  /// The value now.
  [[nodiscard]] std::int64_t load() const noexcept { return ref().load(); }

  /// Writes `value`. Throws shm::UsageError (Errc::read_only) for a read-only block.
  void store(std::int64_t value) const {
    check_writable();
    ref().store(value);
  }

  /// Writes `value` and returns the value it replaced, in one step. Throws as store().
  std::int64_t exchange(std::int64_t value) const {
    check_writable();
    return ref().exchange(value);
  }

  /// If the value is `expected`, writes `desired` and returns true; otherwise sets `expected`
  /// to the value found and returns false (std::atomic's strong compare_exchange: no spurious
  /// failure). Throws as store(), also when the comparison would fail.
  bool compare_exchange(std::int64_t& expected, std::int64_t desired) const {
    check_writable();
    return ref().compare_exchange_strong(expected, desired);
  }

  /// Adds `delta` (negative to subtract) and returns the value before, in one step; wraps as
  /// two's complement. Throws as store().
  std::int64_t fetch_add(std::int64_t delta) const {
    check_writable();
    return ref().fetch_add(delta);
  }

  /// Where the integer is: its byte offset in the block.
  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }

 private:
  friend AtomicInt64 atomic_int64(SharedMemory& block, std::size_t offset);
  friend class ShareableList;

  AtomicInt64(std::int64_t* target, std::size_t offset, bool read_only) noexcept
      : target_(target), offset_(offset), read_only_(read_only) {}

  [[nodiscard]] std::atomic_ref<std::int64_t> ref() const noexcept {
    return std::atomic_ref<std::int64_t>(*target_);
  }
  // Out of line and cold: the check is one test in the inline write paths.
  [[noreturn, gnu::cold]] static void throw_read_only();
  void check_writable() const {
    if (read_only_) [[unlikely]]
      throw_read_only();
  }

  std::int64_t* target_;  // the integer, inside the block's mapping
  std::size_t offset_;    // its byte offset in the block
  bool read_only_;        // the block is mapped read-only: only load() may touch it
};

}  // namespace shm
