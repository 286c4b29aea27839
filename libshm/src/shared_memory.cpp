#include "libshm/shared_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <limits>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "fd_guard.hpp"
#include "libshm/error.hpp"
#include "libshm/names.hpp"
#include "libshm/tracker.hpp"
#include "names.hpp"
#include "tracker_identified.hpp"
#include "unnamed_file.hpp"

namespace shm {

namespace {

OsError os_error(int err, const std::string& what, const BlockName& name) {
  return OsError(err, what + " '" + name.os_name() + "'");
}

using detail::FdGuard;

std::byte* map_block(int fd, std::size_t size, bool read_only) {
  const int prot = read_only ? PROT_READ : PROT_READ | PROT_WRITE;
  void* p = ::mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return nullptr;
  return static_cast<std::byte*>(p);
}

}  // namespace

namespace detail {

int open_unnamed() {
  return ::open(std::string(kShmDirectory).c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

bool unnamed_unsupported(int err) {
  return err == EOPNOTSUPP || err == EISDIR || err == EINVAL;  // EISDIR: before Linux 3.11
}

// Linux 6.10 and later let the process that opened the file link it through its descriptor
// (AT_EMPTY_PATH); before, that needs CAP_DAC_READ_SEARCH and fails with ENOENT, and the
// descriptor's link in /proc does it.
int give_name(int fd, const std::string& path) {
  if (::linkat(fd, "", AT_FDCWD, path.c_str(), AT_EMPTY_PATH) == 0) return 0;
  if (errno != ENOENT && errno != EPERM) return errno;
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
  return errno;
}

}  // namespace detail

SharedMemory::SharedMemory(std::string name, std::byte* data, std::size_t size, bool read_only,
                           dev_t dev, ino_t ino)
    : name_(std::move(name)),
      data_(data),
      size_(size),
      read_only_(read_only),
      tracked_(false),
      unlinked_(false),
      dev_(dev),
      ino_(ino) {}

SharedMemory SharedMemory::create(std::size_t size, const CreateOptions& options) {
  if (size == 0) {
    throw InvalidArgument(Errc::invalid_argument,
                          "'size' must be a positive number different from zero");
  }
  // CPython's loop: draw names until one is free.
  for (;;) {
    try {
      return create(size, BlockName::random().str(), options);
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::file_exists) throw;
    }
  }
}

namespace {

// Set once naming an unnamed file has failed for want of a way (no /proc, old kernel): tracked
// creates then use the named create, as untracked ones always do.
std::atomic<bool> unnamed_create_unavailable{false};

// Sizes the new file `fd`, reserves its pages if asked, and maps it: the steps both ways of
// creating a block share. A failure throws fail(errno, what), which cleans up as its way needs.
template <class Fail>
std::byte* size_and_map(int fd, std::size_t size, bool reserve, Fail fail) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    throw fail(errno, "cannot size shared memory");
  }
  if (reserve) {
    if (const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size)); err != 0) {
      throw fail(err, "cannot reserve space for shared memory");
    }
  }
  std::byte* data = map_block(fd, size, false);
  if (data == nullptr) throw fail(errno, "cannot map shared memory");
  return data;
}

}  // namespace

SharedMemory SharedMemory::create(std::size_t size, std::string_view requested_name,
                                  const CreateOptions& options) {
  if (size == 0) {
    throw InvalidArgument(Errc::invalid_argument,
                          "'size' must be a positive number different from zero");
  }
  const BlockName name(requested_name);
  if (size > static_cast<std::size_t>(std::numeric_limits<off_t>::max())) {
    throw os_error(EFBIG, "cannot create shared memory", name);
  }
  if (options.track && !unnamed_create_unavailable.load(std::memory_order_relaxed)) {
    std::optional<SharedMemory> block = create_unnamed_then_name(size, name, options);
    if (block) return std::move(*block);
  }
  const std::string os = name.os_name();
  FdGuard fd(::shm_open(os.c_str(), O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW, 0600));
  if (fd.get() < 0) throw os_error(errno, "cannot create shared memory", name);

  // From here on the block exists: any failure must remove it again (CPython leaks it).
  auto fail = [&](int err, const char* what) {
    ::shm_unlink(os.c_str());
    return os_error(err, what, name);
  };
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw fail(errno, "cannot stat shared memory");
  std::byte* data = size_and_map(fd.get(), size, options.reserve, fail);
  SharedMemory block(name.str(), data, size, false, st.st_dev, st.st_ino);
  if (options.track) {
    try {
      block.track();
    } catch (const std::system_error& e) {
      block.close();
      throw fail(e.code().value(), "cannot track shared memory");
    }
  }
  return block;
}

// A tracked block that never exists without its registration: the file is made unnamed, sized
// and mapped, registered by its identity, and only then given its name. A SIGKILL at any moment
// leaves either no block (the unnamed file dies with its descriptor) or a registered one, which
// the tracker unlinks; the named create leaves a block behind if killed between its open and its
// registration. Other processes also never see the block before it has its full size.
// std::nullopt, with nothing made, where this system cannot make unnamed blocks.
std::optional<SharedMemory> SharedMemory::create_unnamed_then_name(std::size_t size,
                                                                   const BlockName& name,
                                                                   const CreateOptions& options) {
  FdGuard fd(detail::open_unnamed());
  if (fd.get() < 0) {
    if (!detail::unnamed_unsupported(errno))
      throw os_error(errno, "cannot create shared memory", name);
    unnamed_create_unavailable.store(true, std::memory_order_relaxed);
    return std::nullopt;
  }
  // Until give_name, a failure leaves nothing behind: closing the descriptor frees the file.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw os_error(errno, "cannot stat shared memory", name);
  std::byte* data = size_and_map(fd.get(), size, options.reserve, [&](int err, const char* what) {
    return os_error(err, what, name);
  });
  SharedMemory block(name.str(), data, size, false, st.st_dev, st.st_ino);
  try {
    detail::register_identified(name.str(), st.st_dev, st.st_ino);
  } catch (const std::system_error& e) {
    block.close();
    throw os_error(e.code().value(), "cannot track shared memory", name);
  }
  if (const int err = detail::give_name(fd.get(), name.path()); err != 0) {
    block.close();
    // Only this registration is withdrawn: one this process made for a block of the same name
    // (the EEXIST of a create over its own block) stands. A tracker that cannot be reached has
    // forgotten it anyway; the error that counts is the link's.
    try {
      detail::withdraw_identified(name.str(), st.st_dev, st.st_ino);
    } catch (const std::system_error&) {
    }
    if (err != ENOENT) throw os_error(err, "cannot create shared memory", name);
    unnamed_create_unavailable.store(true, std::memory_order_relaxed);  // no /proc to link with
    return std::nullopt;
  }
  block.tracked_ = true;
  return block;
}

SharedMemory SharedMemory::attach(std::string_view requested_name, const AttachOptions& options) {
  const BlockName name(requested_name);
  const std::string os = name.os_name();
  // O_NONBLOCK: opening a FIFO someone put in /dev/shm must not wait for a writer; O_NOFOLLOW:
  // a symlink is not a block. What was opened is then judged by its descriptor, never by a path
  // that may have been renamed over in between.
  FdGuard fd(::shm_open(os.c_str(),
                        (options.read_only ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_NONBLOCK, 0600));
  if (fd.get() < 0) throw os_error(errno, "cannot attach shared memory", name);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw os_error(errno, "cannot stat shared memory", name);
  if (!S_ISREG(st.st_mode)) {
    throw InvalidArgument(Errc::not_a_block,
                          "cannot attach shared memory '" + os + "': it is " +
                              detail::file_type_text(st.st_mode) +
                              ", not a regular file (only regular files are blocks)");
  }
  if (st.st_size <= 0) {
    throw InvalidArgument(Errc::not_a_block,
                          "cannot attach shared memory '" + os +
                              "': the block is empty (0 bytes) and cannot be mapped");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  std::byte* data = map_block(fd.get(), size, options.read_only);
  if (data == nullptr) throw os_error(errno, "cannot map shared memory", name);
  SharedMemory block(name.str(), data, size, options.read_only, st.st_dev, st.st_ino);
  if (options.track) block.track();
  return block;
}

void SharedMemory::track() {
  if (name_.empty()) throw UsageError(Errc::closed, "track() on a moved-from SharedMemory");
  // Once this handle unlinked the block there is nothing left for a tracker to remove; a
  // registration would only make it warn of a leak at exit.
  if (tracked_ || unlinked_) return;
  // By the identity read from the descriptor, not by a stat of the name now: the name may
  // have been given to another block since this one was opened.
  detail::register_identified(name_, dev_, ino_);
  tracked_ = true;
}

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : name_(std::move(other.name_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(other.size_),
      read_only_(other.read_only_),
      tracked_(std::exchange(other.tracked_, false)),
      unlinked_(other.unlinked_),
      dev_(other.dev_),
      ino_(other.ino_) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
  if (this != &other) {
    close();
    name_ = std::move(other.name_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = other.size_;
    read_only_ = other.read_only_;
    tracked_ = std::exchange(other.tracked_, false);
    unlinked_ = other.unlinked_;
    dev_ = other.dev_;
    ino_ = other.ino_;
  }
  return *this;
}

SharedMemory::~SharedMemory() {
  close();
}

void SharedMemory::close() noexcept {
  if (data_ != nullptr) {
    ::munmap(data_, size_);
    data_ = nullptr;
  }
}

void SharedMemory::unlink() {
  if (name_.empty()) throw UsageError(Errc::closed, "unlink() on a moved-from SharedMemory");
  const BlockName name(name_);
  if (::shm_unlink(name.os_name().c_str()) != 0) {
    throw os_error(errno, "cannot unlink shared memory", name);
  }
  // Unregister only once the name is really gone, as CPython. Unlike CPython, any handle of
  // this process withdraws the registration, not only the one that made it: a stale entry would
  // make the tracker unlink a later block of the same name at exit (docs/cpython-quirks.md).
  tracked_ = false;
  unlinked_ = true;
  tracker::unregister_block(name_);
}

void unlink_block(std::string_view requested_name) {
  const BlockName name(requested_name);
  if (::shm_unlink(name.os_name().c_str()) != 0) {
    throw os_error(errno, "cannot unlink shared memory", name);
  }
  tracker::unregister_block(name.str());
}

}  // namespace shm
