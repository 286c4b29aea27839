// A program that uses an installed libshm, as a downstream project would.
#include <cstdio>
#include <cstring>
#include <libshm/shared_memory.hpp>

int main() {
  auto block = shm::SharedMemory::create(64);
  std::memcpy(block.buf().data(), "installed", 9);
  auto again = shm::SharedMemory::attach(block.name());
  const bool same = std::memcmp(again.buf().data(), "installed", 9) == 0;
  block.unlink();
  std::printf("consumer: %s\n", same ? "ok" : "MISMATCH");
  return same ? 0 : 1;
}
