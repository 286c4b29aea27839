// Fuzz target: a ShareableList block that is mostly holes, as another user of /dev/shm can
// make one with a single ftruncate. The first 8 input bytes are the block's size (up to 1 TB;
// never less than the rest of the input), the rest is written at its start; everything after
// is a hole that reads as zeros. A header may claim any count: attach and every read must work
// or throw LayoutError (or a Decode error), quickly, without allocating for the claim
// (std::bad_alloc escapes and fails the run).
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>

#include "libshm/shareable_list.hpp"

namespace {

std::string block_name() {
  static unsigned counter = 0;
  return "fuzz_sparse_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::uint64_t kMaxBlock = std::uint64_t{1} << 40;
  if (size < 8) return 0;
  std::uint64_t claimed = 0;
  std::memcpy(&claimed, data, sizeof claimed);
  const std::size_t header = size - 8;
  const std::size_t block_size =
      static_cast<std::size_t>(std::max<std::uint64_t>(claimed % (kMaxBlock + 1), header));
  if (block_size == 0) return 0;
  auto block = shm::SharedMemory::create(block_size, block_name(), {.track = false});
  block.unlink();  // the mapping stays; nothing is left behind if we crash
  std::memcpy(block.buf().data(), data + 8, header);
  try {
    const auto list = shm::ShareableList::from_block(std::move(block), {.read_only = false});
    for (std::size_t i = 0; i < list.size(); ++i) {
      try {
        (void)list.get(static_cast<std::ptrdiff_t>(i));
      } catch (const shm::LayoutError&) {
      } catch (const std::invalid_argument&) {  // undecodable str
      }
    }
  } catch (const shm::LayoutError&) {
  }
  return 0;
}
