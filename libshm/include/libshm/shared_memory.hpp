// shm::SharedMemory: a named POSIX shared-memory block, opened the way CPython's
// multiprocessing.shared_memory.SharedMemory opens it, so both can share the same block.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "libshm/error.hpp"
#include "libshm/names.hpp"

namespace shm {

/// Options for SharedMemory::create.
struct CreateOptions {
  /// Register the block with this process's resource tracker, which unlinks it if the process
  /// ends (even by SIGKILL) without unlink(). CPython's default; turn off for blocks that must
  /// outlive their creator. A tracked block is registered before it gets its name, so a SIGKILL
  /// during the create leaves nothing either (libshm/tracker.hpp).
  bool track = true;
  /// Allocate the block's memory now (posix_fallocate), so that a full /dev/shm fails the
  /// create with ENOSPC. Without it the block is sparse, as CPython's: creation succeeds, and a
  /// later first write to a page the filesystem has no room for raises SIGBUS in the writer.
  bool reserve = false;
};

/// Options for SharedMemory::attach.
struct AttachOptions {
  /// Map the block read-only and open it O_RDONLY, so a reader that has only read permission
  /// can attach (CPython always opens O_RDWR). buf() is then still a span of mutable bytes,
  /// but writing through it raises SIGSEGV: use it only to read.
  bool read_only = false;
  /// Register the attached block with this process's resource tracker (SharedMemory::track).
  /// Off by default, unlike CPython before 3.13 (gh-82300): a tracked attach makes the block
  /// vanish when the attacher exits, destroying it for the creator and every other process.
  /// Typed attaches (ShareableList, NpyArray, pickles) register only once the block has passed
  /// their validation, so a refused attach changes no registration.
  bool track = false;
};

/// A mapping of a named POSIX shared-memory block ("/dev/shm/<name>" on Linux).
///
/// Move-only. Blocks created here are byte-for-byte what CPython creates: name "/" + name(),
/// mode 0600, O_CREAT|O_EXCL, ftruncate to the requested size, and size() = st_size. A closed
/// handle has an empty buf() and keeps its name, so it can still unlink(); a moved-from
/// handle is closed and has no name.
/// The destructor closes the mapping; it never unlinks the block and never throws.
class SharedMemory {
 public:
  /// Creates a new block with a random name "psm_" + 8 lowercase hex digits (retried while the
  /// name exists), as CPython does for SharedMemory(create=True).
  /// Throws shm::InvalidArgument for size 0 (CPython's message), shm::OsError on OS failures.
  /// On any failure nothing is left in /dev/shm.
  static SharedMemory create(std::size_t size, const CreateOptions& options = {});

  /// Creates a new block called `name` (without the leading slash, as CPython's `name`).
  /// Throws shm::InvalidArgument for size 0 (Errc::invalid_argument) or a name that CPython
  /// cannot round-trip (Errc::invalid_name, see shm::BlockName), shm::OsError with EEXIST
  /// (Errc::exists) if it exists, and with the OS errno for any other failure. On any failure
  /// nothing is left in /dev/shm.
  static SharedMemory create(std::size_t size, std::string_view name,
                             const CreateOptions& options = {});

  /// Attaches to the existing block `name`. size() becomes the block's st_size.
  /// Only regular files are blocks: the name is opened O_NOFOLLOW | O_NONBLOCK (a FIFO or
  /// symlink someone put in /dev/shm never blocks the open or redirects it) and judged by
  /// fstat on the descriptor opened, never by an earlier stat of the path.
  /// Throws shm::InvalidArgument for a bad name (Errc::invalid_name), shm::OsError with ENOENT
  /// (Errc::not_found) if there is no such block, EACCES (Errc::permission) without
  /// permission, ELOOP for a symbolic link; shm::InvalidArgument (Errc::not_a_block) for
  /// anything but a regular file ("it is a FIFO, not a regular file") and for a 0-byte block,
  /// which cannot be mapped (CPython's ValueError "cannot mmap an empty file").
  ///
  /// Where SIGBUS can still reach a program that maps a block (as with CPython): touching a
  /// page of the mapping that lies past the block's current end (another process with write
  /// permission shrank it with ftruncate), or the first touch of a page in a hole of a sparse
  /// block when /dev/shm has no room left to fill it (reading a hole through a MAP_SHARED
  /// tmpfs mapping allocates the page). A reader that must never fault inspects the block with
  /// ShareableList::validate_by_read() (shareable_list.hpp) or pread() instead of a mapping.
  static SharedMemory attach(std::string_view name, const AttachOptions& options = {});

  SharedMemory(SharedMemory&& other) noexcept;
  SharedMemory& operator=(SharedMemory&& other) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory();

  /// The block's name without the leading slash (CPython's `SharedMemory.name`).
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  /// The block's size in bytes when it was opened (st_size, as CPython).
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// The mapped bytes; empty once closed.
  [[nodiscard]] std::span<std::byte> buf() const noexcept { return {data_, closed() ? 0 : size_}; }
  /// True once close() has run (or the handle was moved from).
  [[nodiscard]] bool closed() const noexcept { return data_ == nullptr; }
  /// True if attached with AttachOptions::read_only.
  [[nodiscard]] bool read_only() const noexcept { return read_only_; }
  /// True if this handle registered the block with the resource tracker.
  [[nodiscard]] bool tracked() const noexcept { return tracked_; }
  /// The device and inode of the file this handle opened, read from its descriptor when it was
  /// created or attached: they tell this block from one another process later puts under the
  /// same name (a stat of the name would give the new one), without a system call.
  [[nodiscard]] dev_t device() const noexcept { return dev_; }
  /// See device().
  [[nodiscard]] ino_t inode() const noexcept { return ino_; }

  /// Registers the block with this process's resource tracker, which unlinks it if the process
  /// ends without unlink(). The registration names the file this handle opened (its device and
  /// inode, read from the descriptor when it was created or attached), so a block another
  /// process has since put under the name is left alone. An attach that must first check what
  /// it opened (a list header, an .npy header) attaches untracked and calls this only once the
  /// check passed: then a refused attach has registered nothing, and has nothing to withdraw by
  /// name (which would withdraw this process's other registrations of the name too).
  /// Idempotent; tracked() is true after it. Works on a closed handle; does nothing once this
  /// handle has unlinked the block (nothing is left to remove). Throws as
  /// tracker::register_block, shm::UsageError (Errc::closed) on a moved-from handle.
  void track();

  /// Unmaps the block and closes its descriptor. Idempotent; the block itself stays.
  void close() noexcept;

  /// Removes the block's name from the system (shm_unlink), then withdraws this process's
  /// registration of it with the resource tracker, whichever handle made it. Existing mappings,
  /// here and in other processes, stay valid until closed. Works on a closed handle too.
  /// Throws shm::OsError (ENOENT if the block is already gone; nothing is unregistered then, as
  /// in CPython), shm::UsageError (Errc::closed) on a moved-from handle.
  void unlink();

 private:
  SharedMemory(std::string name, std::byte* data, std::size_t size, bool read_only, dev_t dev,
               ino_t ino);
  // A tracked create that registers the block before it has its name (src/shared_memory.cpp);
  // std::nullopt where the system cannot make unnamed blocks.
  static std::optional<SharedMemory> create_unnamed_then_name(std::size_t size,
                                                              const BlockName& name,
                                                              const CreateOptions& options);

  std::string name_;  // name without the leading slash
  std::byte* data_;   // start of the mapping, nullptr when closed
  std::size_t size_;  // mapped length = st_size at open time
  bool read_only_;    // mapped PROT_READ only
  bool tracked_;      // registered with the resource tracker by this handle
  bool unlinked_;     // this handle's unlink() removed the block's name
  dev_t dev_;         // st_dev of the file opened: what track() registers
  ino_t ino_;         // st_ino of the file opened
};

/// Removes block `name` (without the leading slash) without attaching it, and withdraws any
/// registration this process made for it with the resource tracker. Works on blocks that
/// cannot be mapped (0 bytes). Throws shm::InvalidArgument for a bad name, shm::OsError
/// (ENOENT, EACCES, ...) if the OS refuses.
void unlink_block(std::string_view name);

}  // namespace shm
