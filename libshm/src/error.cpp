#include "libshm/error.hpp"

#include <array>
#include <cerrno>
#include <cstddef>

namespace shm {
namespace {

// Each code's name and the CPython exception a Python program gets for it: the one table from
// code to CPython exception. The Python module raises these (a corrupt list as
// libshm.LayoutError, a ValueError that is also the struct.error the stdlib raises); the C++
// conformance agent reports them as the exception a Python program would get.
struct CodeInfo {
  std::string_view name;
  std::string_view python;
};

// In the enum's order (Errc starts at 1).
constexpr std::array<CodeInfo, 19> kCodes = {{
    {"invalid_name", "ValueError"},
    {"invalid_argument", "ValueError"},
    {"invalid_value", "ValueError"},
    {"too_large", "ValueError"},
    {"not_a_block", "ValueError"},
    {"not_found", "FileNotFoundError"},
    {"exists", "FileExistsError"},
    {"permission", "PermissionError"},
    {"no_space", "OSError"},
    {"os_error", "OSError"},
    {"corrupt_block", "ValueError"},
    {"decode", "UnicodeDecodeError"},
    {"index", "IndexError"},
    {"not_in_list", "ValueError"},
    {"wrong_type", "TypeError"},
    {"bad_pickle", "pickle.UnpicklingError"},
    {"closed", "TypeError"},
    {"read_only", "TypeError"},       // CPython's write to read-only memory
    {"not_owner", "AssertionError"},  // synchronize.py's asserts, semaphore.c's release
}};
static_assert(static_cast<std::size_t>(Errc::not_owner) == kCodes.size());

const CodeInfo* info(Errc code) noexcept {
  const auto i = static_cast<std::size_t>(code);
  return i >= 1 && i <= kCodes.size() ? &kCodes[i - 1] : nullptr;
}

}  // namespace

std::string_view to_string(Errc code) noexcept {
  const CodeInfo* c = info(code);
  return c != nullptr ? c->name : "unknown";
}

std::string_view python_exception(Errc code) noexcept {
  const CodeInfo* c = info(code);
  return c != nullptr ? c->python : "Exception";
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

}  // namespace shm
