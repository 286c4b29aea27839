// What `pyshm ls` shows: every entry of /dev/shm, with its kind judged by full validation.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "libshm/names.hpp"

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
std::vector<BlockInfo> list_blocks(const std::string& dir = std::string(shm::kShmDirectory));

}  // namespace pyshm
