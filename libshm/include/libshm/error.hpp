// The error model: every exception libshm throws carries one public error code (shm::Errc),
// and, where it applies, the byte offset of the problem and the OS errno. Consumers map the
// code, never the exception's type or message text (docs/architecture.md, "Errors").
//
// Each exception is also the standard exception code written before the codes existed would
// catch (std::invalid_argument, std::out_of_range, std::system_error, std::logic_error,
// std::runtime_error), so `catch (const std::invalid_argument&)` keeps working; catch
// `const shm::Error&` (or call shm::error_of on a std::exception) to read the code.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace shm {

/// What went wrong. Stable: the names (to_string) are part of the harness protocol and of the
/// Python module's exceptions (`libshm_code`).
enum class Errc : int {
  invalid_name = 1,  ///< a block name CPython cannot round-trip (names.hpp)
  invalid_argument,  ///< any other bad argument: size 0, a protocol, a dtype, a shape, JSON text
  invalid_value,     ///< a value a list slot or array element cannot hold (too long, bad text)
  too_large,         ///< a size past what memory or the format can address
  not_a_block,       ///< the name is a FIFO, directory, ... or an empty (0-byte) file
  not_found,         ///< OS: ENOENT
  exists,            ///< OS: EEXIST
  permission,        ///< OS: EACCES, EPERM
  no_space,          ///< OS: ENOSPC (a full /dev/shm)
  os_error,          ///< OS: any other errno (os_errno() says which)
  corrupt_block,     ///< a block that is not what it claims: list header, .npy header (offset)
  decode,            ///< a str slot whose bytes are not UTF-8; the block is sound (offset)
  index,             ///< an index out of range
  not_in_list,       ///< ShareableList::index of a value the list does not hold
  wrong_type,        ///< a typed read (get_as<T>, a typed array access) of another type
  bad_pickle,        ///< bytes that are not a handle pickle CPython writes (offset)
  closed,            ///< an operation on a closed or moved-from handle
  read_only,         ///< a write through a handle attached read-only
  not_owner,         ///< releasing an RLock, or wait/notify on a Condition, not held (sync.hpp)
};

/// The code's name: "invalid_name", "not_found", ... ("unknown" for a value outside the enum).
std::string_view to_string(Errc code) noexcept;

/// The code for an OS errno: not_found, exists, permission, no_space, else os_error.
Errc errc_from_errno(int err) noexcept;

/// The CPython exception a Python program gets for the code (the one table the Python module,
/// the C++ conformance agent and docs/architecture.md use): "ValueError", "FileNotFoundError",
/// "IndexError", ... For the OS codes it is the class CPython's OSError picks for the errno.
std::string_view python_exception(Errc code) noexcept;

/// The part every libshm exception shares: its code, and where it applies the byte offset of
/// the problem (in the block, the pickle or the header read) and the errno of an OS failure.
class Error {
 public:
  /// What went wrong.
  [[nodiscard]] Errc code() const noexcept { return code_; }
  /// The byte where the problem was found, for corrupt blocks, undecodable slots and pickles.
  [[nodiscard]] std::optional<std::size_t> offset() const noexcept { return offset_; }
  /// The OS errno for an OsError, 0 otherwise.
  [[nodiscard]] int os_errno() const noexcept { return errno_; }

  virtual ~Error() = default;

 protected:
  explicit Error(Errc code, std::optional<std::size_t> offset = std::nullopt, int err = 0) noexcept
      : code_(code), offset_(offset), errno_(err) {}
  Error(const Error&) = default;
  Error& operator=(const Error&) = default;

 private:
  Errc code_;
  std::optional<std::size_t> offset_;
  int errno_;
};

/// The libshm Error part of `e`, or nullptr if libshm did not throw it (std::bad_alloc, ...).
inline const Error* error_of(const std::exception& e) noexcept {
  return dynamic_cast<const Error*>(&e);
}

/// An OS call failed: the std::system_error with its errno (generic_category) and a code from
/// errc_from_errno.
class OsError : public std::system_error, public Error {
 public:
  OsError(int err, const std::string& what)
      : std::system_error(err, std::generic_category(), what),
        Error(errc_from_errno(err), std::nullopt, err) {}
};

/// A bad argument or value (Errc invalid_name, invalid_argument, invalid_value, too_large,
/// not_a_block, not_in_list, wrong_type).
class InvalidArgument : public std::invalid_argument, public Error {
 public:
  InvalidArgument(Errc code, const std::string& what) : std::invalid_argument(what), Error(code) {}
};

/// An index out of range (Errc index).
class OutOfRange : public std::out_of_range, public Error {
 public:
  explicit OutOfRange(const std::string& what) : std::out_of_range(what), Error(Errc::index) {}
};

/// An operation the handle's state does not allow (Errc closed, read_only, not_owner).
class UsageError : public std::logic_error, public Error {
 public:
  UsageError(Errc code, const std::string& what) : std::logic_error(what), Error(code) {}
};

/// A block whose bytes are not what they claim (Errc corrupt_block): what() is
/// "offset N: problem". shm::LayoutError (a list, layout.hpp) and shm::NpyHeaderError (an .npy
/// header, array.hpp) are the two kinds.
class CorruptBlockError : public std::runtime_error, public Error {
 public:
  /// `offset` is the byte in the block where the problem was found.
  CorruptBlockError(std::size_t offset, const std::string& problem)
      : std::runtime_error("offset " + std::to_string(offset) + ": " + problem),
        Error(Errc::corrupt_block, offset),
        problem_(problem) {}
  /// The byte offset in the block where the problem was found (always set).
  [[nodiscard]] std::size_t offset() const noexcept { return *Error::offset(); }
  /// The problem without the offset prefix.
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }

 private:
  std::string problem_;  // what is wrong there
};

}  // namespace shm
