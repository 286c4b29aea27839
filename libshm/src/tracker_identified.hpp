// Registration with the resource tracker by a block's identity (private header): for
// SharedMemory::create, which registers a block before it has a name (src/shared_memory.cpp).
#pragma once

#include <sys/types.h>

#include <string_view>

namespace shm::detail {

/// tracker::register_block for the block that will be `name`, identified by the caller
/// (fstat of its descriptor): the tracker unlinks the name at exit only while it is that file.
/// Throws as register_block.
void register_identified(std::string_view name, dev_t dev, ino_t ino);

/// Withdraws exactly that registration: the name's registration as it was before it (this
/// process's tracked block of the same name, if any) is restored. Throws as unregister_block.
void withdraw_identified(std::string_view name, dev_t dev, ino_t ino);

}  // namespace shm::detail
