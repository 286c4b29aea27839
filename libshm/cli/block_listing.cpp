#include "block_listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "array_dump.hpp"

namespace pyshm {

namespace {

std::string owner_name(uid_t uid) {
  // getpwuid_r with a generous fixed buffer: enough for any passwd entry we print.
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

}  // namespace

shm::ListRegions validate_exact(std::span<const std::byte> block) {
  const shm::ListRegions list = shm::ShareableList::validate(block);
  if (list.end != block.size()) {
    throw shm::LayoutError(
        list.end, "the list ends at byte " + std::to_string(list.end) + " but the block has " +
                      std::to_string(block.size()) +
                      " bytes (CPython makes blocks of exactly the list's size)");
  }
  return list;
}

namespace {

// Fills `buf` from byte `at` of `fd` with pread; fewer bytes only at the end of the file.
std::size_t pread_full(int fd, std::span<std::byte> buf, off_t at) {
  std::size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, at + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "cannot read the block");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

}  // namespace

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
  } catch (const shm::LayoutError& e) {
    const std::size_t more = std::min(size, kMaxNpyHeaderRead);
    if (e.offset() != 8 || head.size() >= more) throw;  // not a header past what was read
  }
  head.resize(std::min(size, kMaxNpyHeaderRead));
  head.resize(pread_full(fd, head, 0));
  return shm::read_npy_header(head, size);
}

namespace {

// Judges the block open on `fd` (read-only, a regular file of info.size bytes) by reading
// it with pread: no mapping, so no hole takes a page and a truncation is no SIGBUS.
void classify_open(BlockInfo& info, int fd) {
  if (info.size == 0) {
    info.kind = "raw";
    info.problem = "empty block (0 bytes)";
    return;
  }
  try {
    std::optional<shm::NpyHeader> header;
    try {
      header = read_npy_by_read(fd);
    } catch (const shm::NpyHeaderError& e) {  // numpy's magic: judged as an array, not a list
      info.kind = "raw";
      info.problem = std::string("not a valid .npy array: ") + e.what();
      return;
    }
    if (header) {
      info.kind = npy_kind(*header);
      return;
    }
    const shm::ListRegions list = validate_exact(fd);
    info.kind = "shareable-list " + std::string(shm::to_string(list.layout));
  } catch (const shm::LayoutError& e) {
    info.kind = "raw";
    info.problem = e.what();
  } catch (const std::exception& e) {  // never let one block stop the listing of the others
    info.kind = "unreadable";
    info.problem = e.what();
  }
}

}  // namespace

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

BlockFd::BlockFd(const std::string& requested) {
  const std::string name = requested.rfind('/', 0) == 0 ? requested.substr(1) : requested;
  shm::BlockName::validate(name);
  // As the library's attach opens: a FIFO never blocks, a symlink is not followed; what was
  // opened is judged by validate_by_read's fstat.
  fd_ = ::shm_open(("/" + name).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
  if (fd_ < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot open shared memory '/" + name + "'");
  }
}

BlockFd::~BlockFd() {
  if (fd_ >= 0) ::close(fd_);
}

void classify(BlockInfo& info) {
  // glibc keeps named semaphores here too, as "sem.NAME".
  if (info.name.rfind("sem.", 0) == 0) {
    info.kind = "semaphore";
    return;
  }
  try {
    const auto block = shm::SharedMemory::attach(info.name, {.read_only = true});
    const shm::ListRegions list = validate_exact(block.buf());
    info.kind = "shareable-list " + std::string(shm::to_string(list.layout));
  } catch (const shm::LayoutError& e) {
    info.kind = "raw";
    info.problem = e.what();
  } catch (const std::system_error& e) {
    info.kind = "unreadable";
    info.problem = e.code().message();
  } catch (const std::invalid_argument& e) {  // a name libshm refuses (docs/cpython-quirks.md)
    info.kind = "unknown";
    info.problem = e.what();
  } catch (const std::exception& e) {
    info.kind = "unreadable";
    info.problem = e.what();
  }
}

std::vector<BlockInfo> list_blocks(const std::string& dir) {
  std::vector<BlockInfo> blocks;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) throw std::system_error(errno, std::generic_category(), "cannot list " + dir);
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    // Judged by the descriptor opened, never by a path stat'ed earlier: O_NONBLOCK so that a
    // FIFO (even one renamed over a block meanwhile) never blocks the open, O_NOFOLLOW so a
    // symlink is not followed, and fstat on the descriptor decides what it is.
    const int fd = ::openat(::dirfd(d), name.c_str(),
                            O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st {};
    const int open_err = fd < 0 ? errno : 0;
    if (fd < 0 ? ::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0
               : ::fstat(fd, &st) != 0) {
      if (fd >= 0) ::close(fd);
      continue;  // gone
    }
    if (!S_ISREG(st.st_mode)) {  // only regular files are blocks
      if (fd >= 0) ::close(fd);
      continue;
    }
    BlockInfo info{name,
                   static_cast<std::uint64_t>(st.st_size),
                   owner_name(st.st_uid),
                   st.st_mode & 07777,
                   static_cast<std::int64_t>(st.st_mtime),
                   "",
                   ""};
    if (name.rfind("sem.", 0) == 0) {
      info.kind = "semaphore";
    } else if (fd < 0) {
      info.kind = "unreadable";
      info.problem = std::system_category().message(open_err);
    } else {
      classify_open(info, fd);
    }
    if (fd >= 0) ::close(fd);
    blocks.push_back(std::move(info));
  }
  ::closedir(d);
  std::sort(blocks.begin(), blocks.end(),
            [](const BlockInfo& a, const BlockInfo& b) { return a.name < b.name; });
  return blocks;
}

}  // namespace pyshm
