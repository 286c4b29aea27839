#include "libshm/tracker.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>

#include "libshm/error.hpp"
#include "libshm/names.hpp"
#include "names.hpp"
#include "tracker_identified.hpp"

#ifdef LIBSHM_COVERAGE
extern "C" void __gcov_dump();
#endif

namespace shm::tracker {

namespace {

using detail::Resource;

// ---------------------------------------------------------------------------------------------
// The tracker process. It is a fork of a program that may have other threads, so malloc, locks
// and stdio may be in any state: everything below uses only async-signal-safe calls and
// memory it maps itself.

constexpr std::size_t kMaxLine = 512;  // CPython 3.10+ rejects longer messages too
constexpr std::size_t kMaxName = 256;  // "/" + 255 bytes (NAME_MAX)
constexpr char kPrefix[] = "libshm resource_tracker: ";
constexpr long kGatherNanoseconds = 1'000'000;  // 1 ms between reads (tracker_main)

// One registered block or semaphore: its name and which file it was when registered, so that
// one another process created later under the same name is told apart and left alone
// (CPython's tracker knows only names and unlinks it: docs/cpython-quirks.md).
struct Entry {
  char name[kMaxName + 1];  // "/name", NUL-terminated
  Resource resource;        // a block's file is /dev/shm/name, a semaphore's /dev/shm/sem.name
  dev_t dev;                // st_dev at registration, 0 if it could not be read
  ino_t ino;                // st_ino at registration, 0 if it could not be read
  dev_t prev_dev;           // the identity the newest registration replaced, 0 if none:
  ino_t prev_ino;           // what an UNREGISTER of exactly that registration restores
};

// Registered blocks, a flat array in memory mapped by the tracker itself.
struct NameTable {
  Entry* entries = nullptr;  // capacity entries
  std::size_t count = 0;     // entries in use, packed at the front
  std::size_t capacity = 0;  // entries mapped
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

// The file of `name` (kShmDirectory + name for a block, kShmDirectory + "/sem." + the name
// after its slash for a semaphore, glibc's choice), into `path`.
constexpr std::size_t kPathMax =
    kShmDirectory.size() + 1 + detail::kSemaphoreFilePrefix.size() + kMaxName + 1;
void resource_path(char (&path)[kPathMax], Resource resource, const char* name) {
  char* p = path;
  std::memcpy(p, kShmDirectory.data(), kShmDirectory.size());
  p += kShmDirectory.size();
  if (resource == Resource::semaphore) {
    *p++ = '/';
    std::memcpy(p, detail::kSemaphoreFilePrefix.data(), detail::kSemaphoreFilePrefix.size());
    p += detail::kSemaphoreFilePrefix.size();
    ++name;  // the slash
  }
  std::strcpy(p, name);
}

// Which file `name` is now, or false if it does not exist.
bool identify(Resource resource, const char* name, dev_t& dev, ino_t& ino) {
  char path[kPathMax];
  resource_path(path, resource, name);
  struct stat st {};
  if (::stat(path, &st) != 0) return false;
  dev = st.st_dev;
  ino = st.st_ino;
  return true;
}

Entry* find(const NameTable& t, Resource resource, const char* name, std::size_t len) {
  for (std::size_t i = 0; i < t.count; ++i) {
    Entry& e = t.entries[i];
    if (e.resource == resource && std::strlen(e.name) == len &&
        std::memcmp(e.name, name, len) == 0) {
      return &e;
    }
  }
  return nullptr;
}

// Registers `name`; dev/ino say which file it is (0: unknown, the file there now counts).
bool add(NameTable& t, Resource resource, const char* name, std::size_t len, dev_t dev, ino_t ino) {
  Entry* e = find(t, resource, name, len);
  if (e == nullptr) {
    if (t.count == t.capacity) {
      const std::size_t grown = t.capacity == 0 ? 64 : t.capacity * 2;
      void* p = ::mmap(nullptr, grown * sizeof(Entry), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) return false;
      if (t.entries != nullptr) {
        std::memcpy(p, t.entries, t.count * sizeof(Entry));
        ::munmap(t.entries, t.capacity * sizeof(Entry));
      }
      t.entries = static_cast<Entry*>(p);
      t.capacity = grown;
    }
    e = &t.entries[t.count++];
    std::memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->resource = resource;
    e->dev = 0;
    e->ino = 0;
    e->prev_dev = 0;
    e->prev_ino = 0;
  }
  // A registration again (the name was re-created here) is about the newest block; the one it
  // replaces is kept for an UNREGISTER of exactly this registration (remove_identified).
  const dev_t old_dev = e->dev;
  const ino_t old_ino = e->ino;
  e->dev = dev;
  e->ino = ino;
  if (ino == 0 && !identify(resource, e->name, e->dev, e->ino)) {
    e->dev = 0;
    e->ino = 0;
  }
  if (e->dev != old_dev || e->ino != old_ino) {
    e->prev_dev = old_dev;
    e->prev_ino = old_ino;
  }
  return true;
}

void remove(NameTable& t, Resource resource, const char* name, std::size_t len) {
  Entry* e = find(t, resource, name, len);
  if (e == nullptr) return;
  --t.count;
  if (e != &t.entries[t.count]) std::memcpy(e, &t.entries[t.count], sizeof(Entry));
}

// Withdraws the registration of `name` as block dev:ino, and only that one: a create that
// registered a block before giving it its name (SharedMemory::create), and then found the name
// taken, undoes its registration without touching the name's earlier one.
void remove_identified(NameTable& t, Resource resource, const char* name, std::size_t len,
                       dev_t dev, ino_t ino) {
  Entry* e = find(t, resource, name, len);
  if (e == nullptr || e->dev != dev || e->ino != ino) return;
  if (e->prev_ino == 0) {
    remove(t, resource, name, len);
    return;
  }
  e->dev = e->prev_dev;
  e->ino = e->prev_ino;
  e->prev_dev = 0;
  e->prev_ino = 0;
}

// Splits off the next ':'-separated field of [p, end); p moves past it and its colon.
struct Field {
  const char* data;
  std::size_t size;
  bool is(const char* text) const {
    return size == std::strlen(text) && std::memcmp(data, text, size) == 0;
  }
};
Field next_field(const char*& p, const char* end) {
  const char* colon =
      static_cast<const char*>(std::memchr(p, ':', static_cast<std::size_t>(end - p)));
  const char* stop = colon != nullptr ? colon : end;
  const Field f{p, static_cast<std::size_t>(stop - p)};
  p = colon != nullptr ? colon + 1 : end;
  return f;
}

// A decimal field, or 0 if it is not one.
std::uint64_t number(const Field& f) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < f.size; ++i) {
    if (f.data[i] < '0' || f.data[i] > '9') return 0;
    v = v * 10 + static_cast<std::uint64_t>(f.data[i] - '0');
  }
  return v;
}

// One "CMD:NAME:RTYPE" line, CPython's protocol, where libshm's REGISTER may add ":DEV:INO",
// the block's identity when it was created, and its UNREGISTER the same to withdraw only that
// registration. Names are validated before they are sent, so they hold no ':'.
void handle_line(NameTable& t, const char* line, std::size_t len) {
  const char* p = line;
  const char* end = line + len;
  const Field cmd = next_field(p, end);
  const Field name = next_field(p, end);
  const Field rtype = next_field(p, end);
  const Field dev = next_field(p, end);
  const Field ino = next_field(p, end);
  Resource resource;
  if (rtype.is("shared_memory")) {
    resource = Resource::shared_memory;
  } else if (rtype.is("semaphore")) {
    resource = Resource::semaphore;
  } else {
    return;  // PROBE:0:noop and anything else
  }
  if (name.size < 2 || name.size > kMaxName || name.data[0] != '/') return;
  if (cmd.is("REGISTER")) {
    if (!add(t, resource, name.data, name.size, static_cast<dev_t>(number(dev)),
             static_cast<ino_t>(number(ino)))) {
      write_str(kPrefix);
      write_str("out of memory, cannot track a block\n");
    }
  } else if (cmd.is("UNREGISTER")) {
    if (const auto id = static_cast<ino_t>(number(ino)); id != 0) {
      remove_identified(t, resource, name.data, name.size, static_cast<dev_t>(number(dev)), id);
    } else {
      remove(t, resource, name.data, name.size);
    }
  }
}

void report(const char* name, const char* problem) {
  write_str(kPrefix);
  write_str("'");
  write_str(name);
  write_str("': ");
  write_str(problem);
  write_str("\n");
}

// What is left of one resource type, as CPython's tracker does it: one line per type listing
// the names, then each unlinked.
void clean_up(NameTable& t, Resource resource) {
  std::size_t left = 0;
  for (std::size_t i = 0; i < t.count; ++i) left += t.entries[i].resource == resource ? 1 : 0;
  if (left == 0) return;
  const bool semaphore = resource == Resource::semaphore;
  write_str(kPrefix);
  write_str("There appear to be ");
  write_number(left);
  write_str(semaphore ? " leaked semaphore objects to clean up at shutdown: ["
                      : " leaked shared_memory objects to clean up at shutdown: [");
  bool first = true;
  for (std::size_t i = 0; i < t.count; ++i) {
    if (t.entries[i].resource != resource) continue;
    write_str(first ? "'" : ", '");
    write_str(t.entries[i].name);
    write_str("'");
    first = false;
  }
  write_str("]\n");
  for (std::size_t i = 0; i < t.count; ++i) {
    const Entry& e = t.entries[i];
    if (e.resource != resource) continue;
    dev_t dev = 0;
    ino_t ino = 0;
    if (e.ino != 0 && identify(resource, e.name, dev, ino) && (dev != e.dev || ino != e.ino)) {
      report(e.name, semaphore ? "not unlinked: the name now belongs to another semaphore"
                               : "not unlinked: the name now belongs to another block");
      continue;
    }
    char path[kPathMax];
    resource_path(path, resource, e.name);
    if (::unlink(path) != 0) {
      const char* err = strerrorname_np(errno);
      char problem[64] = "cannot unlink: ";
      std::strncat(problem, err != nullptr ? err : "error", sizeof problem - 17);
      report(e.name, problem);
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
// so it holds nothing open that someone else waits on (pipes, sockets, lock files). Needs no
// descriptor above 3, so it works under any RLIMIT_NOFILE that let the parent make the socket.
// Returns 0, or the errno that stopped it.
int isolate_descriptors(int in) {
  if (in != 3) {
    if (::dup2(in, 3) < 0) return errno;
    ::close(in);
  }
  const int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    if (::fcntl(STDERR_FILENO, F_GETFD) < 0) ::dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO && null_fd != 3) ::close(null_fd);
  }
  if (::syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
    for (int fd = 4; fd < 65536; ++fd) ::close(fd);
  }
  return 0;
}

// Tells the starting client whether the tracker runs: a 4-byte errno, 0 for yes.
void report_start(int fd, int err) {
  write_all(fd, reinterpret_cast<const char*>(&err), sizeof err);
}

[[noreturn]] void tracker_main(int in) {
  reset_signals();
  ::prctl(PR_SET_NAME, "shm-tracker", 0, 0, 0);
  if (const int err = isolate_descriptors(in); err != 0) {
    report_start(in, err);
    ::_exit(71);
  }
  in = 3;
  report_start(in, 0);

  NameTable table;
  char buf[kMaxLine + 1];
  std::size_t used = 0;
  bool overlong = false;  // skipping the rest of a line longer than kMaxLine
  bool drained = true;    // the socket was found empty: the next read waits
  for (;;) {
    const ssize_t n = drained ? ::read(in, buf + used, sizeof buf - used)
                              : ::recv(in, buf + used, sizeof buf - used, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && !drained && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Everything sent so far is handled. Let the next lines gather before waiting again: a
      // client's send() wakes the tracker only while it waits in read(), and that wakeup (an
      // interrupt to another CPU, a VM exit under a hypervisor) was most of what tracking added
      // to a create and an unlink. Nothing waits on the pause: a send returns once its line is
      // in the socket's buffer, where it survives a SIGKILL of the sender and is read after
      // it; a sender that fills the buffer (some 270 lines) waits at most this long.
      const timespec pause{0, kGatherNanoseconds};
      ::nanosleep(&pause, nullptr);
      drained = true;
      continue;
    }
    if (n <= 0) break;  // EOF: every holder of the write end is gone
    drained = false;
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
  clean_up(table, Resource::shared_memory);
  clean_up(table, Resource::semaphore);
#ifdef LIBSHM_COVERAGE
  __gcov_dump();
#endif
  ::_exit(0);
}

// ---------------------------------------------------------------------------------------------
// The client side, in the program itself.

// The client's state. Its mutex is held only inside this file's calls, never across a fork:
// pthread_atfork takes it before any fork() of the program and releases it in both processes
// after, so a child forked while another thread was in the middle of a tracker call starts with
// the mutex free and the state consistent (that thread's send either happened before the fork
// or not at all). The tracker itself is started with _Fork(), which runs no fork handlers: its
// child runs only async-signal-safe code, and the starting thread already holds the mutex.
struct Client {
  std::mutex mu;  // guards everything below
  int fd = -1;    // write end of the tracker's socket, -1 until started
  pid_t pid = 0;  // the tracker process (our child), 0 until started
};

// Constant-initialized, and the fork handlers registered when the library is loaded (before
// main, or at dlopen), never on first use: a function-local static's first use runs under a
// guard, and a child forked while another thread was inside that initialization waits on the
// guard forever (the fork storm of hostile_test saw one such child: the first fork, while the
// four threads made their first tracked blocks).
constinit Client the_client;

[[maybe_unused]] const bool fork_handlers_registered = [] {
  ::pthread_atfork([] { the_client.mu.lock(); }, [] { the_client.mu.unlock(); },
                   [] { the_client.mu.unlock(); });
  return true;
}();

Client& client() {
  return the_client;
}

// Reads the tracker's start report (report_start); 0 if it runs, else why not.
int await_start(int fd) {
  int err = 0;
  std::size_t got = 0;
  while (got < sizeof err) {
    const ssize_t n = ::recv(fd, reinterpret_cast<char*>(&err) + got, sizeof err - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got == sizeof err ? err : ECHILD;  // ECHILD: it died before reporting
}

void start(Client& c) {
  int sv[2];
  // A socket rather than a pipe only so that send() can use MSG_NOSIGNAL: a dead tracker must
  // not kill the program with SIGPIPE. CLOEXEC: exec'd children must not keep it alive.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    throw OsError(errno, "cannot start the resource tracker");
  }
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);  // no handler of ours may run in the child
  const pid_t pid = ::_Fork();
  if (pid == 0) {
    ::close(sv[1]);
    tracker_main(sv[0]);
  }
  const int err = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(sv[0]);
  if (pid < 0) {
    ::close(sv[1]);
    throw OsError(err, "cannot start the resource tracker");
  }
  if (const int failed = await_start(sv[1]); failed != 0) {
    ::close(sv[1]);
    ::waitpid(pid, nullptr, 0);  // it has exited (71) or is exiting
    throw OsError(failed, failed == ECHILD ? "the resource tracker exited as it started"
                                           : "the resource tracker could not start");
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

// Sends "COMMAND:/name:RTYPE" and `suffix`, then a newline; `os_name` is validated ("/x").
void send_command(const char* command, const std::string& os_name, Resource resource,
                  bool start_if_needed, const std::string& suffix = "") {
  Client& c = client();
  std::lock_guard lock(c.mu);
  if (c.fd < 0 && !start_if_needed) return;  // no tracker: nothing to withdraw, nothing to build
  const char* rtype = resource == Resource::semaphore ? ":semaphore" : ":shared_memory";
  const std::string line = std::string(command) + ":" + os_name + rtype + suffix + "\n";
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (c.fd < 0) {
      if (!start_if_needed) return;  // nothing was ever registered with a running tracker
      start(c);
    }
    if (send_all(c.fd, line)) return;
    const int err = errno;
    if (err != EPIPE && err != ECONNRESET) {
      throw OsError(err, "cannot reach the resource tracker");
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
  throw OsError(EPIPE, "cannot reach the resource tracker");
}

// ":DEV:INO", a block's identity on a REGISTER or UNREGISTER line.
std::string identity_suffix(dev_t dev, ino_t ino) {
  return ":" + std::to_string(dev) + ":" + std::to_string(ino);
}

}  // namespace

void register_block(std::string_view name) {
  // Which file the name is now, so that the tracker will not unlink a later block that merely
  // has the same name. Read here, in the registering call, not later by the tracker: by then
  // another process may have replaced the block.
  const BlockName block(name);
  struct stat st {};
  if (::stat(block.path().c_str(), &st) == 0) {
    send_command("REGISTER", block.os_name(), Resource::shared_memory, true,
                 identity_suffix(st.st_dev, st.st_ino));
  } else {
    send_command("REGISTER", block.os_name(), Resource::shared_memory, true);
  }
}

void unregister_block(std::string_view name) {
  send_command("UNREGISTER", BlockName(name).os_name(), Resource::shared_memory, false);
}

void register_semaphore(std::string_view name) {
  const std::string os_name = detail::semaphore_os_name(name);
  struct stat st {};
  if (::stat(detail::semaphore_path(os_name).c_str(), &st) == 0) {
    send_command("REGISTER", os_name, Resource::semaphore, true,
                 identity_suffix(st.st_dev, st.st_ino));
  } else {
    send_command("REGISTER", os_name, Resource::semaphore, true);
  }
}

void unregister_semaphore(std::string_view name) {
  send_command("UNREGISTER", detail::semaphore_os_name(name), Resource::semaphore, false);
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

namespace shm::detail {

namespace {

std::string os_name_of(std::string_view name, Resource resource) {
  return resource == Resource::semaphore ? semaphore_os_name(name) : BlockName(name).os_name();
}

}  // namespace

void register_identified(std::string_view name, dev_t dev, ino_t ino, Resource resource) {
  tracker::send_command("REGISTER", os_name_of(name, resource), resource, true,
                        tracker::identity_suffix(dev, ino));
}

void withdraw_identified(std::string_view name, dev_t dev, ino_t ino, Resource resource) {
  tracker::send_command("UNREGISTER", os_name_of(name, resource), resource, false,
                        tracker::identity_suffix(dev, ino));
}

}  // namespace shm::detail
