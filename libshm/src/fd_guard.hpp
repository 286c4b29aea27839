// Closes a descriptor on scope exit (private header): blocks and semaphores are used through
// their mappings, which outlive the descriptor, so no handle keeps one open.
#pragma once

#include <unistd.h>

namespace shm::detail {

class FdGuard {
 public:
  explicit FdGuard(int fd) noexcept : fd_(fd) {}
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;  // owned descriptor, -1 if none
};

}  // namespace shm::detail
