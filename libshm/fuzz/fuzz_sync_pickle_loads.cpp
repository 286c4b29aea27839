// Fuzz target: any bytes as the pickle of a multiprocessing.synchronize object. loads() must
// accept or throw PickleError; whatever it accepts dumps() must write in every protocol, and
// that must read back as the same state.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "../src/sync_pickle.hpp"
#include "libshm/pickle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace sync_pickle = shm::detail::sync_pickle;
  try {
    const sync_pickle::State state = sync_pickle::loads(std::as_bytes(std::span(data, size)));
    for (int protocol = sync_pickle::kMinProtocol; protocol <= sync_pickle::kMaxProtocol;
         ++protocol) {
      const std::string again = sync_pickle::dumps(state, protocol);
      if (sync_pickle::loads(std::as_bytes(std::span(again.data(), again.size()))) != state) {
        std::abort();
      }
    }
  } catch (const shm::pickle::PickleError&) {
  }
  return 0;
}
