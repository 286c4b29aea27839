// Block names: which names libshm accepts, and how one name is spelled for CPython, the OS and
// messages (docs/cpython-quirks.md, "Names").
#pragma once

#include <string>
#include <string_view>

namespace shm {

/// The directory where shm_open keeps blocks on Linux (glibc's fixed choice): block `x` is the
/// file kShmDirectory + "/x".
inline constexpr std::string_view kShmDirectory = "/dev/shm";

/// A block's name, validated: what CPython's `SharedMemory.name` is, without the leading slash.
///
/// The one place where a name is checked and spelled: str() for CPython and the tracker's
/// Python side, os_name() ("/x") for shm_open and CPython's tracker lines, path() for the file,
/// shown() for messages. Every create and attach of SharedMemory and ShareableList goes
/// through it; pickles carry a wider set of names (shm::pickle::check_picklable_name).
class BlockName {
 public:
  /// The name as the caller means it: one leading '/' (the C convention) is dropped, so "/x"
  /// and "x" are the same block, "x". Throws shm::InvalidArgument (Errc::invalid_name) saying
  /// why if the rest is not a name every CPython can create, attach, track and unlink exactly
  /// as given (see validate).
  explicit BlockName(std::string_view name);

  /// A fresh CPython-style default name: "psm_" followed by 8 random lowercase hex digits.
  /// Throws shm::OsError if the system has no randomness to give.
  static BlockName random();

  /// Checks `name` as given (no slash is dropped). Rejected: empty, longer than 255 bytes, "."
  /// and "..", and names containing '/', NUL, ':', a line break, or any byte outside printable
  /// ASCII: each is a name some CPython mishandles. Throws shm::InvalidArgument
  /// (Errc::invalid_name) saying why.
  static void validate(std::string_view name);

  /// `name`'s bytes as messages show them: printable ASCII as is, anything else as \xNN, at
  /// most 64 bytes and then "...". For any bytes, valid name or not.
  static std::string shown(std::string_view name);

  /// The name without the leading slash ("x"): CPython's SharedMemory.name.
  [[nodiscard]] const std::string& str() const noexcept { return name_; }
  /// The name shm_open and CPython's resource tracker use: "/x".
  [[nodiscard]] std::string os_name() const { return "/" + name_; }
  /// The block's file: "/dev/shm/x".
  [[nodiscard]] std::string path() const { return std::string(kShmDirectory) + os_name(); }
  /// The name as messages show it (see the static shown).
  [[nodiscard]] std::string shown() const { return shown(name_); }

  /// Same name.
  friend bool operator==(const BlockName&, const BlockName&) = default;

 private:
  struct Validated {};
  BlockName(Validated, std::string name) : name_(std::move(name)) {}

  std::string name_;  // validated, without the leading slash
};

}  // namespace shm
