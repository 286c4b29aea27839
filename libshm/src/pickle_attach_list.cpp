// Attaching to the list a ShareableList pickle names, as unpickling does in CPython. A file of
// its own: only programs that attach lists need ShareableList's code linked in.
#include <stdexcept>

#include "libshm/error.hpp"
#include "libshm/pickle.hpp"

namespace shm::pickle {

ShareableList attach_list(const PickledHandle& handle, const ListAttachOptions& options) {
  if (handle.kind != PickledHandle::Kind::shareable_list) {
    throw InvalidArgument(Errc::invalid_argument,
                          "the handle is a SharedMemory pickle: use attach()");
  }
  // functools.partial(ShareableList, name=name)() in CPython.
  return ShareableList::attach(handle.name, options);
}

}  // namespace shm::pickle
