// Block names: which names libshm accepts (docs/cpython-quirks.md, "Names").
#pragma once

#include <string_view>

namespace shm {

/// Checks that `name` is a block name every CPython can create, attach, track and unlink
/// exactly as given; throws std::invalid_argument saying why not. Rejected: empty, longer
/// than 255 bytes, "." and "..", and names containing '/', NUL, ':', newline, or any byte
/// outside printable ASCII. Every create and attach of SharedMemory and ShareableList checks its
/// name with it (after dropping one leading '/'). Pickles have their own, wider rule:
/// shm::pickle::validate_name (pickle.hpp).
void validate_name(std::string_view name);

}  // namespace shm
