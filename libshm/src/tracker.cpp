#include "libshm/tracker.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>

#include "names.hpp"

#ifdef LIBSHM_COVERAGE
extern "C" void __gcov_dump();
#endif

namespace shm::tracker {

namespace {

// ---------------------------------------------------------------------------------------------
// The tracker process. It is a fork of a program that may have other threads, so malloc, locks
// and stdio may be in any state: everything below uses only async-signal-safe calls and
// memory it maps itself.

constexpr std::size_t kMaxLine = 512;    // CPython 3.10+ rejects longer messages too
constexpr std::size_t kSlotBytes = 264;  // one registered name: "/" + 255 bytes + NUL, padded
constexpr char kShmDir[] = "/dev/shm";   // glibc's fixed shm_open directory on Linux
constexpr char kPrefix[] = "libshm resource_tracker: ";

// Registered names, a flat array of NUL-terminated slots in memory mapped by the tracker.
struct NameTable {
  char* slots = nullptr;     // capacity * kSlotBytes bytes
  std::size_t count = 0;     // slots in use, packed at the front
  std::size_t capacity = 0;  // slots mapped
};

void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void write_str(const char* s) {
  write_all(STDERR_FILENO, s, std::strlen(s));
}

void write_number(std::size_t v) {
  char digits[24];
  char* p = digits + sizeof digits;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  write_all(STDERR_FILENO, p, static_cast<std::size_t>(digits + sizeof digits - p));
}

long find(const NameTable& t, const char* name, std::size_t len) {
  for (std::size_t i = 0; i < t.count; ++i) {
    const char* slot = t.slots + i * kSlotBytes;
    if (std::strlen(slot) == len && std::memcmp(slot, name, len) == 0) return static_cast<long>(i);
  }
  return -1;
}

bool add(NameTable& t, const char* name, std::size_t len) {
  if (find(t, name, len) >= 0) return true;
  if (t.count == t.capacity) {
    const std::size_t grown = t.capacity == 0 ? 64 : t.capacity * 2;
    void* p = ::mmap(nullptr, grown * kSlotBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    if (t.slots != nullptr) {
      std::memcpy(p, t.slots, t.count * kSlotBytes);
      ::munmap(t.slots, t.capacity * kSlotBytes);
    }
    t.slots = static_cast<char*>(p);
    t.capacity = grown;
  }
  char* slot = t.slots + t.count * kSlotBytes;
  std::memcpy(slot, name, len);
  slot[len] = '\0';
  ++t.count;
  return true;
}

void remove(NameTable& t, const char* name, std::size_t len) {
  const long i = find(t, name, len);
  if (i < 0) return;
  --t.count;
  if (static_cast<std::size_t>(i) != t.count) {
    std::memcpy(t.slots + static_cast<std::size_t>(i) * kSlotBytes, t.slots + t.count * kSlotBytes,
                kSlotBytes);
  }
}

// One "CMD:NAME:RTYPE" line. Names are validated before they are sent, so they hold no ':'.
void handle_line(NameTable& t, const char* line, std::size_t len) {
  const char* first = static_cast<const char*>(std::memchr(line, ':', len));
  if (first == nullptr) return;
  const char* last = first;
  for (const char* p = line + len - 1; p > first; --p) {
    if (*p == ':') {
      last = p;
      break;
    }
  }
  if (last == first) return;
  const std::size_t cmd_len = static_cast<std::size_t>(first - line);
  const char* name = first + 1;
  const std::size_t name_len = static_cast<std::size_t>(last - name);
  const char* rtype = last + 1;
  const std::size_t rtype_len = static_cast<std::size_t>(line + len - rtype);
  constexpr char kRtype[] = "shared_memory";
  if (rtype_len != sizeof kRtype - 1 || std::memcmp(rtype, kRtype, rtype_len) != 0) return;
  if (name_len < 2 || name_len + 1 > kSlotBytes || name[0] != '/') return;
  if (cmd_len == 8 && std::memcmp(line, "REGISTER", 8) == 0) {
    if (!add(t, name, name_len)) {
      write_str(kPrefix);
      write_str("out of memory, cannot track a block\n");
    }
  } else if (cmd_len == 10 && std::memcmp(line, "UNREGISTER", 10) == 0) {
    remove(t, name, name_len);
  }
}

void clean_up(NameTable& t) {
  if (t.count == 0) return;
  write_str(kPrefix);
  write_str("There appear to be ");
  write_number(t.count);
  write_str(" leaked shared_memory objects to clean up at shutdown: [");
  for (std::size_t i = 0; i < t.count; ++i) {
    write_str(i == 0 ? "'" : ", '");
    write_str(t.slots + i * kSlotBytes);
    write_str("'");
  }
  write_str("]\n");
  char path[sizeof kShmDir + kSlotBytes];
  for (std::size_t i = 0; i < t.count; ++i) {
    const char* name = t.slots + i * kSlotBytes;
    std::memcpy(path, kShmDir, sizeof kShmDir - 1);
    std::strcpy(path + sizeof kShmDir - 1, name);
    if (::unlink(path) != 0) {
      const char* err = strerrorname_np(errno);
      write_str(kPrefix);
      write_str("'");
      write_str(name);
      write_str("': cannot unlink: ");
      write_str(err != nullptr ? err : "error");
      write_str("\n");
    }
  }
}

void reset_signals() {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction sa {};
    // Like CPython's tracker: survive the terminal's and the shell's signals, so that a Ctrl-C
    // that kills the program still lets its blocks be cleaned.
    const bool ignore = sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGPIPE;
    sa.sa_handler = ignore ? SIG_IGN : SIG_DFL;
    ::sigaction(sig, &sa, nullptr);  // fails harmlessly for the C library's reserved signals
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Leaves the tracker with only stdin/stdout on /dev/null, the parent's stderr, and `in` as fd 3,
// so it holds nothing open that someone else waits on (pipes, sockets, lock files).
int isolate_descriptors(int in) {
  const int high = ::fcntl(in, F_DUPFD, 10);
  if (high < 0) ::_exit(71);
  const int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    if (::fcntl(STDERR_FILENO, F_GETFD) < 0) ::dup2(null_fd, STDERR_FILENO);
  }
  if (::dup2(high, 3) < 0) ::_exit(71);
  if (::syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
    for (int fd = 4; fd < 65536; ++fd) ::close(fd);
  }
  return 3;
}

[[noreturn]] void tracker_main(int in) {
  reset_signals();
  ::prctl(PR_SET_NAME, "shm-tracker", 0, 0, 0);
  in = isolate_descriptors(in);

  NameTable table;
  char buf[kMaxLine + 1];
  std::size_t used = 0;
  bool overlong = false;  // skipping the rest of a line longer than kMaxLine
  for (;;) {
    const ssize_t n = ::read(in, buf + used, sizeof buf - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: every holder of the write end is gone
    used += static_cast<std::size_t>(n);
    std::size_t start = 0;
    for (std::size_t i = 0; i < used; ++i) {
      if (buf[i] != '\n') continue;
      if (!overlong) handle_line(table, buf + start, i - start);
      overlong = false;
      start = i + 1;
    }
    std::memmove(buf, buf + start, used - start);
    used -= start;
    if (used == sizeof buf) {  // no newline in a full buffer: protocol error, drop the line
      overlong = true;
      used = 0;
    }
  }
  clean_up(table);
#ifdef LIBSHM_COVERAGE
  __gcov_dump();
#endif
  ::_exit(0);
}

// ---------------------------------------------------------------------------------------------
// The client side, in the program itself.

struct Client {
  std::mutex mu;  // guards everything below
  int fd = -1;    // write end of the tracker's socket, -1 until started
  pid_t pid = 0;  // the tracker process (our child), 0 until started
};

Client& client() {
  static Client c;
  return c;
}

void start(Client& c) {
  int sv[2];
  // A socket rather than a pipe only so that send() can use MSG_NOSIGNAL: a dead tracker must
  // not kill the program with SIGPIPE. CLOEXEC: exec'd children must not keep it alive.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot start the resource tracker");
  }
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);  // no handler of ours may run in the child
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sv[1]);
    tracker_main(sv[0]);
  }
  const int err = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(sv[0]);
  if (pid < 0) {
    ::close(sv[1]);
    throw std::system_error(err, std::generic_category(), "cannot start the resource tracker");
  }
  c.fd = sv[1];
  c.pid = pid;
}

bool send_all(int fd, const std::string& line) {
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

void send_command(const char* command, std::string_view name, bool start_if_needed) {
  Client& c = client();
  std::lock_guard lock(c.mu);
  if (c.fd < 0 && !start_if_needed) return;  // no tracker: nothing to withdraw, nothing to build
  const std::string line = std::string(command) + ":" + detail::os_name(name) + ":shared_memory\n";
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (c.fd < 0) {
      if (!start_if_needed) return;  // nothing was ever registered with a running tracker
      start(c);
    }
    if (send_all(c.fd, line)) return;
    const int err = errno;
    if (err != EPIPE && err != ECONNRESET) {
      throw std::system_error(err, std::generic_category(), "cannot reach the resource tracker");
    }
    // The tracker was killed: what it held is forgotten, as with CPython's relaunch.
    ::close(c.fd);
    ::waitpid(c.pid, nullptr, WNOHANG);
    c.fd = -1;
    c.pid = 0;
    std::fputs(
        "libshm resource_tracker: process died unexpectedly, relaunching.  "
        "Some resources might leak.\n",
        stderr);
  }
  throw std::system_error(EPIPE, std::generic_category(), "cannot reach the resource tracker");
}

}  // namespace

void register_block(std::string_view name) {
  send_command("REGISTER", name, true);
}

void unregister_block(std::string_view name) {
  send_command("UNREGISTER", name, false);
}

void ensure_running() {
  Client& c = client();
  std::lock_guard lock(c.mu);
  if (c.fd < 0) start(c);
}

pid_t pid() noexcept {
  Client& c = client();
  std::lock_guard lock(c.mu);
  return c.pid;
}

}  // namespace shm::tracker
