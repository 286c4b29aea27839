#include "libshm/names.hpp"

#include <sys/random.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <system_error>

#include "bytes_text.hpp"
#include "libshm/error.hpp"
#include "libshm/hex.hpp"
#include "names.hpp"

namespace shm {

namespace {

[[noreturn]] void reject(std::string_view name, const std::string& why) {
  throw InvalidArgument(Errc::invalid_name,
                        "invalid shared memory name '" + BlockName::shown(name) + "': " + why);
}

}  // namespace

void BlockName::validate(std::string_view name) {
  if (std::string problem = detail::name_problem(name); !problem.empty()) reject(name, problem);
}

BlockName::BlockName(std::string_view name) {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  validate(name);
  name_ = std::string(name);
}

BlockName BlockName::random() {
  std::array<std::uint8_t, 4> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw OsError(errno, "getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  return BlockName(Validated{}, "psm_" + to_hex(std::as_bytes(std::span(bytes))));
}

std::string BlockName::shown(std::string_view name) {
  return detail::shown(name);
}

namespace detail {

std::string name_problem(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name.size() > kMaxNameBytes) {
    return "longer than 255 bytes (" + std::to_string(name.size()) + ")";
  }
  if (name == "." || name == "..") return "'.' and '..' are not block names";
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    // Every create and attach checks its name: printable ASCII other than '/' and ':' passes
    // with two compares, and the message is built only for a name that is rejected.
    if (c >= 0x20 && c < 0x7f && c != '/' && c != ':') continue;
    const std::string at = " at byte " + std::to_string(i);
    // Each rejection below is a name some CPython mishandles (docs/cpython-quirks.md, Names).
    if (c == '\0') return "embedded NUL" + at + " (CPython before 3.12.3 truncates it)";
    if (c == '/') return "'/'" + at + " (shm_open refuses it)";
    if (c == ':') return "':'" + at + " (breaks CPython's resource tracker protocol)";
    if (c == '\n' || c == '\r') {
      return "line break" + at + " (breaks CPython's resource tracker protocol)";
    }
    if (c < 0x20 || c == 0x7f) return "control character" + at;
    return "non-ASCII byte" + at + " (CPython's tracker cannot register it; the block leaks)";
  }
  return {};
}

std::string semaphore_os_name(std::string_view name) {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  std::string problem = name_problem(name);
  if (problem.empty() && name.size() > kMaxSemaphoreNameBytes) {
    problem = "longer than " + std::to_string(kMaxSemaphoreNameBytes) + " bytes (" +
              std::to_string(name.size()) + "; its file is " + std::string(kSemaphoreFilePrefix) +
              "<name>)";
  }
  if (!problem.empty()) {
    throw InvalidArgument(Errc::invalid_name,
                          "invalid semaphore name '" + shown(name) + "': " + problem);
  }
  return "/" + std::string(name);
}

std::string semaphore_path(std::string_view os_name) {
  return std::string(kShmDirectory) + "/" + std::string(kSemaphoreFilePrefix) +
         std::string(os_name.substr(1));
}

std::string file_type_text(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "a regular file";
    case S_IFDIR:
      return "a directory";
    case S_IFIFO:
      return "a FIFO";
    case S_IFSOCK:
      return "a socket";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFLNK:
      return "a symbolic link";
    default:
      return "a file of unknown type";
  }
}

}  // namespace detail
}  // namespace shm
