#include "block_listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "array_dump.hpp"
#include "block_reading.hpp"

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
