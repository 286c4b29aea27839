// shm::SemLock: CPython's _multiprocessing.SemLock (Modules/_multiprocessing/semaphore.c) over
// glibc's sem_t, in the file glibc's sem_open uses (/dev/shm/sem.mp-XXXXXXXX).
//
// The file is opened and mapped here rather than by sem_open, which cannot be told what it may
// open: glibc maps whatever /dev/shm/sem.<name> is, and the first sem_wait on a 0-byte file dies
// of SIGBUS (measured, glibc 2.36). Opening it ourselves lets the descriptor be judged first
// (O_NOFOLLOW, O_NONBLOCK for a FIFO, fstat: a regular file of at least sizeof(sem_t) bytes), and
// lets a tracked create register the semaphore before it has its name, as SharedMemory::create
// does. The bytes are the same: a sem_t initialised by sem_init(pshared = 1) is what sem_open
// writes into a new semaphore's file (compared byte for byte, glibc 2.36), and sem_wait, sem_post,
// sem_getvalue and sem_timedwait work on any sem_t in shared memory. The names, the counting,
// ownership and errors are semaphore.c's.
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "fd_guard.hpp"
#include "libshm/error.hpp"
#include "libshm/names.hpp"
#include "libshm/sync.hpp"
#include "names.hpp"
#include "tracker_identified.hpp"
#include "unnamed_file.hpp"

namespace shm {

namespace {

// Counts the fork()s this process went through: a SemLock made before a fork finds its count
// reset in the child, as CPython's _after_fork does (count and owner are per process). Registered
// when the library is loaded, as the tracker's handlers are.
std::atomic<unsigned> fork_generation{0};
[[maybe_unused]] const bool fork_handler_registered = [] {
  ::pthread_atfork(nullptr, nullptr,
                   [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
  return true;
}();

// CPython's tempfile._RandomNameSequence draws 8 of these; SemLock names are "/mp-" + those.
constexpr std::string_view kNameCharacters = "abcdefghijklmnopqrstuvwxyz0123456789_";
constexpr int kNameAttempts = 100;  // synchronize.py's loop

std::string random_semaphore_name() {
  std::string name = "/mp-";
  while (name.size() < 12) {
    unsigned char bytes[16];
    const ssize_t n = ::getrandom(bytes, sizeof bytes, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw OsError(errno, "getrandom");
    }
    // 222 = 6 * 37: bytes above it are dropped so that every character is equally likely.
    for (ssize_t i = 0; i < n && name.size() < 12; ++i) {
      if (bytes[i] < 222) name += kNameCharacters[bytes[i] % kNameCharacters.size()];
    }
  }
  return name;
}

OsError semaphore_error(int err, const std::string& what, const std::string& os_name) {
  return OsError(err, what + " '" + os_name + "'");
}

using detail::FdGuard;

sem_t* map_semaphore(int fd) {
  void* p = ::mmap(nullptr, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : static_cast<sem_t*>(p);
}

// The bytes of a new semaphore of `value`, as sem_open(O_CREAT) writes them.
sem_t initial_semaphore(unsigned value) {
  sem_t sem;
  std::memset(&sem, 0, sizeof sem);
  ::sem_init(&sem, 1, value);  // cannot fail: value <= SEM_VALUE_MAX, pshared is supported
  return sem;
}

// Writes all of `sem` at offset 0; 0 or the errno (ENOSPC on a full /dev/shm).
int write_semaphore(int fd, const sem_t& sem) {
  const char* p = reinterpret_cast<const char*>(&sem);
  std::size_t done = 0;
  while (done < sizeof sem) {
    const ssize_t n = ::pwrite(fd, p + done, sizeof sem - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

// Set once an unnamed file could not be made or named here: creates then write a named
// temporary file and link it, as glibc's sem_open does.
std::atomic<bool> unnamed_create_unavailable{false};

// A new semaphore's file before it has its name: unnamed (O_TMPFILE), or where that is not
// possible a temporary "/dev/shm/sem.mp-tmp-XXXXXX" that is removed once linked (or refused).
struct NewFile {
  int fd = -1;
  std::string temp_path;  // empty for an unnamed file
  NewFile() = default;
  NewFile(const NewFile&) = delete;
  NewFile& operator=(const NewFile&) = delete;
  ~NewFile() {
    if (!temp_path.empty()) ::unlink(temp_path.c_str());
    if (fd >= 0) ::close(fd);
  }
};

// Opens `file`; 0 or the errno.
int open_new_file(NewFile& file) {
  if (!unnamed_create_unavailable.load(std::memory_order_relaxed)) {
    file.fd = detail::open_unnamed();
    if (file.fd >= 0) return 0;
    if (!detail::unnamed_unsupported(errno)) return errno;
    unnamed_create_unavailable.store(true, std::memory_order_relaxed);
  }
  std::string path = std::string(kShmDirectory) + "/sem.mp-tmp-XXXXXX";
  file.fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (file.fd < 0) return errno;
  file.temp_path = std::move(path);
  return 0;
}

// Gives `file` the name `path`; 0 or the errno (EEXIST: taken).
int link_new_file(NewFile& file, const std::string& path) {
  if (file.temp_path.empty()) return detail::give_name(file.fd, path);
  return ::link(file.temp_path.c_str(), path.c_str()) == 0 ? 0 : errno;
}

// A timeout as semaphore.c makes it: a CLOCK_REALTIME deadline (what sem_timedwait takes),
// computed once before the first try, so that retries after EINTR keep it; negative is 0.
// std::nullopt for a timeout past what time_t can say (infinity included): no timeout.
std::optional<timespec> deadline_after(double seconds) {
  if (std::isnan(seconds)) {
    throw InvalidArgument(Errc::invalid_argument, "timeout must be a number, not NaN");
  }
  if (seconds < 0) seconds = 0;
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  constexpr auto kMaxSeconds = std::numeric_limits<time_t>::max();
  if (seconds >= static_cast<double>(kMaxSeconds - now.tv_sec - 1)) return std::nullopt;
  const auto whole = static_cast<time_t>(seconds);
  long nsec = now.tv_nsec + static_cast<long>(1e9 * (seconds - static_cast<double>(whole)) + 0.5);
  timespec deadline{now.tv_sec + whole, 0};
  deadline.tv_sec += nsec / 1'000'000'000;
  nsec %= 1'000'000'000;
  deadline.tv_nsec = nsec;
  return deadline;
}

}  // namespace

// The semaphore, which this process maps, and what semaphore.c keeps beside it per object: the
// count of acquisitions not yet released and the last thread that acquired. `count` and
// `last_thread` are atomics because, unlike CPython's under the GIL, any number of threads may
// call acquire and release on one object at once.
struct SemLock::State {
  sem_t* sem = nullptr;  // MAP_SHARED mapping of the semaphore's file, sizeof(sem_t) bytes
  std::string name;      // "/mp-XXXXXXXX"
  SemKind kind = SemKind::semaphore;
  std::int64_t maxvalue = 1;
  dev_t dev = 0;  // the file's identity, for the tracker and the creator's unlink
  ino_t ino = 0;
  pid_t creator = 0;     // the process that made it, which alone unlinks it; 0: attached
  bool tracked = false;  // registered with the tracker by its identity
  std::atomic<int> count{0};
  std::atomic<pthread_t> last_thread{};
  std::atomic<unsigned> generation{0};  // fork_generation when count was last valid

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (sem != nullptr) ::munmap(sem, sizeof(sem_t));
  }

  // Forgets this process's count in a fork()ed child (CPython's SemLock._after_fork).
  void after_fork() noexcept {
    const unsigned now = fork_generation.load(std::memory_order_relaxed);
    if (generation.load(std::memory_order_relaxed) != now) {
      count.store(0, std::memory_order_relaxed);
      generation.store(now, std::memory_order_relaxed);
    }
  }

  // CPython's ISMINE: this thread acquired last and has not released every level.
  bool is_mine() noexcept {
    after_fork();
    return count.load(std::memory_order_acquire) > 0 &&
           ::pthread_equal(last_thread.load(std::memory_order_relaxed), ::pthread_self()) != 0;
  }
};

SemLock::SemLock(std::unique_ptr<State> state) : state_(std::move(state)) {}
SemLock::SemLock(SemLock&&) noexcept = default;

SemLock& SemLock::operator=(SemLock&& other) noexcept {
  if (this != &other) {
    SemLock gone(std::move(*this));  // cleans up what this held, as its destructor does
    state_ = std::move(other.state_);
  }
  return *this;
}

SemLock::~SemLock() {
  // Only the process that made it removes the name (CPython's Finalize runs in its creator
  // only), and only while the name is still this semaphore.
  if (!state_ || state_->creator == 0 || state_->creator != ::getpid()) return;
  const std::string path = detail::semaphore_path(state_->name);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && st.st_dev == state_->dev && st.st_ino == state_->ino) {
    ::unlink(path.c_str());
  }
  if (state_->tracked) {
    try {
      detail::withdraw_identified(state_->name, state_->dev, state_->ino,
                                  detail::Resource::semaphore);
    } catch (const std::exception&) {
      // A tracker that cannot be reached has forgotten the registration anyway.
    }
  }
}

namespace {

// The state of a SemLock over the semaphore file `fd` (whose fstat is `st`), mapped: what
// create and attach both end with.
std::unique_ptr<SemLock::State> mapped_state(int fd, const struct stat& st, const std::string& name,
                                             SemKind kind, std::int64_t maxvalue) {
  auto state = std::make_unique<SemLock::State>();
  state->sem = map_semaphore(fd);
  if (state->sem == nullptr) throw semaphore_error(errno, "cannot map semaphore", name);
  state->name = name;
  state->kind = kind;
  state->maxvalue = maxvalue;
  state->dev = st.st_dev;
  state->ino = st.st_ino;
  state->generation = fork_generation.load(std::memory_order_relaxed);
  return state;
}

// What _multiprocessing.SemLock refuses of a kind and maximum value, as create and attach share.
void check_kind_and_maxvalue(SemKind kind, std::int64_t maxvalue) {
  if (kind != SemKind::semaphore && kind != SemKind::recursive_mutex) {
    throw InvalidArgument(Errc::invalid_argument, "unrecognized kind");
  }
  if (maxvalue < 0 || maxvalue > kSemValueMax) {
    throw InvalidArgument(Errc::invalid_argument, "maxvalue must be in 0 .. " +
                                                      std::to_string(kSemValueMax) + ", not " +
                                                      std::to_string(maxvalue));
  }
}

}  // namespace

SemLock SemLock::create(SemKind kind, std::int64_t value, std::int64_t maxvalue,
                        const SyncOptions& options) {
  check_kind_and_maxvalue(kind, maxvalue);
  if (value < 0 || value > maxvalue) {
    throw InvalidArgument(Errc::invalid_argument, "semaphore initial value must be in 0 .. " +
                                                      std::to_string(maxvalue) + ", not " +
                                                      std::to_string(value));
  }
  const sem_t initial = initial_semaphore(static_cast<unsigned>(value));
  for (int attempt = 0; attempt < kNameAttempts; ++attempt) {
    const std::string name = random_semaphore_name();
    // Until the link below, a failure leaves nothing: the file has no name (or its temporary
    // name goes with `file`).
    NewFile file;
    if (const int err = open_new_file(file); err != 0) {
      throw semaphore_error(err, "cannot create semaphore", name);
    }
    if (const int err = write_semaphore(file.fd, initial); err != 0) {
      throw semaphore_error(err, "cannot create semaphore", name);
    }
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) throw semaphore_error(errno, "cannot stat semaphore", name);
    auto state = mapped_state(file.fd, st, name, kind, maxvalue);
    if (options.track) {
      // Registered before it has its name: no SIGKILL leaves a semaphore the tracker does not
      // know about.
      try {
        detail::register_identified(name, st.st_dev, st.st_ino, detail::Resource::semaphore);
      } catch (const std::system_error& e) {
        throw semaphore_error(e.code().value(), "cannot track semaphore", name);
      }
    }
    const int err = link_new_file(file, detail::semaphore_path(name));
    if (err != 0) {
      if (options.track) {
        try {
          detail::withdraw_identified(name, st.st_dev, st.st_ino, detail::Resource::semaphore);
        } catch (const std::system_error&) {
          // A tracker that cannot be reached has forgotten the registration anyway.
        }
      }
      if (err == EEXIST) continue;  // the name is taken: the next one
      if (err == ENOENT && file.temp_path.empty()) {
        // Neither AT_EMPTY_PATH nor /proc can name an unnamed file here: from now on, this
        // semaphore included, the temporary file way.
        unnamed_create_unavailable.store(true, std::memory_order_relaxed);
        --attempt;
        continue;
      }
      throw semaphore_error(err, "cannot create semaphore", name);
    }
    state->creator = ::getpid();
    state->tracked = options.track;
    return SemLock(std::move(state));
  }
  throw OsError(EEXIST, "cannot find name for semaphore");
}

SemLock SemLock::attach(std::string_view requested_name, SemKind kind, std::int64_t maxvalue) {
  check_kind_and_maxvalue(kind, maxvalue);
  const std::string name = detail::semaphore_os_name(requested_name);
  const std::string path = detail::semaphore_path(name);
  // O_NOFOLLOW: a symlink is not a semaphore; O_NONBLOCK: a FIFO must not wait for a writer.
  // What was opened is judged by its descriptor, never by a path renamed over in between.
  FdGuard fd(::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) throw OsError(err, "no semaphore named " + name);
    if (err == ELOOP || err == EISDIR) {
      throw InvalidArgument(Errc::not_a_block,
                            "cannot open semaphore '" + name + "': " + path +
                                (err == ELOOP ? " is a symbolic link" : " is a directory") +
                                ", not a semaphore");
    }
    throw semaphore_error(err, "cannot open semaphore", name);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw semaphore_error(errno, "cannot stat semaphore", name);
  if (!S_ISREG(st.st_mode)) {
    throw InvalidArgument(Errc::not_a_block, "cannot open semaphore '" + name + "': " + path +
                                                 " is " + detail::file_type_text(st.st_mode) +
                                                 ", not a semaphore");
  }
  if (st.st_size < static_cast<off_t>(sizeof(sem_t))) {
    throw InvalidArgument(Errc::not_a_block, "cannot open semaphore '" + name + "': " + path +
                                                 " has " + std::to_string(st.st_size) +
                                                 " bytes, a semaphore " +
                                                 std::to_string(sizeof(sem_t)));
  }
  return SemLock(mapped_state(fd.get(), st, name, kind, maxvalue));
}

namespace {

UsageError moved_from(const char* what) {
  return UsageError(Errc::closed, std::string(what) + " on a moved-from SemLock");
}

}  // namespace

bool SemLock::acquire(bool blocking, Timeout timeout) {
  if (!state_) throw moved_from("acquire()");
  State& s = *state_;
  s.after_fork();
  if (s.kind == SemKind::recursive_mutex && s.is_mine()) {
    s.count.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  std::optional<timespec> deadline;
  if (timeout) deadline = deadline_after(timeout->count());

  int res = 0;
  int err = 0;
  do {
    res = ::sem_trywait(s.sem);
    err = errno;
  } while (res < 0 && err == EINTR);
  if (res < 0 && err == EAGAIN && blocking) {
    do {
      res = deadline ? ::sem_timedwait(s.sem, &*deadline) : ::sem_wait(s.sem);
      err = errno;
    } while (res < 0 && err == EINTR);
  }
  if (res < 0) {
    if (err == EAGAIN || err == ETIMEDOUT) return false;
    throw semaphore_error(err, "cannot acquire semaphore", s.name);
  }
  s.last_thread.store(::pthread_self(), std::memory_order_relaxed);
  s.count.fetch_add(1, std::memory_order_release);
  return true;
}

void SemLock::release() {
  if (!state_) throw moved_from("release()");
  State& s = *state_;
  s.after_fork();
  if (s.kind == SemKind::recursive_mutex) {
    if (!s.is_mine()) {
      throw UsageError(Errc::not_owner, "attempt to release recursive lock not owned by thread");
    }
    if (s.count.load(std::memory_order_relaxed) > 1) {
      s.count.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    // The last level: given up before the post, since the next owner (another thread of this
    // process) sets its own count as soon as it has the semaphore.
    s.count.store(0, std::memory_order_release);
    if (::sem_post(s.sem) != 0) {
      const int err = errno;
      s.count.store(1, std::memory_order_relaxed);
      throw semaphore_error(err, "cannot release semaphore", s.name);
    }
    return;
  }
  // semaphore.c's check, no guarantee: another process may post between it and the post.
  int value = 0;
  if (::sem_getvalue(s.sem, &value) != 0) {
    throw semaphore_error(errno, "cannot read semaphore", s.name);
  }
  if (value >= s.maxvalue) {
    throw InvalidArgument(Errc::invalid_value, "semaphore or lock released too many times");
  }
  if (::sem_post(s.sem) != 0) throw semaphore_error(errno, "cannot release semaphore", s.name);
  s.count.fetch_sub(1, std::memory_order_relaxed);
}

int SemLock::get_value() const {
  if (!state_) throw moved_from("get_value()");
  int value = 0;
  if (::sem_getvalue(state_->sem, &value) != 0) {
    throw semaphore_error(errno, "cannot read semaphore", state_->name);
  }
  return value < 0 ? 0 : value;  // some systems count waiters as negative values
}

bool SemLock::is_zero() const {
  return get_value() == 0;
}

int SemLock::count() const noexcept {
  if (!state_) return 0;
  state_->after_fork();
  return state_->count.load(std::memory_order_relaxed);
}

bool SemLock::is_mine() const noexcept {
  return state_ && state_->is_mine();
}

const std::string& SemLock::name() const noexcept {
  static const std::string none;
  return state_ ? state_->name : none;
}

SemKind SemLock::kind() const noexcept {
  return state_ ? state_->kind : SemKind::semaphore;
}

std::int64_t SemLock::maxvalue() const noexcept {
  return state_ ? state_->maxvalue : 0;
}

bool SemLock::owns_name() const noexcept {
  return state_ && state_->creator != 0;
}

std::uintptr_t SemLock::handle() const noexcept {
  return state_ ? reinterpret_cast<std::uintptr_t>(state_->sem) : 0;
}

void SemLock::unlink() {
  if (!state_) throw moved_from("unlink()");
  State& s = *state_;
  if (::unlink(detail::semaphore_path(s.name).c_str()) != 0) {
    throw semaphore_error(errno, "cannot unlink semaphore", s.name);
  }
  const bool tracked = std::exchange(s.tracked, false);
  s.creator = 0;
  if (tracked) {
    detail::withdraw_identified(s.name, s.dev, s.ino, detail::Resource::semaphore);
  }
}

}  // namespace shm
