#include "libshm/error.hpp"

#include <cerrno>

namespace shm {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_name:
      return "invalid_name";
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::invalid_value:
      return "invalid_value";
    case Errc::too_large:
      return "too_large";
    case Errc::not_a_block:
      return "not_a_block";
    case Errc::not_found:
      return "not_found";
    case Errc::exists:
      return "exists";
    case Errc::permission:
      return "permission";
    case Errc::no_space:
      return "no_space";
    case Errc::os_error:
      return "os_error";
    case Errc::corrupt_block:
      return "corrupt_block";
    case Errc::decode:
      return "decode";
    case Errc::index:
      return "index";
    case Errc::not_in_list:
      return "not_in_list";
    case Errc::wrong_type:
      return "wrong_type";
    case Errc::bad_pickle:
      return "bad_pickle";
    case Errc::closed:
      return "closed";
    case Errc::read_only:
      return "read_only";
  }
  return "unknown";
}

Errc errc_from_errno(int err) noexcept {
  switch (err) {
    case ENOENT:
      return Errc::not_found;
    case EEXIST:
      return Errc::exists;
    case EACCES:
    case EPERM:
      return Errc::permission;
    case ENOSPC:
      return Errc::no_space;
    default:
      return Errc::os_error;
  }
}

// The one table from code to CPython exception. The Python module raises these (a corrupt list
// as libshm.LayoutError, a ValueError that is also the struct.error the stdlib raises); the C++
// conformance agent reports them as the exception a Python program would get.
std::string_view python_exception(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_name:
    case Errc::invalid_argument:
    case Errc::invalid_value:
    case Errc::too_large:
    case Errc::not_a_block:
    case Errc::corrupt_block:
    case Errc::not_in_list:
      return "ValueError";
    case Errc::not_found:
      return "FileNotFoundError";
    case Errc::exists:
      return "FileExistsError";
    case Errc::permission:
      return "PermissionError";
    case Errc::no_space:
    case Errc::os_error:
      return "OSError";
    case Errc::decode:
      return "UnicodeDecodeError";
    case Errc::index:
      return "IndexError";
    case Errc::wrong_type:
    case Errc::closed:
    case Errc::read_only:  // CPython's write to read-only memory: TypeError
      return "TypeError";
    case Errc::bad_pickle:
      return "pickle.UnpicklingError";
  }
  return "Exception";
}

}  // namespace shm
