// CPython's synchronisation objects from C++ (libshm/sync.hpp): an uncontended Lock
// acquire + release against bare sem_wait + sem_post, and the round trip of a ping-pong over
// two Semaphores between two processes, C++ with C++ and C++ with a stdlib-only CPython (whose
// Semaphores are the same named semaphores, handed over as their pickles).
//
// Names: sync.lock/<libshm|bare>, sync.pingpong.cpp-cpp/libshm, sync.pingpong.cpp-py/libshm
// (one round trip: two hand-offs). The CPython is LIBSHM_BENCH_PYTHON, else /usr/bin/python3.
#include <benchmark/benchmark.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <libshm/hex.hpp>
#include <libshm/sync.hpp>
#include <stdexcept>
#include <string>

#include "benches.hpp"

namespace shm::bench {
namespace {

void lock_libshm(benchmark::State& state) {
  auto lock = Lock::create();
  for (auto _ : state) {
    lock.acquire();
    lock.release();
  }
}

void lock_bare(benchmark::State& state) {
  sem_t sem;
  if (sem_init(&sem, 1, 1) != 0) throw std::runtime_error("sem_init");
  for (auto _ : state) {
    sem_wait(&sem);
    sem_post(&sem);
  }
  sem_destroy(&sem);
}

// A child process that answers every ping with a pong until it is killed.
class Ponger {
 public:
  explicit Ponger(pid_t pid) : pid_(pid) {}
  Ponger(const Ponger&) = delete;
  Ponger& operator=(const Ponger&) = delete;
  ~Ponger() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_;
};

void pingpong(benchmark::State& state, Semaphore& ping, Semaphore& pong) {
  for (auto _ : state) {
    ping.release();
    pong.acquire();
  }
}

void pingpong_cpp(benchmark::State& state) {
  auto ping = Semaphore::create(0);
  auto pong = Semaphore::create(0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    auto my_ping = Semaphore::attach(ping.semlock().name());
    auto my_pong = Semaphore::attach(pong.semlock().name());
    for (;;) {
      my_ping.acquire();
      my_pong.release();
    }
  }
  Ponger child(pid);
  pingpong(state, ping, pong);
}

constexpr const char* kPythonPonger = R"(
import pickle, sys
ping, pong = (pickle.loads(bytes.fromhex(h)) for h in sys.argv[1:3])
print("ready", flush=True)
while True:
    ping.acquire()
    pong.release()
)";

void pingpong_python(benchmark::State& state) {
  const char* python = std::getenv("LIBSHM_BENCH_PYTHON");
  const std::string interpreter = python != nullptr ? python : "/usr/bin/python3";
  auto ping = Semaphore::create(0);
  auto pong = Semaphore::create(0);
  const std::string ping_hex = to_hex(std::string_view(ping.pickle()));
  const std::string pong_hex = to_hex(std::string_view(pong.pickle()));
  int ready[2];
  if (::pipe(ready) != 0) throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(ready[1], STDOUT_FILENO);
    ::execl(interpreter.c_str(), interpreter.c_str(), "-c", kPythonPonger, ping_hex.c_str(),
            pong_hex.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(ready[1]);
  Ponger child(pid);
  char line[8] = {};
  const bool started = ::read(ready[0], line, 6) == 6;
  ::close(ready[0]);
  if (!started) {
    state.SkipWithError(("no CPython at " + interpreter).c_str());
    return;
  }
  pingpong(state, ping, pong);
}

}  // namespace

void register_sync_benchmarks() {
  benchmark::RegisterBenchmark("sync.lock/libshm", lock_libshm);
  benchmark::RegisterBenchmark("sync.lock/bare", lock_bare);
  benchmark::RegisterBenchmark("sync.pingpong.cpp-cpp/libshm", pingpong_cpp)->UseRealTime();
  benchmark::RegisterBenchmark("sync.pingpong.cpp-py/libshm", pingpong_python)->UseRealTime();
}

}  // namespace shm::bench
