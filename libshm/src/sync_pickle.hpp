// The pickles of multiprocessing.synchronize objects, written and read (private to libshm;
// docs/format.md, "Synchronisation objects", shows their bytes).
//
// spawn's ForkingPickler pickles a Lock, RLock, Semaphore or BoundedSemaphore through
// SemLock.__getstate__: copyreg.__newobj__ of the class with the state tuple
// (handle, kind, maxvalue, name); a Condition through Condition.__getstate__:
// (lock, sleeping_count, woken_count, wait_semaphore); an Event through its __dict__:
// {'_cond': Condition, '_flag': Semaphore}. Unpickling calls SemLock._rebuild, which on POSIX
// ignores the handle and re-opens the semaphore by name.
//
// loads() is not an unpickler: it runs a bounded stack machine over the opcodes CPython's
// picklers use for these objects (protocols 2 – 5, memoized, framed, optimized or not), accepts
// only the globals multiprocessing.synchronize.{Lock, RLock, Semaphore, BoundedSemaphore,
// Condition, Event} and the structure above, never calls anything, and throws
// shm::pickle::PickleError (Errc::bad_pickle) with the offset for anything else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>

namespace shm::detail::sync_pickle {

/// The multiprocessing.synchronize class a pickle names.
enum class Class { lock, rlock, semaphore, bounded_semaphore, condition, event };

/// "Lock", "RLock", ... (the class's name in multiprocessing.synchronize).
std::string_view class_name(Class cls) noexcept;

/// A SemLock subclass: its class and its __getstate__ tuple.
struct SemLockState {
  Class cls = Class::lock;       ///< lock, rlock, semaphore or bounded_semaphore
  std::int64_t handle = 0;       ///< the creator's sem_t address (ignored when unpickled)
  int kind = 1;                  ///< 0 recursive mutex, 1 semaphore
  std::int64_t maxvalue = 1;     ///< 1, SEM_VALUE_MAX, or a BoundedSemaphore's value
  std::string name;              ///< "/mp-XXXXXXXX"
  friend bool operator==(const SemLockState&, const SemLockState&) = default;
};

/// A Condition: its lock (Lock or RLock) and three Semaphores.
struct ConditionState {
  SemLockState lock;
  SemLockState sleeping_count;
  SemLockState woken_count;
  SemLockState wait_semaphore;
  friend bool operator==(const ConditionState&, const ConditionState&) = default;
};

/// An Event: its Condition (over a Lock) and its flag Semaphore.
struct EventState {
  ConditionState cond;
  SemLockState flag;
  friend bool operator==(const EventState&, const EventState&) = default;
};

using State = std::variant<SemLockState, ConditionState, EventState>;

/// The bytes CPython's ForkingPickler.dumps(obj, protocol) writes for the object `state`
/// describes (protocol 2 – 5). Throws shm::InvalidArgument for another protocol.
std::string dumps(const State& state, int protocol);

/// What a pickle of such an object says. Throws shm::pickle::PickleError (Errc::bad_pickle).
/// Bounded: input of at most 64 KiB, linear time, no recursion.
State loads(std::span<const std::byte> bytes);

}  // namespace shm::detail::sync_pickle
