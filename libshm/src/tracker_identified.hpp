// Registration with the resource tracker by a file's identity (private header): for
// SharedMemory::create and SemLock::create, which register a block or a semaphore before it has
// a name (src/shared_memory.cpp, src/sync_semlock.cpp).
#pragma once

#include <sys/types.h>

#include <string_view>

namespace shm::detail {

/// What a tracker line is about (CPython's rtype): a block, or a named semaphore, whose file is
/// /dev/shm/sem.<name without its slash>.
enum class Resource { shared_memory, semaphore };

/// tracker::register_block for the block that will be `name`, identified by the caller
/// (fstat of its descriptor): the tracker unlinks the name at exit only while it is that file.
/// Throws as register_block.
/// A semaphore's `name` is "/x" or "x" (semaphore_os_name's rules).
void register_identified(std::string_view name, dev_t dev, ino_t ino,
                         Resource resource = Resource::shared_memory);

/// Withdraws exactly that registration: the name's registration as it was before it (this
/// process's tracked block of the same name, if any) is restored. Throws as unregister_block.
void withdraw_identified(std::string_view name, dev_t dev, ino_t ino,
                         Resource resource = Resource::shared_memory);

}  // namespace shm::detail
