// shm::sync: CPython's multiprocessing locks, semaphores, conditions and events, from C++.
//
// Under the spawn and forkserver start methods every multiprocessing.Lock, RLock, Semaphore and
// BoundedSemaphore, and the Condition and Event built from them, is a POSIX named semaphore
// "/mp-XXXXXXXX" (the file /dev/shm/sem.mp-XXXXXXXX), wrapped by _multiprocessing.SemLock. A
// pickle of one (what spawn's ForkingPickler writes) carries (handle, kind, maxvalue, name), and
// unpickling re-opens the semaphore by its name. The classes here are the same objects: one a
// C++ process creates can be pickled for a Python process (pickle.loads, stdlib only, CPython
// 3.8 – 3.15), and one a Python process created can be taken by its name or its pickle.
// docs/format.md ("Synchronisation objects") gives the names, pickles and tracker lines.
//
// Semantics are CPython's (Lib/multiprocessing/synchronize.py, Modules/_multiprocessing/
// semaphore.c): acquire(blocking, timeout) returns whether it acquired; a Lock may be released
// by any process (it is a semaphore of maximum value 1); an RLock only by the thread that holds
// it; release() past the maximum value is an error; Condition and Event are built from four and
// five semaphores exactly as CPython builds them, so C++ and Python processes can wait on and
// notify the same Condition.
//
// Lifetime: what create() makes is registered with libshm's resource tracker as a "semaphore"
// (by default) and its names are unlinked when the creating object is destroyed, or by the
// tracker when the creating process ends without that, even by SIGKILL (CPython's SemLock
// finalizer and tracker do the same). Opened semaphores stay usable after their names are gone;
// only new attaches by name need the name. attach() and from_pickle() never register or unlink.
//
// A holder that dies while holding a Lock leaves it taken, and libshm keeps that: it is
// CPython's semantics, and a named semaphore has no owner the kernel could give it back from
// (a robust mutex would, but CPython could not share it).
//
// Threads: acquire, release, get_value, count and is_mine (and the classes' methods built on
// them) may be called by any number of threads on one object at once, as CPython's SemLock is
// used. The count and the last acquiring thread are per object and per process, as CPython's:
// two objects for one semaphore (or a C++ and a Python process) each count their own. Moving,
// unlink() and destruction must not run beside other calls on the same object. After fork()
// the child's objects count from 0 (CPython's _after_fork) and never unlink the creator's name.
//
// Files: the semaphore is the 32-byte glibc sem_t that sem_open keeps in /dev/shm/sem.<name>;
// SemLock opens and maps that file itself instead of calling sem_open, so that what someone else
// put there is judged first: a symbolic link, FIFO, directory or a file shorter than a sem_t is
// refused with Errc::not_a_block (glibc's sem_open maps a 0-byte file and the first wait dies of
// SIGBUS; CPython does that). Like any shared mapping, a semaphore file truncated by someone
// else while it is open is beyond this (SIGBUS on the next use).
//
// Barrier: multiprocessing.Barrier is not here because its shared state cannot be reached from
// outside the process tree that made it. Its two counters (state, count) live in a
// multiprocessing.heap.BufferWrapper, an Arena: a file mkstemp makes in /dev/shm
// ("pym-<pid>-...") and unlinks at once, so it has no name. A pickle of it carries the open
// descriptor, not a name: spawn passes it to the child it execs (duplicate_for_child), anything
// else goes through resource_sharer.DupFd, whose listener hands the descriptor over a Unix
// socket (SCM_RIGHTS) only to a connection that answers the creating process's authkey
// challenge (HMAC). Its pickle also carries `action`, an arbitrary callable. The Condition it
// uses is reachable, its counters are not.
//
// Errors (shm::Errc, error.hpp): a name that does not exist is Errc::not_found (OsError, ENOENT);
// a bad name Errc::invalid_name; bytes that are not such a pickle Errc::bad_pickle (PickleError);
// release() past the bound Errc::invalid_value ("semaphore or lock released too many times",
// CPython's ValueError); releasing an RLock not held, or wait/notify on a Condition whose lock
// this thread does not hold, Errc::not_owner (CPython's AssertionError).
//
// Every class has the same members where they apply: create() makes a new one (its semaphores
// by SemLock::create, tracked unless the options say not); attach(name) takes a single SemLock
// by name (SemLock::attach); from_pickle(bytes) takes what a pickle of that class names (spawn's
// pickle in any protocol 2 – 5, or pickle()) and throws shm::pickle::PickleError
// (Errc::bad_pickle) for anything else, a pickle of another class included ("a pickle of
// multiprocessing.synchronize.Event, not multiprocessing.synchronize.Lock"); acquire and
// release are SemLock's; pickle(protocol) gives the bytes spawn's pickler writes for the object
// (protocol 2 – 5), which the stdlib's pickle.loads turns into that multiprocessing.synchronize
// class in any CPython 3.8+; semlock() is the SemLock underneath.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace shm {

namespace detail::sync_pickle {
struct ConditionState;
}

/// _multiprocessing's SemLock kinds (the `kind` in a pickle): RLock is a recursive mutex, every
/// other class a counting semaphore.
enum class SemKind : int { recursive_mutex = 0, semaphore = 1 };

/// SEM_VALUE_MAX on Linux: a Semaphore's maximum value (CPython's
/// _multiprocessing.SemLock.SEM_VALUE_MAX).
inline constexpr std::int64_t kSemValueMax = 2147483647;

/// The pickle protocol pickle() writes unless told otherwise: 4 is what spawn writes in CPython
/// 3.8 – 3.13 and every CPython 3.8+ reads it.
inline constexpr int kSyncPickleProtocol = 4;

/// How long acquire() and wait() may block: nullopt blocks until it succeeds (CPython's
/// timeout=None); a negative duration is zero, as in CPython.
using Timeout = std::optional<std::chrono::duration<double>>;

/// How create() makes a synchronisation object.
struct SyncOptions {
  /// Register the semaphores with libshm's resource tracker, so that they are unlinked when this
  /// process ends however it ends (CPython always registers under spawn and forkserver).
  bool track = true;
};

/// One named semaphore as CPython's _multiprocessing.SemLock: the building block of every class
/// below. Move-only; the destructor closes it and, if this object created it, unlinks the name
/// (and withdraws its tracker registration).
class SemLock {
 public:
  /// Makes a new semaphore "/mp-XXXXXXXX" (8 random characters of [a-z0-9_], CPython's choice;
  /// up to 100 names are tried, as CPython) with `value` and `maxvalue` (1 for a Lock or RLock).
  /// The file is complete before it has its name (and, when tracked, registered before), so no
  /// process ever sees half a semaphore and no SIGKILL leaves an unregistered one.
  /// Throws shm::InvalidArgument (Errc::invalid_argument) for value < 0, value > maxvalue or
  /// maxvalue outside 0 .. kSemValueMax, shm::OsError if the system refuses (Errc::no_space for
  /// a full /dev/shm, which then holds nothing of it; Errc::exists after 100 names taken).
  static SemLock create(SemKind kind, std::int64_t value, std::int64_t maxvalue,
                        const SyncOptions& options = {});
  /// Opens an existing semaphore by its name ("/mp-abc" or "mp-abc"), as unpickling does
  /// (_multiprocessing.SemLock._rebuild). Throws shm::OsError (Errc::not_found, "no semaphore
  /// named /mp-abc") if it does not exist, shm::InvalidArgument (Errc::invalid_name) for a name
  /// that cannot be one (a block name's rules, at most 251 bytes: its file is "sem." + name),
  /// (Errc::not_a_block) for a file there that is not a semaphore (see "Files" above),
  /// (Errc::invalid_argument) for a kind or maxvalue that cannot be.
  static SemLock attach(std::string_view name, SemKind kind, std::int64_t maxvalue);

  SemLock(SemLock&&) noexcept;
  SemLock& operator=(SemLock&&) noexcept;
  SemLock(const SemLock&) = delete;
  SemLock& operator=(const SemLock&) = delete;
  ~SemLock();

  /// Takes the semaphore (for an RLock held by this thread: one more level). Returns false if
  /// `blocking` is false and it is taken (the timeout is then ignored, as CPython's), or if
  /// `timeout` passed first. The deadline is CLOCK_REALTIME (sem_timedwait's), computed once, so
  /// retries after EINTR keep it; a clock step moves it, as in CPython. Throws
  /// shm::InvalidArgument (Errc::invalid_argument) for a NaN timeout.
  bool acquire(bool blocking = true, Timeout timeout = std::nullopt);
  /// Gives it back. Throws shm::InvalidArgument (Errc::invalid_value) if the value is already at
  /// maxvalue (a semaphore), UsageError (Errc::not_owner) for an RLock this thread does not hold.
  void release();
  /// The semaphore's value now (sem_getvalue, never negative).
  [[nodiscard]] int get_value() const;
  /// get_value() == 0.
  [[nodiscard]] bool is_zero() const;
  /// How many times this thread holds it (RLock) or this object took it and did not release it
  /// (others; negative after releases of what another object or process took): CPython's
  /// SemLock._count().
  [[nodiscard]] int count() const noexcept;
  /// Whether this thread holds it (CPython's SemLock._is_mine()).
  [[nodiscard]] bool is_mine() const noexcept;

  /// The name with its leading slash, as CPython's SemLock.name: "/mp-XXXXXXXX".
  [[nodiscard]] const std::string& name() const noexcept;
  [[nodiscard]] SemKind kind() const noexcept;
  [[nodiscard]] std::int64_t maxvalue() const noexcept;
  /// Whether this object made the semaphore (and so unlinks its name when destroyed).
  [[nodiscard]] bool owns_name() const noexcept;
  /// The address of this process's mapping of the semaphore: CPython's SemLock.handle (the
  /// sem_t*), which pickles carry and unpickling ignores.
  [[nodiscard]] std::uintptr_t handle() const noexcept;

  /// Removes the name now (sem_unlink) and withdraws this object's tracker registration; the
  /// semaphore stays usable by everyone who opened it, and the destructor no longer unlinks.
  /// Throws shm::OsError (Errc::not_found if the name is gone already).
  void unlink();

  struct State;  // private

 private:
  explicit SemLock(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// multiprocessing.Lock: a semaphore of value 1 and maximum 1.
class Lock {
 public:
  /// A new one (see the header comment).
  static Lock create(const SyncOptions& options = {});
  /// Takes the Lock whose SemLock is called `name` (`lock._semlock.name` in Python).
  static Lock attach(std::string_view name);
  /// Takes the Lock a pickle of a multiprocessing.synchronize.Lock names (spawn's pickle, any
  /// protocol 2 – 5, or pickle()). Throws PickleError (Errc::bad_pickle) for anything else.
  static Lock from_pickle(std::span<const std::byte> bytes);
  static Lock from_pickle(std::string_view bytes);

  /// SemLock::acquire: whether it was taken.
  bool acquire(bool blocking = true, Timeout timeout = std::nullopt) {
    return lock_.acquire(blocking, timeout);
  }
  /// SemLock::release.
  void release() { lock_.release(); }
  /// The bytes of pickle.dumps(lock) as spawn writes them, in `protocol` (2 – 5): what
  /// pickle.loads turns into a multiprocessing.synchronize.Lock in any CPython 3.8+.
  [[nodiscard]] std::string pickle(int protocol = kSyncPickleProtocol) const;
  /// The SemLock underneath.
  [[nodiscard]] SemLock& semlock() noexcept { return lock_; }
  [[nodiscard]] const SemLock& semlock() const noexcept { return lock_; }

 private:
  explicit Lock(SemLock lock) : lock_(std::move(lock)) {}
  SemLock lock_;
};

/// multiprocessing.RLock: recursive, released only by the thread that holds it.
class RLock {
 public:
  /// A new one (see the header comment).
  static RLock create(const SyncOptions& options = {});
  /// The one whose SemLock is called `name` (see the header comment).
  static RLock attach(std::string_view name);
  /// The one a pickle of this class names, from its bytes (see the header comment).
  static RLock from_pickle(std::span<const std::byte> bytes);
  static RLock from_pickle(std::string_view bytes);

  /// SemLock::acquire: whether it was taken.
  bool acquire(bool blocking = true, Timeout timeout = std::nullopt) {
    return lock_.acquire(blocking, timeout);
  }
  /// SemLock::release.
  void release() { lock_.release(); }
  /// What spawn's pickler writes for this object, in `protocol` (2 – 5).
  [[nodiscard]] std::string pickle(int protocol = kSyncPickleProtocol) const;
  /// The SemLock underneath.
  [[nodiscard]] SemLock& semlock() noexcept { return lock_; }
  [[nodiscard]] const SemLock& semlock() const noexcept { return lock_; }

 private:
  explicit RLock(SemLock lock) : lock_(std::move(lock)) {}
  SemLock lock_;
};

/// multiprocessing.Semaphore(value): maximum kSemValueMax.
class Semaphore {
 public:
  /// A new one (see the header comment).
  static Semaphore create(std::int64_t value = 1, const SyncOptions& options = {});
  /// The one whose SemLock is called `name` (see the header comment).
  static Semaphore attach(std::string_view name);
  /// The one a pickle of this class names, from its bytes (see the header comment).
  static Semaphore from_pickle(std::span<const std::byte> bytes);
  static Semaphore from_pickle(std::string_view bytes);

  /// SemLock::acquire: whether it was taken.
  bool acquire(bool blocking = true, Timeout timeout = std::nullopt) {
    return sem_.acquire(blocking, timeout);
  }
  /// SemLock::release.
  void release() { sem_.release(); }
  /// SemLock::get_value.
  [[nodiscard]] int get_value() const { return sem_.get_value(); }
  /// What spawn's pickler writes for this object, in `protocol` (2 – 5).
  [[nodiscard]] std::string pickle(int protocol = kSyncPickleProtocol) const;
  /// The SemLock underneath.
  [[nodiscard]] SemLock& semlock() noexcept { return sem_; }
  [[nodiscard]] const SemLock& semlock() const noexcept { return sem_; }

 private:
  friend class BoundedSemaphore;
  friend class Condition;
  friend class Event;
  explicit Semaphore(SemLock sem) : sem_(std::move(sem)) {}
  SemLock sem_;
};

/// multiprocessing.BoundedSemaphore(value): maximum `value`; release() past it throws.
class BoundedSemaphore {
 public:
  /// A new one (see the header comment).
  static BoundedSemaphore create(std::int64_t value = 1, const SyncOptions& options = {});
  /// A BoundedSemaphore's maximum is not stored in the semaphore: give the one it was made with.
  static BoundedSemaphore attach(std::string_view name, std::int64_t maxvalue);
  /// The one a pickle of this class names, from its bytes (see the header comment).
  static BoundedSemaphore from_pickle(std::span<const std::byte> bytes);
  static BoundedSemaphore from_pickle(std::string_view bytes);

  /// SemLock::acquire: whether it was taken.
  bool acquire(bool blocking = true, Timeout timeout = std::nullopt) {
    return sem_.acquire(blocking, timeout);
  }
  /// SemLock::release.
  void release() { sem_.release(); }
  /// SemLock::get_value.
  [[nodiscard]] int get_value() const { return sem_.get_value(); }
  /// What spawn's pickler writes for this object, in `protocol` (2 – 5).
  [[nodiscard]] std::string pickle(int protocol = kSyncPickleProtocol) const;
  /// The SemLock underneath.
  [[nodiscard]] SemLock& semlock() noexcept { return sem_; }
  [[nodiscard]] const SemLock& semlock() const noexcept { return sem_; }

 private:
  explicit BoundedSemaphore(SemLock sem) : sem_(std::move(sem)) {}
  SemLock sem_;
};

/// multiprocessing.Condition(lock): a Lock or RLock (an RLock by default) and three semaphores
/// (sleeping, woken, wait), used exactly as synchronize.py uses them.
class Condition {
 public:
  /// A Condition with a new RLock (CPython's default) or, with `plain_lock`, a new Lock.
  static Condition create(bool plain_lock = false, const SyncOptions& options = {});
  /// Takes the Condition a pickle of a multiprocessing.synchronize.Condition describes.
  static Condition from_pickle(std::span<const std::byte> bytes);
  static Condition from_pickle(std::string_view bytes);

  /// SemLock::acquire: whether it was taken.
  bool acquire(bool blocking = true, Timeout timeout = std::nullopt) {
    return lock_.acquire(blocking, timeout);
  }
  /// SemLock::release.
  void release() { lock_.release(); }
  /// Releases the lock (every level of an RLock), waits for a notify or the timeout, takes the
  /// lock back. Returns false on timeout. Throws UsageError (Errc::not_owner) if this thread
  /// does not hold the lock.
  bool wait(Timeout timeout = std::nullopt);
  /// Wakes up to `n` waiters (of any process) and waits until they have woken. Throws
  /// UsageError (Errc::not_owner) if this thread does not hold the lock.
  void notify(std::int64_t n = 1);
  /// notify(n) for every waiter (CPython's sys.maxsize).
  void notify_all();
  /// What spawn's pickler writes for this object, in `protocol` (2 – 5).
  [[nodiscard]] std::string pickle(int protocol = kSyncPickleProtocol) const;
  /// The Condition's lock (a Lock or an RLock).
  [[nodiscard]] SemLock& lock() noexcept { return lock_; }
  /// How many waiters (of any process) sleep on it and have not been woken or timed out yet:
  /// sleeping_count - woken_count, the accounting synchronize.py keeps in two semaphores. A
  /// notifier that must reach a waiter can wait for this to become nonzero first.
  [[nodiscard]] int sleepers() const;
  /// The names of its four semaphores, in its pickle's order: lock, sleeping_count,
  /// woken_count, wait_semaphore.
  [[nodiscard]] std::vector<std::string> names() const;

 private:
  friend class Event;
  static Condition from_state(const detail::sync_pickle::ConditionState& state);
  Condition(SemLock lock, Semaphore sleeping, Semaphore woken, Semaphore wait)
      : lock_(std::move(lock)),
        sleeping_(std::move(sleeping)),
        woken_(std::move(woken)),
        wait_(std::move(wait)) {}
  SemLock lock_;
  Semaphore sleeping_;
  Semaphore woken_;
  Semaphore wait_;
};

/// multiprocessing.Event: a Condition over a Lock and a flag semaphore.
class Event {
 public:
  /// A new one (see the header comment).
  static Event create(const SyncOptions& options = {});
  /// The one a pickle of this class names, from its bytes (see the header comment).
  static Event from_pickle(std::span<const std::byte> bytes);
  static Event from_pickle(std::string_view bytes);

  [[nodiscard]] bool is_set();
  void set();
  void clear();
  /// Waits until the flag is set or the timeout passes; returns the flag.
  bool wait(Timeout timeout = std::nullopt);
  /// The names of its five semaphores, in its pickle's order: the Condition's four
  /// (Condition::names), then the flag.
  [[nodiscard]] std::vector<std::string> names() const;
  /// What spawn's pickler writes for this object, in `protocol` (2 – 5).
  [[nodiscard]] std::string pickle(int protocol = kSyncPickleProtocol) const;

 private:
  Event(Condition cond, Semaphore flag) : cond_(std::move(cond)), flag_(std::move(flag)) {}
  Condition cond_;
  Semaphore flag_;
};

}  // namespace shm
