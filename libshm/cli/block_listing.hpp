// What `pyshm ls` shows: every entry of /dev/shm, with its kind judged by full validation.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "libshm/array.hpp"
#include "libshm/shareable_list.hpp"

namespace pyshm {

/// One entry of /dev/shm.
struct BlockInfo {
  std::string name;     // file name = block name without the leading slash
  std::uint64_t size;   // st_size
  std::string owner;    // user name, or the uid if it has none
  mode_t mode;          // permission bits
  std::int64_t mtime;   // modification time, seconds since the epoch
  std::string kind;     // "shareable-list 3.9+", "npy <f8 (1000, 3)", "raw", "semaphore", ...
  std::string problem;  // why a block is "raw" or "unreadable" (empty for lists and arrays)
};

/// Lists the blocks in `dir` (normally /dev/shm), sorted by name.
std::vector<BlockInfo> list_blocks(const std::string& dir = "/dev/shm");

/// Classifies one block by attaching it read-only and validating it as a ShareableList.
/// Sets kind (and problem when it is not a list).
void classify(BlockInfo& info);

/// Validates `block` as a list CPython could have made: ShareableList::validate, and a size of
/// exactly the list's (CPython never pads; a zero-filled raw block would otherwise pass as an
/// empty list). Throws shm::LayoutError.
shm::ListRegions validate_exact(std::span<const std::byte> block);

/// validate_exact for a block read with pread from `fd` (ShareableList::validate_by_read): never
/// faults, whatever holes or truncation the block has.
shm::ListRegions validate_exact(int fd);

/// The most bytes read_npy_by_read reads: numpy writes headers of a few hundred bytes (more
/// only for structured dtypes of thousands of fields); a longer one is refused, so that a
/// hostile length costs no more than this.
inline constexpr std::size_t kMaxNpyHeaderRead = std::size_t{1} << 20;

/// The .npy header of the block open on `fd`, read with pread only (shm::read_npy_header on
/// the first bytes: never a mapping, so holes take no page and truncation is no SIGBUS), or
/// nullopt if the block is not a regular file or does not start with numpy's magic. Throws
/// shm::LayoutError for a block with the magic whose header is bad, longer than
/// kMaxNpyHeaderRead, or followed by less data than it describes; std::system_error if the
/// block cannot be read.
std::optional<shm::NpyHeader> read_npy_by_read(int fd);

/// Block `name` opened read-only for pread (O_NOFOLLOW | O_NONBLOCK, so a FIFO never blocks).
/// Throws std::invalid_argument for a bad name, std::system_error if it cannot be opened.
class BlockFd {
 public:
  explicit BlockFd(const std::string& name);
  BlockFd(const BlockFd&) = delete;
  BlockFd& operator=(const BlockFd&) = delete;
  ~BlockFd();
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_ = -1;  // owned descriptor
};

}  // namespace pyshm
