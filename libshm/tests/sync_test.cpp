// shm::sync: the semantics of CPython's multiprocessing locks, semaphores, conditions and
// events (synchronize.py, semaphore.c), their names, files and tracking, bad input, and a Lock
// shared by name with every CPython found. The pickles are in sync_pickle_interop_test.cpp.
#include "libshm/sync.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "libshm/error.hpp"
#include "libshm/names.hpp"
#include "libshm/shared_memory.hpp"
#include "libshm/tracker.hpp"
#include "test_support.hpp"

namespace shm {
namespace {

using namespace std::chrono_literals;

// The file glibc keeps semaphore `name` ("/mp-x") in.
std::string semaphore_file(const std::string& name) {
  return "/dev/shm/sem." + name.substr(1);
}

bool semaphore_exists(const std::string& name) {
  struct stat st {};
  return ::lstat(semaphore_file(name).c_str(), &st) == 0;
}

// The code of what `f` threw (a test failure if it threw nothing or no shm::Error).
Errc code_thrown_by(const std::function<void()>& f, std::string* what = nullptr) {
  try {
    f();
  } catch (const std::exception& e) {
    if (what != nullptr) *what = e.what();
    const Error* error = error_of(e);
    if (error == nullptr) {
      ADD_FAILURE() << "threw something that is not a shm::Error: " << e.what();
      return {};
    }
    return error->code();
  }
  ADD_FAILURE() << "threw nothing";
  return {};
}

// A fresh name for a semaphore file a test makes by hand, removed at scope exit.
class HandMadeSemaphore {
 public:
  HandMadeSemaphore() : name_("/mp-" + test::unique_name()) {}
  HandMadeSemaphore(const HandMadeSemaphore&) = delete;
  HandMadeSemaphore& operator=(const HandMadeSemaphore&) = delete;
  ~HandMadeSemaphore() {
    std::error_code ec;
    std::filesystem::remove_all(semaphore_file(name_), ec);
  }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] std::string file() const { return semaphore_file(name_); }

 private:
  std::string name_;  // "/mp-shmtest_..."
};

// ---------------------------------------------------------------------------------------------
// Lock, Semaphore, BoundedSemaphore

TEST(SyncLock, AcquireReleaseNonBlockingAndTimeout) {
  Lock lock = Lock::create();
  EXPECT_TRUE(lock.acquire());
  EXPECT_FALSE(lock.acquire(false));
  EXPECT_FALSE(lock.acquire(true, 0.02s));
  EXPECT_FALSE(lock.acquire(true, -1s)) << "a negative timeout is 0";
  EXPECT_FALSE(lock.acquire(false, 10s)) << "non-blocking ignores the timeout";
  lock.release();
  EXPECT_TRUE(lock.acquire(false));
  lock.release();
  EXPECT_TRUE(lock.acquire(true, std::chrono::duration<double>(INFINITY)));
  lock.release();
  EXPECT_EQ(lock.semlock().get_value(), 1);
}

TEST(SyncLock, ReleasingAnUnlockedLockIsAValueError) {
  Lock lock = Lock::create();
  std::string what;
  EXPECT_EQ(code_thrown_by([&] { lock.release(); }, &what), Errc::invalid_value);
  EXPECT_EQ(what, "semaphore or lock released too many times");
  EXPECT_EQ(python_exception(Errc::invalid_value), "ValueError");
  EXPECT_EQ(lock.semlock().get_value(), 1);
}

TEST(SyncLock, NaNTimeoutIsRefused) {
  Lock lock = Lock::create();
  ASSERT_TRUE(lock.acquire());
  EXPECT_EQ(code_thrown_by([&] { lock.acquire(true, std::chrono::duration<double>(NAN)); }),
            Errc::invalid_argument);
  lock.release();
}

TEST(SyncLock, AnotherObjectOrThreadMayRelease) {
  Lock lock = Lock::create();
  Lock same = Lock::attach(lock.semlock().name());
  EXPECT_FALSE(same.semlock().owns_name());
  ASSERT_TRUE(lock.acquire());
  EXPECT_FALSE(same.acquire(false));
  std::thread([&] { same.release(); }).join();
  EXPECT_TRUE(same.acquire(false));
  EXPECT_FALSE(lock.acquire(false));
  same.release();
}

TEST(SyncLock, NameAndFileAreCPythons) {
  std::string name;
  {
    Lock lock = Lock::create();
    name = lock.semlock().name();
    EXPECT_TRUE(std::regex_match(name, std::regex("/mp-[a-z0-9_]{8}"))) << name;
    EXPECT_EQ(lock.semlock().kind(), SemKind::semaphore);
    EXPECT_EQ(lock.semlock().maxvalue(), 1);
    EXPECT_TRUE(lock.semlock().owns_name());
    EXPECT_NE(lock.semlock().handle(), 0U);
    struct stat st {};
    ASSERT_EQ(::stat(semaphore_file(name).c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 32) << "glibc's sem_t";
    EXPECT_EQ(st.st_mode & 0777, 0600U);
    // Attach takes the name with or without its slash.
    EXPECT_EQ(Lock::attach(name.substr(1)).semlock().name(), name);
  }
  EXPECT_FALSE(semaphore_exists(name)) << "the creator's destructor unlinks the name";
}

TEST(SyncLock, UnlinkKeepsItUsable) {
  Lock lock = Lock::create();
  const std::string name = lock.semlock().name();
  Lock other = Lock::attach(name);
  lock.semlock().unlink();
  EXPECT_FALSE(semaphore_exists(name));
  EXPECT_FALSE(lock.semlock().owns_name());
  ASSERT_TRUE(lock.acquire());
  EXPECT_FALSE(other.acquire(false)) << "still one semaphore";
  lock.release();
  EXPECT_EQ(code_thrown_by([&] { lock.semlock().unlink(); }), Errc::not_found);
}

TEST(SyncLock, MovedFromIsClosed) {
  Lock lock = Lock::create();
  Lock moved = std::move(lock);
  EXPECT_EQ(code_thrown_by([&] { lock.acquire(); }),
            Errc::closed);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(moved.acquire(false));
  moved.release();
}

TEST(SyncSemaphore, CountsAndGetValue) {
  Semaphore sem = Semaphore::create(3);
  EXPECT_EQ(sem.get_value(), 3);
  EXPECT_EQ(sem.semlock().maxvalue(), kSemValueMax);
  EXPECT_TRUE(sem.acquire());
  EXPECT_EQ(sem.get_value(), 2);
  EXPECT_EQ(sem.semlock().count(), 1);
  for (int i = 0; i < 5; ++i) sem.release();
  EXPECT_EQ(sem.get_value(), 7);
  EXPECT_EQ(sem.semlock().count(), -4) << "semaphore.c's count goes below zero";
  Semaphore zero = Semaphore::create(0);
  EXPECT_FALSE(zero.acquire(false));
  EXPECT_TRUE(zero.semlock().is_zero());
}

TEST(SyncSemaphore, BoundedSemaphoreRefusesOverRelease) {
  BoundedSemaphore sem = BoundedSemaphore::create(2);
  EXPECT_EQ(sem.semlock().maxvalue(), 2);
  EXPECT_TRUE(sem.acquire());
  sem.release();
  EXPECT_EQ(code_thrown_by([&] { sem.release(); }), Errc::invalid_value);
  EXPECT_EQ(sem.get_value(), 2);
  BoundedSemaphore other = BoundedSemaphore::attach(sem.semlock().name(), 2);
  EXPECT_EQ(code_thrown_by([&] { other.release(); }), Errc::invalid_value);
}

TEST(SyncSemaphore, CreateRefusesImpossibleValues) {
  EXPECT_EQ(code_thrown_by([] { (void)Semaphore::create(-1); }), Errc::invalid_argument);
  EXPECT_EQ(code_thrown_by([] { (void)SemLock::create(SemKind::semaphore, 3, 2); }),
            Errc::invalid_argument);
  EXPECT_EQ(code_thrown_by([] { (void)BoundedSemaphore::create(kSemValueMax + 1); }),
            Errc::invalid_argument);
  EXPECT_EQ(code_thrown_by([] { (void)SemLock::create(static_cast<SemKind>(7), 1, 1); }),
            Errc::invalid_argument);
  EXPECT_EQ(Semaphore::create(kSemValueMax).get_value(), kSemValueMax);
}

// ---------------------------------------------------------------------------------------------
// RLock

TEST(SyncRLock, RecursionAndOwnership) {
  RLock lock = RLock::create();
  EXPECT_EQ(lock.semlock().kind(), SemKind::recursive_mutex);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(lock.acquire());
  EXPECT_EQ(lock.semlock().count(), 3);
  EXPECT_TRUE(lock.semlock().is_mine());
  EXPECT_EQ(lock.semlock().get_value(), 0);
  std::thread([&] {
    EXPECT_FALSE(lock.semlock().is_mine());
    EXPECT_FALSE(lock.acquire(false));
    std::string what;
    EXPECT_EQ(code_thrown_by([&] { lock.release(); }, &what), Errc::not_owner);
    EXPECT_EQ(what, "attempt to release recursive lock not owned by thread");
  }).join();
  for (int i = 0; i < 3; ++i) lock.release();
  EXPECT_EQ(lock.semlock().count(), 0);
  EXPECT_FALSE(lock.semlock().is_mine());
  EXPECT_EQ(lock.semlock().get_value(), 1);
  std::thread([&] {
    EXPECT_TRUE(lock.acquire(false));
    lock.release();
  }).join();
  EXPECT_EQ(code_thrown_by([&] { lock.release(); }), Errc::not_owner);
  EXPECT_EQ(python_exception(Errc::not_owner), "AssertionError");
}

TEST(SyncRLock, ThreadsTakeTurns) {
  RLock lock = RLock::create();
  std::int64_t counter = 0;  // guarded by the RLock alone
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        ASSERT_TRUE(lock.acquire());
        ASSERT_TRUE(lock.acquire());
        ++counter;
        lock.release();
        lock.release();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 8000);
  EXPECT_EQ(lock.semlock().get_value(), 1);
}

TEST(SyncRLock, ForkedChildCountsFromZeroAndKeepsTheName) {
  RLock lock = RLock::create();
  ASSERT_TRUE(lock.acquire());
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // CPython's _after_fork: the child holds nothing; and it never unlinks the creator's name.
    const bool ok =
        lock.semlock().count() == 0 && !lock.semlock().is_mine() && !lock.acquire(false);
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(lock.semlock().count(), 1);
  EXPECT_TRUE(semaphore_exists(lock.semlock().name()));
  lock.release();
}

// ---------------------------------------------------------------------------------------------
// Condition

TEST(SyncCondition, WaitAndNotifyNeedTheLock) {
  Condition cond = Condition::create();
  std::string what;
  EXPECT_EQ(code_thrown_by([&] { cond.wait(0s); }, &what), Errc::not_owner);
  EXPECT_EQ(what, "must acquire() condition before using wait()");
  EXPECT_EQ(code_thrown_by([&] { cond.notify(); }, &what), Errc::not_owner);
  EXPECT_EQ(what, "lock is not owned");
  EXPECT_EQ(cond.lock().kind(), SemKind::recursive_mutex);
  EXPECT_EQ(Condition::create(true).lock().kind(), SemKind::semaphore);
}

TEST(SyncCondition, WaitTimesOutAndKeepsEveryLevel) {
  Condition cond = Condition::create();
  ASSERT_TRUE(cond.acquire());
  ASSERT_TRUE(cond.acquire());
  EXPECT_FALSE(cond.wait(0.02s));
  EXPECT_EQ(cond.lock().count(), 2);
  EXPECT_TRUE(cond.lock().is_mine());
  cond.notify();  // no sleeper left: wakes nobody, waits for nobody
  cond.release();
  cond.release();
  EXPECT_EQ(cond.lock().get_value(), 1);
}

// Starts `n` threads that each take the condition, count themselves and wait; returns once
// all of them sleep (each counted while holding the lock, which wait() gives up only after it
// announced its sleep, so holding the lock here means every one of them is asleep).
std::vector<std::future<bool>> start_waiters(Condition& cond, int n, std::atomic<int>& waiting) {
  std::vector<std::future<bool>> woken;
  for (int i = 0; i < n; ++i) {
    woken.push_back(std::async(std::launch::async, [&] {
      EXPECT_TRUE(cond.acquire());
      waiting.fetch_add(1);
      const bool notified = cond.wait(30s);
      cond.release();
      return notified;
    }));
  }
  while (waiting.load() < n) std::this_thread::sleep_for(1ms);
  return woken;
}

TEST(SyncCondition, NotifyWakesOneWaiter) {
  for (const bool plain : {false, true}) {
    Condition cond = Condition::create(plain);
    std::atomic<int> waiting{0};
    auto woken = start_waiters(cond, 1, waiting);
    ASSERT_TRUE(cond.acquire());
    cond.notify();
    cond.release();
    EXPECT_TRUE(woken[0].get()) << "plain lock " << plain;
  }
}

TEST(SyncCondition, NotifyAllWakesEveryWaiterAndNotifyOne) {
  Condition cond = Condition::create();
  std::atomic<int> waiting{0};
  auto woken = start_waiters(cond, 3, waiting);
  ASSERT_TRUE(cond.acquire());
  cond.notify_all();
  cond.release();
  for (auto& w : woken) EXPECT_TRUE(w.get());

  // notify(1) of two sleepers wakes exactly one; the other sleeps until the next notify.
  std::atomic<int> two{0};
  auto pair = start_waiters(cond, 2, two);
  ASSERT_TRUE(cond.acquire());
  cond.notify(1);
  cond.release();
  int first = -1;
  for (int spins = 0; first < 0 && spins < 30000; ++spins) {
    for (int i = 0; i < 2 && first < 0; ++i) {
      if (pair[i].wait_for(1ms) == std::future_status::ready) first = i;
    }
  }
  ASSERT_GE(first, 0) << "notify(1) woke nobody";
  EXPECT_TRUE(pair[first].get());
  EXPECT_EQ(pair[1 - first].wait_for(20ms), std::future_status::timeout) << "notify(1) woke two";
  ASSERT_TRUE(cond.acquire());
  cond.notify(1);
  cond.release();
  EXPECT_TRUE(pair[1 - first].get());
}

TEST(SyncCondition, WaitersInForkedChildrenWake) {
  Condition cond = Condition::create();
  Semaphore asleep = Semaphore::create(0);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      bool ok = cond.acquire();
      asleep.release();  // under the lock: once the parent holds it, this child waits
      ok = ok && cond.wait(30s);
      cond.release();
      ::_exit(ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(asleep.acquire(true, 30s));
  ASSERT_TRUE(cond.acquire());
  cond.notify_all();
  cond.release();
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Event

TEST(SyncEvent, SetClearIsSetWait) {
  Event event = Event::create();
  EXPECT_FALSE(event.is_set());
  EXPECT_FALSE(event.wait(0.02s));
  event.set();
  EXPECT_TRUE(event.is_set());
  event.set();
  EXPECT_TRUE(event.wait(0s));
  EXPECT_TRUE(event.wait());
  event.clear();
  EXPECT_FALSE(event.is_set());
  EXPECT_FALSE(event.wait(0.02s));
}

TEST(SyncEvent, WaiterWakesWhenSet) {
  Event event = Event::create();
  auto waiter = std::async(std::launch::async, [&] { return event.wait(30s); });
  EXPECT_EQ(waiter.wait_for(20ms), std::future_status::timeout);
  event.set();
  EXPECT_TRUE(waiter.get());
}

// ---------------------------------------------------------------------------------------------
// Names, files, bad input

TEST(SyncBadInput, MissingAndInvalidNames) {
  const std::string missing = "/mp-" + test::unique_name();
  std::string what;
  EXPECT_EQ(code_thrown_by([&] { (void)Lock::attach(missing); }, &what), Errc::not_found);
  EXPECT_NE(what.find("no semaphore named " + missing), std::string::npos) << what;
  try {
    (void)Semaphore::attach(missing);
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  }
  EXPECT_EQ(code_thrown_by([] { (void)Lock::attach(std::string(251, 'n')); }), Errc::not_found);
  for (const std::string& bad : {std::string(), std::string("/"), std::string("mp/x"),
                                 std::string("mp\0x", 4), std::string("mp:x"), std::string(".."),
                                 std::string(252, 'n'), std::string("mp-\xc3\xa9")}) {
    EXPECT_EQ(code_thrown_by([&] { (void)Lock::attach(bad); }, &what), Errc::invalid_name)
        << BlockName::shown(bad);
    EXPECT_NE(what.find("invalid semaphore name"), std::string::npos) << what;
  }
}

TEST(SyncBadInput, FilesThatAreNotSemaphores) {
  struct Case {
    const char* what;
    std::function<void(const std::string&)> make;
  };
  const std::vector<Case> cases = {
      {"0 bytes",
       [](const std::string& f) { ::close(::open(f.c_str(), O_CREAT | O_WRONLY, 0600)); }},
      {"3 bytes",
       [](const std::string& f) {
         const int fd = ::open(f.c_str(), O_CREAT | O_WRONLY, 0600);
         EXPECT_EQ(::write(fd, "abc", 3), 3);
         ::close(fd);
       }},
      {"a FIFO", [](const std::string& f) { EXPECT_EQ(::mkfifo(f.c_str(), 0600), 0); }},
      {"a directory", [](const std::string& f) { EXPECT_EQ(::mkdir(f.c_str(), 0700), 0); }},
      {"a symlink to a semaphore",
       [](const std::string& f) { EXPECT_EQ(::symlink("/dev/null", f.c_str()), 0); }},
  };
  for (const auto& c : cases) {
    HandMadeSemaphore sem;
    c.make(sem.file());
    std::string what;
    EXPECT_EQ(code_thrown_by([&] { (void)Lock::attach(sem.name()); }, &what), Errc::not_a_block)
        << c.what << ": " << what;
    EXPECT_TRUE(semaphore_exists(sem.name())) << c.what << ": left as it was";
  }
}

TEST(SyncBadInput, FullDevShmGivesNoSpaceAndLeavesNothing) {
  if (::access("/usr/bin/unshare", X_OK) != 0) GTEST_SKIP() << "no unshare";
  // A /dev/shm of its own (a mount namespace), filled to the last byte.
  const std::string fill = test::unique_name();
  const auto r = test::run_child({"/usr/bin/unshare", "-m", "/bin/sh", "-c",
                                  "mount -t tmpfs -o size=4k tmpfs /dev/shm && "
                                  "dd if=/dev/zero of=/dev/shm/" +
                                      fill + " bs=4096 count=1 2>/dev/null && exec " +
                                      test::child_helper() + " lock-create-in-full-shm " + fill});
  if (r.exit_code != 0 && r.out.empty()) GTEST_SKIP() << "cannot mount a tmpfs here: " << r.err;
  EXPECT_EQ(r.out, "refused no_space\nleft:\n") << r.err;
}

// ---------------------------------------------------------------------------------------------
// Tracking

TEST(SyncTracker, SigkilledCreatorsSemaphoreIsUnlinkedWithAWarning) {
  const auto r = test::run_child({test::child_helper(), "lock-create-and-kill", "unused"});
  EXPECT_EQ(r.signal, SIGKILL) << r.err;
  ASSERT_TRUE(std::regex_match(r.out, std::regex("/mp-[a-z0-9_]{8}\n"))) << r.out;
  const std::string name = r.out.substr(0, r.out.size() - 1);
  // run_child reads stderr to EOF, which comes only once the tracker has exited as well.
  EXPECT_FALSE(semaphore_exists(name)) << "the tracker left " << name << " behind";
  EXPECT_NE(r.err.find("There appear to be 1 leaked semaphore objects to clean up at shutdown: ['" +
                       name + "']"),
            std::string::npos)
      << r.err;
}

TEST(SyncTracker, CreatorThatDestroysItsLockLeavesNothingAndNoWarning) {
  const auto r = test::run_child({test::child_helper(), "lock-create-and-exit", "unused"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(std::regex_match(r.out, std::regex("/mp-[a-z0-9_]{8}\n"))) << r.out;
  EXPECT_FALSE(semaphore_exists(r.out.substr(0, r.out.size() - 1)));
  EXPECT_EQ(r.err, "");
}

TEST(SyncTracker, UntrackedCreateIsLeftToItsCreator) {
  const auto r =
      test::run_child({test::child_helper(), "lock-create-untracked-and-kill", "unused"});
  EXPECT_EQ(r.signal, SIGKILL) << r.err;
  ASSERT_TRUE(std::regex_match(r.out, std::regex("/mp-[a-z0-9_]{8}\n"))) << r.out;
  const std::string name = r.out.substr(0, r.out.size() - 1);
  EXPECT_TRUE(semaphore_exists(name)) << "no tracker was asked to remove it";
  EXPECT_EQ(r.err, "");
  ::unlink(semaphore_file(name).c_str());
}

TEST(SyncTracker, ASemaphoreReplacedUnderItsNameIsLeftAlone) {
  const auto r = test::run_child({test::child_helper(), "lock-replaced-and-kill", "unused"});
  EXPECT_EQ(r.signal, SIGKILL) << r.err;
  ASSERT_TRUE(std::regex_match(r.out, std::regex("/mp-[a-z0-9_]{8}\n"))) << r.out;
  const std::string name = r.out.substr(0, r.out.size() - 1);
  EXPECT_TRUE(semaphore_exists(name)) << "the tracker removed another process's file";
  EXPECT_NE(r.err.find("'" + name + "': not unlinked: the name now belongs to another semaphore"),
            std::string::npos)
      << r.err;
  ::unlink(semaphore_file(name).c_str());
}

TEST(SyncTracker, RegisterAndUnregisterSemaphoreByName) {
  for (const bool unregister : {false, true}) {
    Lock lock = Lock::create({.track = false});
    const std::string name = lock.semlock().name();
    const auto r = test::run_child(
        {test::child_helper(),
         unregister ? "register-unregister-semaphore-and-kill" : "register-semaphore-and-kill",
         name.substr(1)});
    EXPECT_EQ(r.out, "registered\n") << r.err;
    EXPECT_EQ(semaphore_exists(name), unregister) << r.err;
    EXPECT_EQ(r.err.find("leaked semaphore objects") != std::string::npos, !unregister) << r.err;
    if (!unregister) {
      EXPECT_EQ(code_thrown_by([&] { lock.semlock().unlink(); }), Errc::not_found);
    }
  }
  EXPECT_EQ(code_thrown_by([] { tracker::register_semaphore("mp/x"); }), Errc::invalid_name);
}

// Each way a tracked create can name its file (old_system_shim.c makes this system look like
// one without O_TMPFILE, or without AT_EMPTY_PATH and /proc): the name works, a SIGKILLed
// creator's semaphore is removed, and no temporary file is left.
TEST(SyncTracker, EveryWayOfCreatingCleansUp) {
  const std::vector<std::vector<std::string>> ways = {
      {},
      {"LIBSHM_SHIM_NO_TMPFILE=1"},
      {"LIBSHM_SHIM_NO_EMPTY_PATH=1"},
      {"LIBSHM_SHIM_NO_EMPTY_PATH=1", "LIBSHM_SHIM_NO_PROC=1"},
  };
  for (const auto& way : ways) {
    for (const char* command : {"lock-create-and-exit", "lock-create-and-kill"}) {
      SCOPED_TRACE(std::string(command) + (way.empty() ? "" : " " + way.back()));
      const auto r = test::run_child({test::child_helper(), command, "unused"}, 30s,
                                     test::old_system_env(way));
      ASSERT_TRUE(std::regex_match(r.out, std::regex("/mp-[a-z0-9_]{8}\n"))) << r.out << r.err;
      EXPECT_FALSE(semaphore_exists(r.out.substr(0, r.out.size() - 1))) << r.err;
      EXPECT_EQ(r.err.find("libshm-shim: refused") != std::string::npos, !way.empty()) << r.err;
    }
  }
  EXPECT_EQ(test::blocks_with_prefix("sem.mp-tmp-"), std::vector<std::string>{});
}

// ---------------------------------------------------------------------------------------------
// With CPython: a spawn-context Lock shared by name

// A stdlib-only CPython program: maps block argv[1], makes a spawn-context Lock, writes its name
// at 16 and 1 at byte 8, waits for 1 at byte 9 (the C++ side attached), then adds 1 to the
// little-endian int64 at 0, argv[2] times, each under the lock. Prints the lock's name.
constexpr const char* kPythonCounter = R"(
import mmap, os, sys, time
import multiprocessing as mp
fd = os.open('/dev/shm/' + sys.argv[1], os.O_RDWR)
buf = mmap.mmap(fd, 4096)
os.close(fd)
lock = mp.get_context('spawn').Lock()
name = lock._semlock.name.encode()
buf[16:16 + len(name)] = name
buf[8] = 1
deadline = time.monotonic() + 60
while buf[9] != 1:
    if time.monotonic() > deadline:
        sys.exit(3)
    time.sleep(0.001)
for _ in range(int(sys.argv[2])):
    lock.acquire()
    buf[0:8] = (int.from_bytes(buf[0:8], 'little') + 1).to_bytes(8, 'little')
    lock.release()
print(name.decode())
)";

using test::wait_for_flag;

TEST(SyncCPython, LockByNameCountsExactlyWithEveryCPython) {
  const auto pythons = test::cpythons();
  if (pythons.empty()) GTEST_SKIP() << "no CPython found";
  constexpr int kIncrements = 20000;
  for (const auto& python : pythons) {
    SCOPED_TRACE(python.version);
    test::BlockCleanup cleanup;
    SharedMemory block = SharedMemory::create(4096, cleanup.fresh(), {.track = false});
    auto child = std::async(std::launch::async, [&] {
      return test::run_child(
          {python.executable, "-c", kPythonCounter, block.name(), std::to_string(kIncrements)},
          120s);
    });
    ASSERT_TRUE(wait_for_flag(block, 8));
    const std::string name(reinterpret_cast<const char*>(block.buf().data() + 16));
    Lock lock = Lock::attach(name);
    std::atomic_ref<std::byte>(block.buf()[9]).store(std::byte{1});
    std::atomic_ref<std::int64_t> counter(*reinterpret_cast<std::int64_t*>(block.buf().data()));
    for (int i = 0; i < kIncrements; ++i) {
      ASSERT_TRUE(lock.acquire());
      counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      lock.release();
    }
    const test::ChildResult r = child.get();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, name + "\n");
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(counter.load(), 2 * kIncrements);
    EXPECT_FALSE(semaphore_exists(name)) << "CPython's finalizer unlinks its lock at exit";
    block.unlink();
  }
}

}  // namespace
}  // namespace shm
