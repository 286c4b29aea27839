// The pickles of multiprocessing.synchronize objects, written and read (private to libshm;
// docs/format.md, "Pickles of synchronisation objects", shows their bytes).
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
//
// Protocols 0 and 1 are refused both ways: spawn never writes them (ForkingPickler uses
// pickle.DEFAULT_PROTOCOL, 4 in CPython 3.8 - 3.13 and 5 from 3.14), and their pickles of these
// objects are calls of copyreg._reconstructor (GLOBAL 'copy_reg _reconstructor' ... REDUCE), so
// reading them would put a call and a second global on the allow-list for nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace shm::detail::sync_pickle {

/// The multiprocessing.synchronize class a pickle names.
enum class Class { lock, rlock, semaphore, bounded_semaphore, condition, event };

/// "Lock", "RLock", ... (the class's name in multiprocessing.synchronize).
std::string_view class_name(Class cls) noexcept;

/// A SemLock subclass: its class and its __getstate__ tuple.
struct SemLockState {
  Class cls = Class::lock;    ///< lock, rlock, semaphore or bounded_semaphore
  std::int64_t handle = 0;    ///< the creator's sem_t address (ignored when unpickled)
  int kind = 1;               ///< 0 recursive mutex, 1 semaphore
  std::int64_t maxvalue = 1;  ///< 1, SEM_VALUE_MAX, or a BoundedSemaphore's value
  std::string name;           ///< "/mp-XXXXXXXX"
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

/// The lowest and highest protocol dumps() writes and loads() reads.
inline constexpr int kMinProtocol = 2;
inline constexpr int kMaxProtocol = 5;

/// The longest input loads() reads: far more than any of these pickles (an Event with five
/// names of the longest kind is under 2 KiB), little enough that nothing in it can cost much.
inline constexpr std::size_t kMaxPickleBytes = 64 * 1024;

/// What makes `name` one that no CPython SemLock can have, or nothing: a semaphore name is '/'
/// and 1 - 251 more bytes of ASCII without NUL or another '/' (glibc's sem_open makes the file
/// /dev/shm/sem.<name without '/'>, and a file name has at most 255 bytes).
std::optional<std::string> semaphore_name_problem(std::string_view name);

/// The bytes CPython's ForkingPickler.dumps(obj, protocol) writes for the object `state`
/// describes (protocol 2 – 5), the same in CPython 3.8 – 3.15. A SemLockState equal to one
/// written before in the same pickle is written as a memo fetch of it, as CPython writes the
/// same object met twice (loads() gives equal states for both). Throws shm::InvalidArgument:
/// Errc::invalid_argument for another protocol or a state loads() would refuse (a kind or
/// maxvalue that is not the class's, a negative handle, a Condition's lock that is not a Lock or
/// RLock, ...), Errc::invalid_name for a name semaphore_name_problem refuses.
std::string dumps(const State& state, int protocol);

/// What a pickle of such an object says. Throws shm::pickle::PickleError (Errc::bad_pickle).
/// Bounded: input of at most kMaxPickleBytes, linear time, no recursion.
State loads(std::span<const std::byte> bytes);

}  // namespace shm::detail::sync_pickle
