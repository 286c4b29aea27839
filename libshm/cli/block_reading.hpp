// Reading a block with pread only, never through a mapping. A hole read through a mapping of a full
// /dev/shm, or a page past the end of a block another user truncated, is SIGBUS; read with pread, a
// hole is zeros and a truncation an error.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "libshm/array.hpp"
#include "libshm/shareable_list.hpp"

namespace pyshm {

/// Validates the block open on `fd` as a list CPython could have made, reading it with pread
/// (ShareableList::validate_by_read): ShareableList::validate's checks, and a size of exactly the
/// list's (CPython never pads; a zero-filled raw block would otherwise pass as an empty list).
/// Never faults, whatever holes or truncation the block has. Throws shm::LayoutError.
shm::ListRegions validate_exact(int fd);

/// The most bytes read_npy_by_read reads: numpy writes headers of a few hundred bytes (more
/// only for structured dtypes of thousands of fields); a longer one is refused, so that a
/// hostile length costs no more than this.
inline constexpr std::size_t kMaxNpyHeaderRead = std::size_t{1} << 20;

/// The .npy header of the block open on `fd`, read with pread only (shm::read_npy_header on
/// the first bytes: never a mapping, so holes take no page and truncation is no SIGBUS), or
/// nullopt if the block is not a regular file or does not start with numpy's magic. Throws
/// shm::NpyHeaderError for a block with the magic whose header is bad, longer than
/// kMaxNpyHeaderRead, or followed by less data than it describes; std::system_error if the
/// block cannot be read.
std::optional<shm::NpyHeader> read_npy_by_read(int fd);

/// read_npy_by_read, with a bad header reported as a std::runtime_error that names block `name`.
std::optional<shm::NpyHeader> npy_header(const std::string& name, int fd);

/// Block `name` opened read-only for pread (O_NOFOLLOW | O_NONBLOCK, so a FIFO never blocks).
/// Throws std::invalid_argument for a bad name, std::system_error if it cannot be opened.
class BlockFd {
 public:
  explicit BlockFd(const std::string& name);
  BlockFd(const BlockFd&) = delete;
  BlockFd& operator=(const BlockFd&) = delete;
  ~BlockFd();
  [[nodiscard]] int get() const noexcept { return fd_; }
  /// The block's name, without the leading slash.
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  /// Its size now (st_size). Throws std::system_error if it cannot be stat'ed.
  [[nodiscard]] std::size_t size() const;

 private:
  int fd_ = -1;       // owned descriptor
  std::string name_;  // without the leading slash
};

/// Reads `buf.size()` bytes at `at` of `fd` with pread; fewer only where the file ends. Throws
/// std::system_error if it cannot be read.
std::size_t pread_full(int fd, std::span<std::byte> buf, std::size_t at);

/// A block's bytes copied with pread into private anonymous memory at the same offsets, for
/// code that reads a block as a span (shm::ConstArrayView) without mapping it. Only the ranges
/// read() copies take memory; the rest reads as zeros and takes none, so a huge or sparse block
/// costs what is read, never its size.
class BlockCopy {
 public:
  /// Room for the `size` bytes of the block open on `fd`, nothing read yet. Throws
  /// std::system_error if the address space cannot be reserved.
  BlockCopy(const BlockFd& fd, std::size_t size);
  BlockCopy(const BlockCopy&) = delete;
  BlockCopy& operator=(const BlockCopy&) = delete;
  ~BlockCopy();
  /// Copies bytes [at, at + length) of the block, which must lie inside size. Throws
  /// std::runtime_error naming the block if it has become shorter, std::system_error if it
  /// cannot be read.
  void read(std::size_t at, std::size_t length);
  /// The copy: the bytes read so far, zeros elsewhere.
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }

 private:
  const BlockFd& fd_;          // the block
  std::byte* data_ = nullptr;  // the anonymous mapping (none for an empty block)
  std::size_t size_ = 0;       // its length: the block's size when the copy was made
};

}  // namespace pyshm
