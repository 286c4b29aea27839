// The sync objects' pickles with every CPython found, and issue 24's acceptance probe. These
// tests need detail::sync_pickle (src/sync_pickle.cpp): libshm/tests/CMakeLists.txt builds them
// once that file is in the tree.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <libshm/sync.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "libshm/error.hpp"
#include "libshm/hex.hpp"
#include "libshm/shared_memory.hpp"
#include "test_support.hpp"

namespace shm {
namespace {

using namespace std::chrono_literals;

bool semaphore_exists(const std::string& name) {
  struct stat st {};
  return ::lstat(("/dev/shm/sem." + name.substr(1)).c_str(), &st) == 0;
}

std::string hex_of(const std::string& bytes) {
  return to_hex(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

using test::raise_flag;
using test::wait_for_flag;

// Raises a flag when the scope ends however it ends, so that a Python side waiting for it
// finishes even when an assertion cut the C++ side short.
class RaiseAtExit {
 public:
  RaiseAtExit(SharedMemory& block, std::size_t at) : block_(block), at_(at) {}
  RaiseAtExit(const RaiseAtExit&) = delete;
  RaiseAtExit& operator=(const RaiseAtExit&) = delete;
  ~RaiseAtExit() { raise_flag(block_, at_); }

 private:
  SharedMemory& block_;
  std::size_t at_;
};

// Waits for byte `at` to be raised by the C++ side; the Python half of wait_for_flag.
constexpr const char* kPythonPrelude = R"(
import mmap, os, pickle, sys, time
import multiprocessing as mp
import multiprocessing.synchronize as synchronize
fd = os.open('/dev/shm/' + sys.argv[1], os.O_RDWR)
buf = mmap.mmap(fd, 65536)
os.close(fd)
def wait_for_flag(at):
    deadline = time.monotonic() + 60
    while buf[at] != 1:
        if time.monotonic() > deadline:
            sys.exit(3)
        time.sleep(0.001)
)";

// ---------------------------------------------------------------------------------------------
// Issue 24's acceptance probe

// The Python side: a spawn-context Lock whose name it writes at 16 (and raises byte 8), 20,000
// increments of the int64 at 0 under it once the C++ side attached (byte 9), then the Event
// from the pickle in argv[2]: is it set, raise byte 10, wait for it. Prints the lock's name, the
// flag before the wait, the wait's result, and the names of the Event's five semaphores.
constexpr const char* kAcceptancePython = R"(
lock = mp.get_context('spawn').Lock()
name = lock._semlock.name.encode()
buf[16:16 + len(name)] = name
buf[8] = 1
wait_for_flag(9)
for _ in range(20000):
    lock.acquire()
    buf[0:8] = (int.from_bytes(buf[0:8], 'little') + 1).to_bytes(8, 'little')
    lock.release()
event = pickle.loads(bytes.fromhex(sys.argv[2]))
before = event.is_set()
buf[10] = 1
woke = event.wait(60)
c = event._cond
print(name.decode(), before, woke, type(event) is synchronize.Event,
      c._lock._semlock.name, c._sleeping_count._semlock.name, c._woken_count._semlock.name,
      c._wait_semaphore._semlock.name, event._flag._semlock.name)
)";

TEST(SyncAcceptance, LockByNameAndEventByPickleWithEveryCPython) {
  const auto pythons = test::cpythons();
  if (pythons.empty()) GTEST_SKIP() << "no CPython found";
  for (const auto& python : pythons) {
    SCOPED_TRACE(python.version);
    test::BlockCleanup cleanup;
    SharedMemory block = SharedMemory::create(65536, cleanup.fresh(), {.track = false});
    std::vector<std::string> event_names;
    std::string lock_name;
    {
      shm::Event event = shm::Event::create();
      const std::string pickled = event.pickle();
      auto child = std::async(std::launch::async, [&] {
        return test::run_child(
            {python.executable, "-c", std::string(kPythonPrelude) + kAcceptancePython, block.name(),
             hex_of(pickled)},
            120s);
      });
      ASSERT_TRUE(wait_for_flag(block, 8));
      // However this side ends, the Python side is let go: attached (9), event set (10 is its).
      std::optional<RaiseAtExit> attached(std::in_place, block, 9);
      lock_name = reinterpret_cast<const char*>(block.buf().data() + 16);
      shm::Lock lock = shm::Lock::attach(lock_name);
      attached.reset();
      std::atomic_ref<std::int64_t> counter(*reinterpret_cast<std::int64_t*>(block.buf().data()));
      for (int i = 0; i < 20000; ++i) {
        ASSERT_TRUE(lock.acquire());
        counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        lock.release();
      }
      ASSERT_TRUE(wait_for_flag(block, 10));
      event.set();
      const test::ChildResult r = child.get();
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.err, "");
      EXPECT_EQ(counter.load(), 40000);
      const auto out = words(r.out);
      ASSERT_EQ(out.size(), 9U) << r.out;
      EXPECT_EQ(out[0], lock_name);
      EXPECT_EQ(out[1], "False") << "the event was set before the Python side waited";
      EXPECT_EQ(out[2], "True") << "the Python waiter did not wake";
      EXPECT_EQ(out[3], "True") << "not a multiprocessing.synchronize.Event";
      event_names.assign(out.begin() + 4, out.end());
      for (const auto& n : event_names) EXPECT_TRUE(semaphore_exists(n)) << n;
    }
    EXPECT_FALSE(semaphore_exists(lock_name)) << lock_name << " left in /dev/shm";
    for (const auto& n : event_names) EXPECT_FALSE(semaphore_exists(n)) << n << " left";
    block.unlink();
  }
}

// ---------------------------------------------------------------------------------------------
// C++'s pickles, loaded by every CPython

// argv[2:]: hex pickles of a Lock, RLock, Semaphore(3), BoundedSemaphore(2), Condition (RLock),
// Condition (Lock), and an Event that is set. Checks each one's type and behaviour; leaves the
// Semaphore at 2 and the Event clear. Prints one True/False a check.
constexpr const char* kLoadEveryClass = R"(
s = synchronize
lock, rlock, sem, bsem, cond, pcond, event = [pickle.loads(bytes.fromhex(h)) for h in sys.argv[2:]]
out = []
out.append(type(lock) is s.Lock and lock.acquire(False) and not lock.acquire(False))
lock.release()
out.append(type(rlock) is s.RLock and rlock.acquire() and rlock.acquire() and rlock._semlock._count() == 2)
rlock.release(); rlock.release()
out.append(type(sem) is s.Semaphore and sem.get_value() == 3 and sem.acquire(timeout=5))
try:
    bsem.release()
    out.append(False)
except ValueError:
    out.append(type(bsem) is s.BoundedSemaphore and bsem._semlock.maxvalue == 2)
for c, lock_type in ((cond, s.RLock), (pcond, s.Lock)):
    c.acquire()
    out.append(type(c) is s.Condition and type(c._lock) is lock_type and c.wait(0.01) is False)
    c.notify_all()
    c.release()
out.append(type(event) is s.Event and event.is_set() and event.wait(0))
event.clear()
print(*out)
)";

TEST(SyncPickle, EveryClassLoadsInEveryCPython) {
  const auto pythons = test::cpythons();
  if (pythons.empty()) GTEST_SKIP() << "no CPython found";
  for (const auto& python : pythons) {
    for (int protocol = 2; protocol <= 5; ++protocol) {
      SCOPED_TRACE(python.version + " protocol " + std::to_string(protocol));
      test::BlockCleanup cleanup;
      SharedMemory block = SharedMemory::create(65536, cleanup.fresh(), {.track = false});
      Lock lock = Lock::create();
      RLock rlock = RLock::create();
      Semaphore sem = Semaphore::create(3);
      BoundedSemaphore bsem = BoundedSemaphore::create(2);
      Condition cond = Condition::create();
      Condition pcond = Condition::create(true);
      Event event = Event::create();
      event.set();
      const auto r =
          test::run_child({python.executable, "-c", std::string(kPythonPrelude) + kLoadEveryClass,
                           block.name(), hex_of(lock.pickle(protocol)),
                           hex_of(rlock.pickle(protocol)), hex_of(sem.pickle(protocol)),
                           hex_of(bsem.pickle(protocol)), hex_of(cond.pickle(protocol)),
                           hex_of(pcond.pickle(protocol)), hex_of(event.pickle(protocol))});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, "True True True True True True True\n") << r.err;
      EXPECT_EQ(sem.get_value(), 2) << "the Python side's acquire";
      EXPECT_FALSE(event.is_set()) << "the Python side's clear";
      EXPECT_TRUE(lock.acquire(false));
      lock.release();
      block.unlink();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// CPython's spawn pickles, taken by C++

// Makes a spawn-context Lock, RLock, Semaphore(3), BoundedSemaphore(2), Condition and a set
// Event, writes what spawn's ForkingPickler writes for each (protocol argv[2]) as hex at 16,
// raises byte 8, waits for byte 9, then prints the Semaphore's value and the Event's flag.
constexpr const char* kSpawnPickles = R"(
from multiprocessing import context, reduction
ctx = mp.get_context('spawn')
objs = [ctx.Lock(), ctx.RLock(), ctx.Semaphore(3), ctx.BoundedSemaphore(2), ctx.Condition(),
        ctx.Event()]
objs[5].set()
context.set_spawning_popen(object())  # what spawn's Popen does around its dump
try:
    data = [bytes(reduction.ForkingPickler.dumps(o, int(sys.argv[2]))) for o in objs]
finally:
    context.set_spawning_popen(None)
text = ' '.join(d.hex() for d in data).encode()
buf[16:16 + len(text)] = text
buf[8] = 1
wait_for_flag(9)
print(objs[2].get_value(), objs[5].is_set())
)";

TEST(SyncPickle, CPythonsSpawnPicklesAreTaken) {
  const auto pythons = test::cpythons();
  if (pythons.empty()) GTEST_SKIP() << "no CPython found";
  for (const auto& python : pythons) {
    for (int protocol = 2; protocol <= 5; ++protocol) {
      SCOPED_TRACE(python.version + " protocol " + std::to_string(protocol));
      test::BlockCleanup cleanup;
      SharedMemory block = SharedMemory::create(65536, cleanup.fresh(), {.track = false});
      auto child = std::async(std::launch::async, [&] {
        return test::run_child(
            {python.executable, "-c", std::string(kPythonPrelude) + kSpawnPickles, block.name(),
             std::to_string(protocol)},
            120s);
      });
      ASSERT_TRUE(wait_for_flag(block, 8));
      std::optional<RaiseAtExit> done(std::in_place, block, 9);
      const auto hexes = words(reinterpret_cast<const char*>(block.buf().data() + 16));
      ASSERT_EQ(hexes.size(), 6U);
      std::vector<std::string> pickles;
      for (const auto& h : hexes) {
        const auto bytes = from_hex(h);
        pickles.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      }
      {
        Lock lock = Lock::from_pickle(pickles[0]);
        EXPECT_TRUE(lock.acquire(false));
        lock.release();
        RLock rlock = RLock::from_pickle(pickles[1]);
        EXPECT_TRUE(rlock.acquire(false));
        rlock.release();
        Semaphore sem = Semaphore::from_pickle(pickles[2]);
        EXPECT_EQ(sem.get_value(), 3);
        EXPECT_TRUE(sem.acquire(false));
        BoundedSemaphore bsem = BoundedSemaphore::from_pickle(pickles[3]);
        EXPECT_EQ(bsem.semlock().maxvalue(), 2);
        try {
          bsem.release();
          ADD_FAILURE() << "released past the bound";
        } catch (const InvalidArgument& e) {
          EXPECT_EQ(e.code(), Errc::invalid_value);
        }
        Condition cond = Condition::from_pickle(pickles[4]);
        EXPECT_EQ(cond.lock().kind(), SemKind::recursive_mutex);
        ASSERT_TRUE(cond.acquire());
        EXPECT_FALSE(cond.wait(0.01s));
        cond.release();
        Event event = Event::from_pickle(pickles[5]);
        EXPECT_TRUE(event.is_set());
        event.clear();
        // Another class's pickle is refused, naming both.
        try {
          (void)Lock::from_pickle(pickles[5]);
          ADD_FAILURE() << "an Event's pickle taken as a Lock";
        } catch (const std::exception& e) {
          ASSERT_NE(error_of(e), nullptr);
          EXPECT_EQ(error_of(e)->code(), Errc::bad_pickle);
          EXPECT_NE(std::string(e.what()).find("a pickle of multiprocessing.synchronize.Event, "
                                               "not multiprocessing.synchronize.Lock"),
                    std::string::npos)
              << e.what();
        }
        EXPECT_FALSE(Semaphore::from_pickle(pickles[2]).semlock().owns_name());
      }
      done.reset();
      const test::ChildResult r = child.get();
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, "2 False\n") << r.err;
      block.unlink();
    }
  }
}

// What `f` threw: its code and message (a test failure if nothing or no shm::Error).
std::pair<Errc, std::string> thrown_by(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    if (error_of(e) == nullptr) ADD_FAILURE() << "not a shm::Error: " << e.what();
    return {error_of(e) != nullptr ? error_of(e)->code() : Errc{}, e.what()};
  }
  ADD_FAILURE() << "threw nothing";
  return {};
}

TEST(SyncPickle, RoundTripsInCppAndRefusesAnotherClass) {
  for (int protocol = 2; protocol <= 5; ++protocol) {
    SCOPED_TRACE(protocol);
    Event event = Event::create();
    Event::from_pickle(event.pickle(protocol)).set();
    EXPECT_TRUE(event.is_set());
    Condition cond = Condition::create();
    EXPECT_EQ(Condition::from_pickle(cond.pickle(protocol)).lock().name(), cond.lock().name());
    Condition plain = Condition::create(true);
    EXPECT_EQ(Condition::from_pickle(plain.pickle(protocol)).lock().kind(), SemKind::semaphore);
    Lock lock = Lock::create();
    EXPECT_EQ(Lock::from_pickle(lock.pickle(protocol)).semlock().name(), lock.semlock().name());
    RLock rlock = RLock::create();
    EXPECT_EQ(RLock::from_pickle(rlock.pickle(protocol)).semlock().kind(),
              SemKind::recursive_mutex);
    BoundedSemaphore bounded = BoundedSemaphore::create(5);
    EXPECT_EQ(BoundedSemaphore::from_pickle(bounded.pickle(protocol)).semlock().maxvalue(), 5);
    Semaphore sem = Semaphore::create(2);
    EXPECT_EQ(Semaphore::from_pickle(sem.pickle(protocol)).get_value(), 2);

    const auto [code, what] = thrown_by([&] { (void)Lock::from_pickle(rlock.pickle(protocol)); });
    EXPECT_EQ(code, Errc::bad_pickle);
    EXPECT_NE(what.find("a pickle of multiprocessing.synchronize.RLock, not "
                        "multiprocessing.synchronize.Lock"),
              std::string::npos)
        << what;
    EXPECT_EQ(thrown_by([&] { (void)Event::from_pickle(cond.pickle(protocol)); }).first,
              Errc::bad_pickle);
    EXPECT_EQ(thrown_by([&] { (void)Semaphore::from_pickle(bounded.pickle(protocol)); }).first,
              Errc::bad_pickle);
    EXPECT_EQ(thrown_by([&] { (void)Condition::from_pickle(lock.pickle(protocol)); }).first,
              Errc::bad_pickle);
  }
}

TEST(SyncPickle, APickleOfASemaphoreThatIsGoneIsNotFound) {
  std::string pickled;
  {
    Lock lock = Lock::create();
    pickled = lock.pickle();
  }
  EXPECT_EQ(thrown_by([&] { (void)Lock::from_pickle(pickled); }).first, Errc::not_found);
}

TEST(SyncPickle, BytesThatAreNoSuchPickleAreRefused) {
  for (const std::string& bad : {std::string(), std::string("\x80\x04."), std::string("junk")}) {
    try {
      (void)Event::from_pickle(bad);
      ADD_FAILURE() << "took " << bad;
    } catch (const std::exception& e) {
      ASSERT_NE(error_of(e), nullptr) << e.what();
      EXPECT_EQ(error_of(e)->code(), Errc::bad_pickle) << e.what();
    }
  }
}

}  // namespace
}  // namespace shm
