// Attaching to the block a SharedMemory pickle names, as unpickling does in CPython.
#include <stdexcept>

#include "libshm/error.hpp"
#include "libshm/pickle.hpp"

namespace shm::pickle {

SharedMemory attach(const PickledHandle& handle, const AttachOptions& options) {
  if (handle.kind != PickledHandle::Kind::shared_memory) {
    throw InvalidArgument(Errc::invalid_argument,
                          "the handle is a ShareableList pickle: use attach_list()");
  }
  // SharedMemory(name, False, size) in CPython: the size is ignored when attaching.
  return SharedMemory::attach(handle.name, options);
}

}  // namespace shm::pickle
