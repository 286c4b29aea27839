// Fuzz target: any bytes as a ShareableList block. Validation, attach and every read must
// either work or throw LayoutError (or a Decode error for a str that is not UTF-8); never
// crash, never read out of bounds, never hang.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>

#include "libshm/shareable_list.hpp"

namespace {

std::string block_name() {
  static unsigned counter = 0;
  return "fuzz_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

void read_everything(const shm::ShareableList& list) {
  (void)list.format();
  for (std::size_t i = 0; i < list.size(); ++i) {
    try {
      (void)list.get(static_cast<std::ptrdiff_t>(i));
      (void)list.get_raw(static_cast<std::ptrdiff_t>(i));
    } catch (const shm::LayoutError&) {
    } catch (const std::invalid_argument&) {  // undecodable str
    }
  }
  try {
    (void)list.count(shm::Item{std::int64_t{0}});
    (void)list.repr();
  } catch (const shm::LayoutError&) {
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  try {
    shm::ShareableList::validate(bytes);
  } catch (const shm::LayoutError&) {
  }
  if (size == 0) return 0;  // a 0-byte block cannot be mapped
  // Through a real block too, as a reader in another process would meet it.
  auto block = shm::SharedMemory::create(size, block_name(), {.track = false});
  block.unlink();  // the mapping stays; nothing is left behind if we crash
  std::memcpy(block.buf().data(), data, size);
  try {
    const auto list = shm::ShareableList::from_block(std::move(block));
    read_everything(list);
  } catch (const shm::LayoutError&) {
  }
  return 0;
}
