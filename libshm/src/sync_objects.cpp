// Lock, RLock, Semaphore, BoundedSemaphore, Condition and Event: multiprocessing.synchronize's
// classes over shm::SemLock, their protocols line for line as synchronize.py (3.8 – 3.13 agree
// on them), so that C++ and Python processes can share one object. Their pickles are in
// sync_pickling.cpp.
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "libshm/error.hpp"
#include "libshm/sync.hpp"

namespace shm {

namespace {

// Holds a Condition's lock for a scope (synchronize.py's `with self._cond:`).
class Holding {
 public:
  explicit Holding(Condition& cond) : cond_(cond) { cond_.acquire(); }
  Holding(const Holding&) = delete;
  Holding& operator=(const Holding&) = delete;
  ~Holding() {
    try {
      cond_.release();
    } catch (const std::exception&) {
      // Only an OS failure of sem_post can get here; there is nothing better to do with it.
    }
  }

 private:
  Condition& cond_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Lock, RLock, Semaphore, BoundedSemaphore

Lock Lock::create(const SyncOptions& options) {
  return Lock(SemLock::create(SemKind::semaphore, 1, 1, options));
}
Lock Lock::attach(std::string_view name) {
  return Lock(SemLock::attach(name, SemKind::semaphore, 1));
}

RLock RLock::create(const SyncOptions& options) {
  return RLock(SemLock::create(SemKind::recursive_mutex, 1, 1, options));
}
RLock RLock::attach(std::string_view name) {
  return RLock(SemLock::attach(name, SemKind::recursive_mutex, 1));
}

Semaphore Semaphore::create(std::int64_t value, const SyncOptions& options) {
  return Semaphore(SemLock::create(SemKind::semaphore, value, kSemValueMax, options));
}
Semaphore Semaphore::attach(std::string_view name) {
  return Semaphore(SemLock::attach(name, SemKind::semaphore, kSemValueMax));
}

BoundedSemaphore BoundedSemaphore::create(std::int64_t value, const SyncOptions& options) {
  return BoundedSemaphore(SemLock::create(SemKind::semaphore, value, value, options));
}
BoundedSemaphore BoundedSemaphore::attach(std::string_view name, std::int64_t maxvalue) {
  return BoundedSemaphore(SemLock::attach(name, SemKind::semaphore, maxvalue));
}

// ---------------------------------------------------------------------------------------------
// Condition

Condition Condition::create(bool plain_lock, const SyncOptions& options) {
  SemLock lock = plain_lock ? SemLock::create(SemKind::semaphore, 1, 1, options)
                            : SemLock::create(SemKind::recursive_mutex, 1, 1, options);
  Semaphore sleeping = Semaphore::create(0, options);
  Semaphore woken = Semaphore::create(0, options);
  Semaphore wait = Semaphore::create(0, options);
  return Condition(std::move(lock), std::move(sleeping), std::move(woken), std::move(wait));
}

bool Condition::wait(Timeout timeout) {
  if (!lock_.is_mine()) {
    throw UsageError(Errc::not_owner, "must acquire() condition before using wait()");
  }
  // Indicate that this thread is going to sleep, and release the lock (every level of an RLock).
  sleeping_.release();
  const int count = lock_.count();
  for (int i = 0; i < count; ++i) lock_.release();
  // Whatever the wait does, it ends as synchronize.py's `finally:` ends it: woken, relocked.
  auto woke = [&] {
    woken_.release();
    for (int i = 0; i < count; ++i) lock_.acquire();
  };
  bool notified = false;
  try {
    notified = wait_.acquire(true, timeout);
  } catch (...) {
    woke();
    throw;
  }
  woke();
  return notified;
}

void Condition::notify(std::int64_t n) {
  if (!lock_.is_mine()) throw UsageError(Errc::not_owner, "lock is not owned");
  // synchronize.py asserts that this fails; a token left over (which only a bug can leave) is
  // dropped here, as the rezeroing below drops those of timed-out waiters.
  wait_.acquire(false);

  // To take account of timeouts since the last notify, subtract woken from sleeping and rezero
  // woken.
  while (woken_.acquire(false)) sleeping_.acquire(false);

  std::int64_t sleepers = 0;
  while (sleepers < n && sleeping_.acquire(false)) {
    wait_.release();  // wake up one sleeper
    ++sleepers;
  }
  if (sleepers > 0) {
    for (std::int64_t i = 0; i < sleepers; ++i) woken_.acquire();  // wait for it to wake
    // Rezero wait in case some timeouts just happened.
    while (wait_.acquire(false)) {
    }
  }
}

int Condition::sleepers() const {
  return sleeping_.get_value() - woken_.get_value();
}

std::vector<std::string> Condition::names() const {
  return {lock_.name(), sleeping_.semlock().name(), woken_.semlock().name(),
          wait_.semlock().name()};
}

std::vector<std::string> Event::names() const {
  auto all = cond_.names();
  all.push_back(flag_.semlock().name());
  return all;
}

void Condition::notify_all() {
  notify(std::numeric_limits<std::int64_t>::max());  // sys.maxsize
}

// ---------------------------------------------------------------------------------------------
// Event

Event Event::create(const SyncOptions& options) {
  Condition cond = Condition::create(true, options);
  Semaphore flag = Semaphore::create(0, options);
  return Event(std::move(cond), std::move(flag));
}

bool Event::is_set() {
  Holding held(cond_);
  if (flag_.acquire(false)) {
    flag_.release();
    return true;
  }
  return false;
}

void Event::set() {
  Holding held(cond_);
  flag_.acquire(false);
  flag_.release();
  cond_.notify_all();
}

void Event::clear() {
  Holding held(cond_);
  flag_.acquire(false);
}

bool Event::wait(Timeout timeout) {
  Holding held(cond_);
  if (flag_.acquire(false)) {
    flag_.release();
  } else {
    cond_.wait(timeout);
  }
  if (flag_.acquire(false)) {
    flag_.release();
    return true;
  }
  return false;
}

}  // namespace shm
