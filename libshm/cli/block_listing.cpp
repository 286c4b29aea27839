#include "block_listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <system_error>

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

void classify(BlockInfo& info) {
  // glibc keeps named semaphores here too, as "sem.NAME".
  if (info.name.rfind("sem.", 0) == 0) {
    info.kind = "semaphore";
    return;
  }
  if (info.size == 0) {
    info.kind = "raw";
    info.problem = "empty block (0 bytes)";
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
  }
}

std::vector<BlockInfo> list_blocks(const std::string& dir) {
  std::vector<BlockInfo> blocks;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) throw std::system_error(errno, std::generic_category(), "cannot list " + dir);
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone
    if (!S_ISREG(st.st_mode)) continue;
    BlockInfo info{name,
                   static_cast<std::uint64_t>(st.st_size),
                   owner_name(st.st_uid),
                   st.st_mode & 07777,
                   static_cast<std::int64_t>(st.st_mtime),
                   "",
                   ""};
    classify(info);
    blocks.push_back(std::move(info));
  }
  ::closedir(d);
  std::sort(blocks.begin(), blocks.end(),
            [](const BlockInfo& a, const BlockInfo& b) { return a.name < b.name; });
  return blocks;
}

}  // namespace pyshm
