#include "block_reading.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace pyshm {

std::size_t pread_full(int fd, std::span<std::byte> buf, std::size_t at) {
  std::size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(at + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "cannot read the block");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

std::optional<shm::NpyHeader> read_npy_by_read(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  const auto size = static_cast<std::size_t>(st.st_size);
  // Most headers are a few hundred bytes: read a page first, and more only when the header
  // says it is longer.
  std::vector<std::byte> head(std::min<std::size_t>(size, 4096));
  head.resize(pread_full(fd, head, 0));
  if (head.size() < shm::kNpyMagic.size() ||
      std::memcmp(head.data(), shm::kNpyMagic.data(), shm::kNpyMagic.size()) != 0) {
    return std::nullopt;
  }
  try {
    return shm::read_npy_header(head, size);
  } catch (const shm::NpyHeaderError& e) {
    const std::size_t more = std::min(size, kMaxNpyHeaderRead);
    if (e.offset() != 8 || head.size() >= more) throw;  // not a header past what was read
  }
  head.resize(std::min(size, kMaxNpyHeaderRead));
  head.resize(pread_full(fd, head, 0));
  return shm::read_npy_header(head, size);
}

shm::ListRegions validate_exact(int fd) {
  const shm::ListRegions list = shm::ShareableList::validate_by_read(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
  const auto size = static_cast<std::size_t>(st.st_size);
  if (list.end != size) {
    throw shm::LayoutError(
        list.end, "the list ends at byte " + std::to_string(list.end) + " but the block has " +
                      std::to_string(size) +
                      " bytes (CPython makes blocks of exactly the list's size)");
  }
  return list;
}

std::optional<shm::NpyHeader> npy_header(const std::string& name, int fd) {
  try {
    return read_npy_by_read(fd);
  } catch (const shm::NpyHeaderError& e) {
    throw std::runtime_error(name + " is not a valid .npy array: " + e.what());
  }
}

BlockFd::BlockFd(const std::string& requested) {
  const shm::BlockName name(requested);
  name_ = name.str();
  // As the library's attach opens: a FIFO never blocks, a symlink is not followed; what was
  // opened is judged by validate_by_read's fstat.
  fd_ = ::shm_open(name.os_name().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
  if (fd_ < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot open shared memory '" + name.os_name() + "'");
  }
}

BlockFd::~BlockFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t BlockFd::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
  return static_cast<std::size_t>(st.st_size);
}

BlockCopy::BlockCopy(const BlockFd& fd, std::size_t size) : fd_(fd), size_(size) {
  if (size == 0) return;
  // MAP_NORESERVE: a copy as large as a huge sparse block reserves address space, not memory.
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (data == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot reserve memory to read " + fd.name());
  }
  data_ = static_cast<std::byte*>(data);
}

BlockCopy::~BlockCopy() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

void BlockCopy::read(std::size_t at, std::size_t length) {
  const std::size_t got = pread_full(fd_.get(), {data_ + at, length}, at);
  if (got != length) {
    throw std::runtime_error("cannot read " + fd_.name() + ": it ends at byte " +
                             std::to_string(at + got) + " but was " + std::to_string(size_) +
                             " bytes when opened (truncated while being read)");
  }
}

}  // namespace pyshm
