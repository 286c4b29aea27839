// The pickles of Lock, RLock, Semaphore, BoundedSemaphore, Condition and Event: each object's
// state as spawn's ForkingPickler writes it, handed to detail::sync_pickle (dumps, loads), and
// the objects a pickle names, opened by their names once the pickle is one CPython writes for
// the class asked for.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "libshm/pickle.hpp"
#include "libshm/sync.hpp"
#include "sync_pickle.hpp"

namespace shm {

namespace {

namespace sp = detail::sync_pickle;

// What spawn's pickler writes for `lock` as an object of class `cls`.
sp::SemLockState state_of(const SemLock& lock, sp::Class cls) {
  return {cls, static_cast<std::int64_t>(lock.handle()), static_cast<int>(lock.kind()),
          lock.maxvalue(), lock.name()};
}

sp::Class class_of(const sp::State& state) {
  if (const auto* s = std::get_if<sp::SemLockState>(&state)) return s->cls;
  return std::holds_alternative<sp::ConditionState>(state) ? sp::Class::condition
                                                           : sp::Class::event;
}

[[noreturn]] void wrong_class(sp::Class found, sp::Class wanted) {
  throw pickle::PickleError(
      0, "a pickle of multiprocessing.synchronize." + std::string(sp::class_name(found)) +
             ", not multiprocessing.synchronize." + std::string(sp::class_name(wanted)));
}

// The kind and maximum value a class's SemLock has (a BoundedSemaphore's maximum is its own).
struct Shape {
  SemKind kind;
  std::int64_t maxvalue;  // -1: any in 0 .. kSemValueMax
};

Shape shape_of(sp::Class cls) {
  switch (cls) {
    case sp::Class::rlock:
      return {SemKind::recursive_mutex, 1};
    case sp::Class::semaphore:
      return {SemKind::semaphore, kSemValueMax};
    case sp::Class::bounded_semaphore:
      return {SemKind::semaphore, -1};
    default:
      return {SemKind::semaphore, 1};
  }
}

// Opens the SemLock a pickle's state names, once it is one of class `wanted` (or `also`) with
// that class's kind and maximum: CPython's pickler writes nothing else.
SemLock open_state(const sp::SemLockState& state, sp::Class wanted,
                   std::optional<sp::Class> also = std::nullopt) {
  if (state.cls != wanted && state.cls != also) wrong_class(state.cls, wanted);
  const Shape shape = shape_of(state.cls);
  if (state.kind != static_cast<int>(shape.kind) ||
      (shape.maxvalue >= 0 ? state.maxvalue != shape.maxvalue
                           : state.maxvalue < 0 || state.maxvalue > kSemValueMax)) {
    throw pickle::PickleError(
        0, "a pickle of multiprocessing.synchronize." + std::string(sp::class_name(state.cls)) +
               " with kind " + std::to_string(state.kind) + " and maxvalue " +
               std::to_string(state.maxvalue) + ", which CPython never writes");
  }
  return SemLock::attach(state.name, shape.kind, state.maxvalue);
}

template <class Span>
sp::State load(Span bytes) {
  if constexpr (std::is_same_v<Span, std::string_view>) {
    return sp::loads(std::as_bytes(std::span(bytes.data(), bytes.size())));
  } else {
    return sp::loads(bytes);
  }
}

// The SemLock state of a pickle that must be of class `wanted`.
template <class Span>
sp::SemLockState semlock_state(Span bytes, sp::Class wanted) {
  const sp::State state = load(bytes);
  const auto* s = std::get_if<sp::SemLockState>(&state);
  if (s == nullptr) wrong_class(class_of(state), wanted);
  return *s;
}

}  // namespace

Lock Lock::from_pickle(std::span<const std::byte> bytes) {
  return Lock(open_state(semlock_state(bytes, sp::Class::lock), sp::Class::lock));
}
Lock Lock::from_pickle(std::string_view bytes) {
  return Lock(open_state(semlock_state(bytes, sp::Class::lock), sp::Class::lock));
}
std::string Lock::pickle(int protocol) const {
  return sp::dumps(state_of(lock_, sp::Class::lock), protocol);
}

RLock RLock::from_pickle(std::span<const std::byte> bytes) {
  return RLock(open_state(semlock_state(bytes, sp::Class::rlock), sp::Class::rlock));
}
RLock RLock::from_pickle(std::string_view bytes) {
  return RLock(open_state(semlock_state(bytes, sp::Class::rlock), sp::Class::rlock));
}
std::string RLock::pickle(int protocol) const {
  return sp::dumps(state_of(lock_, sp::Class::rlock), protocol);
}

Semaphore Semaphore::from_pickle(std::span<const std::byte> bytes) {
  return Semaphore(open_state(semlock_state(bytes, sp::Class::semaphore), sp::Class::semaphore));
}
Semaphore Semaphore::from_pickle(std::string_view bytes) {
  return Semaphore(open_state(semlock_state(bytes, sp::Class::semaphore), sp::Class::semaphore));
}
std::string Semaphore::pickle(int protocol) const {
  return sp::dumps(state_of(sem_, sp::Class::semaphore), protocol);
}

BoundedSemaphore BoundedSemaphore::from_pickle(std::span<const std::byte> bytes) {
  return BoundedSemaphore(
      open_state(semlock_state(bytes, sp::Class::bounded_semaphore), sp::Class::bounded_semaphore));
}
BoundedSemaphore BoundedSemaphore::from_pickle(std::string_view bytes) {
  return BoundedSemaphore(
      open_state(semlock_state(bytes, sp::Class::bounded_semaphore), sp::Class::bounded_semaphore));
}
std::string BoundedSemaphore::pickle(int protocol) const {
  return sp::dumps(state_of(sem_, sp::Class::bounded_semaphore), protocol);
}

// ---------------------------------------------------------------------------------------------
// Condition, Event

namespace {

sp::ConditionState condition_state(const SemLock& lock, const Semaphore& sleeping,
                                   const Semaphore& woken, const Semaphore& wait) {
  const sp::Class lock_class =
      lock.kind() == SemKind::recursive_mutex ? sp::Class::rlock : sp::Class::lock;
  return {state_of(lock, lock_class), state_of(sleeping.semlock(), sp::Class::semaphore),
          state_of(woken.semlock(), sp::Class::semaphore),
          state_of(wait.semlock(), sp::Class::semaphore)};
}

}  // namespace

Condition Condition::from_state(const detail::sync_pickle::ConditionState& state) {
  SemLock lock = open_state(state.lock, sp::Class::rlock, sp::Class::lock);
  Semaphore sleeping(open_state(state.sleeping_count, sp::Class::semaphore));
  Semaphore woken(open_state(state.woken_count, sp::Class::semaphore));
  Semaphore wait(open_state(state.wait_semaphore, sp::Class::semaphore));
  return Condition(std::move(lock), std::move(sleeping), std::move(woken), std::move(wait));
}

Condition Condition::from_pickle(std::span<const std::byte> bytes) {
  const sp::State state = load(bytes);
  const auto* s = std::get_if<sp::ConditionState>(&state);
  if (s == nullptr) wrong_class(class_of(state), sp::Class::condition);
  return from_state(*s);
}

Condition Condition::from_pickle(std::string_view bytes) {
  return from_pickle(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

std::string Condition::pickle(int protocol) const {
  return sp::dumps(condition_state(lock_, sleeping_, woken_, wait_), protocol);
}

Event Event::from_pickle(std::span<const std::byte> bytes) {
  const sp::State state = load(bytes);
  const auto* s = std::get_if<sp::EventState>(&state);
  if (s == nullptr) wrong_class(class_of(state), sp::Class::event);
  if (s->cond.lock.cls != sp::Class::lock) {
    throw pickle::PickleError(0, "a pickle of an Event whose Condition's lock is a " +
                                     std::string(sp::class_name(s->cond.lock.cls)) +
                                     ", which CPython never writes");
  }
  Condition cond = Condition::from_state(s->cond);
  Semaphore flag(open_state(s->flag, sp::Class::semaphore));
  return Event(std::move(cond), std::move(flag));
}

Event Event::from_pickle(std::string_view bytes) {
  return from_pickle(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

std::string Event::pickle(int protocol) const {
  return sp::dumps(
      sp::EventState{condition_state(cond_.lock_, cond_.sleeping_, cond_.woken_, cond_.wait_),
                     state_of(flag_.semlock(), sp::Class::semaphore)},
      protocol);
}

}  // namespace shm
