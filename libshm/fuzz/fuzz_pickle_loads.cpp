// Fuzz target: any bytes as a pickle. loads() must accept or throw PickleError; whatever it
// accepts must pickle back to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "libshm/pickle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  try {
    const auto handle = shm::pickle::loads(bytes);
    const auto again = shm::pickle::dumps(handle);
    if (again.size() != size || std::memcmp(again.data(), data, size) != 0) std::abort();
  } catch (const shm::pickle::PickleError&) {
  }
  return 0;
}
