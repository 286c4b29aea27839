// Files made unnamed in /dev/shm and named once complete (private header): how a tracked
// SharedMemory::create and SemLock::create make a file that no SIGKILL leaves behind
// unregistered and that nobody sees half made. Defined in src/shared_memory.cpp.
#pragma once

#include <string>

namespace shm::detail {

/// An unnamed file in /dev/shm (O_TMPFILE, mode 0600, close-on-exec); -1 with errno where the
/// kernel or filesystem has none.
int open_unnamed();

/// Whether open_unnamed's errno `err` means this system cannot make unnamed files at all.
bool unnamed_unsupported(int err);

/// Gives the unnamed file `fd` the name `path`: 0, or the errno (EEXIST when the name is taken:
/// the same rule as O_CREAT | O_EXCL, and atomic like it; ENOENT where neither AT_EMPTY_PATH
/// nor /proc can do it).
int give_name(int fd, const std::string& path);

}  // namespace shm::detail
