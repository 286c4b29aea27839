// A child process for the cross-process tests: each command does one thing to a block, the
// way another program sharing it would, and reports through its exit code and stdout.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "libshm/array.hpp"
#include "libshm/atomic.hpp"
#include "libshm/error.hpp"
#include "libshm/item.hpp"
#include "libshm/pickle.hpp"
#include "libshm/shareable_list.hpp"
#include "libshm/shared_memory.hpp"
#include "libshm/sync.hpp"
#include "libshm/tracker.hpp"

namespace {

int usage() {
  std::fputs("usage: shm_test_child COMMAND NAME [SIZE]\n", stderr);
  return 2;
}

void put(std::span<std::byte> buf, std::size_t at, std::string_view text) {
  std::memcpy(buf.data() + at, text.data(), text.size());
}

// Attaches block `name`, tracked, as a typed attach of `kind` does: "list", "npy",
// "pickle-shm" (the SharedMemory a pickle names) or "pickle-list" (the ShareableList a pickle
// names). Prints "refused: " and why if the attach throws, "attached" if it does not.
void typed_tracked_attach(std::string_view kind, const std::string& name) {
  try {
    if (kind == "list") {
      (void)shm::ShareableList::attach(name, {.track = true});
    } else if (kind == "npy") {
      (void)shm::NpyArray::attach(name, {.track = true});
    } else if (kind == "pickle-shm") {
      (void)shm::pickle::attach(shm::pickle::loads(shm::pickle::dumps_shared_memory(name, 4096)),
                                {.track = true});
    } else if (kind == "pickle-list") {
      (void)shm::pickle::attach_list(shm::pickle::loads(shm::pickle::dumps_shareable_list(name)),
                                     {.track = true});
    } else {
      std::printf("unknown kind\n");
      return;
    }
    std::printf("attached\n");
  } catch (const std::exception& e) {
    std::printf("refused: %s\n", e.what());
  }
}

// Makes block `name`, which this process created, one that a typed attach of `kind` refuses:
// 0xff everywhere (a list of -1 items, no .npy magic), or 0 bytes for "pickle-shm", whose
// attach checks no more than SharedMemory::attach does.
bool spoil_for(std::string_view kind, shm::SharedMemory& block) {
  if (kind != "pickle-shm") {
    std::memset(block.buf().data(), 0xff, block.size());
    return true;
  }
  block.close();
  const int fd = ::shm_open(("/" + block.name()).c_str(), O_RDWR, 0);
  const bool ok = fd >= 0 && ::ftruncate(fd, 0) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) return usage();
  const std::string_view command = argv[1];
  const std::string name = argv[2];
  const std::size_t size = argc == 4 ? std::stoull(argv[3]) : 4096;
  try {
    if (command == "attach-rw") {
      // Reads what the parent wrote at 0 and answers at 64.
      auto block = shm::SharedMemory::attach(name);
      const std::string seen(reinterpret_cast<const char*>(block.buf().data()), 6);
      std::printf("%s %zu\n", seen.c_str(), block.size());
      put(block.buf(), 64, "child was here");
      return seen == "parent" ? 0 : 1;
    }
    if (command == "create-and-kill" || command == "create-threads-and-kill") {
      // Creates a tracked block, then dies without any chance to clean up.
      std::vector<std::jthread> busy;
      if (command == "create-threads-and-kill") {
        // The tracker starts while other threads run (and may hold malloc's locks).
        for (int i = 0; i < 4; ++i) {
          busy.emplace_back([](std::stop_token st) {
            static std::atomic<int> sink;
            while (!st.stop_requested()) {
              std::vector<int> churn(1000, 1);  // keeps malloc busy in this thread
              sink += churn.back();
            }
          });
        }
      }
      auto block = shm::SharedMemory::create(4096, name);
      put(block.buf(), 0, "doomed");
      std::printf("created\n");
      std::fflush(stdout);
      ::raise(SIGKILL);
    }
    if (command == "create-twice-exit") {
      // A second create of our own tracked block's name fails, and must not cost the first
      // block its registration.
      auto block = shm::SharedMemory::create(4096, name);
      try {
        shm::SharedMemory::create(4096, name);
      } catch (const std::system_error& e) {
        if (e.code() == std::errc::file_exists) std::printf("exists\n");
      }
      return 0;  // no unlink: the tracker must clean up the first block and warn
    }
    if (command == "churn-and-kill") {
      // Creates, fills, keeps or unlinks tracked blocks NAME_0, NAME_1, ... as fast as it can
      // until a thread SIGKILLs the process `size` microseconds after the first create: a
      // random moment of a create, a write or an unlink. Every third block is kept, so the
      // tracker has blocks to remove as well as registrations being made and withdrawn.
      std::atomic<bool> started{false};
      const auto delay = std::chrono::microseconds(size);
      std::jthread killer([&] {
        started.wait(false);
        std::this_thread::sleep_for(delay);
        ::kill(::getpid(), SIGKILL);
      });
      std::vector<shm::SharedMemory> kept;
      for (std::size_t i = 0;; ++i) {
        auto block = shm::SharedMemory::create(4096, name + "_" + std::to_string(i));
        if (i == 0) {
          started = true;
          started.notify_one();
        }
        put(block.buf(), 0, "churn");
        if (i % 3 == 0) {
          kept.push_back(std::move(block));
        } else {
          block.unlink();
        }
      }
    }
    if (command == "create-exit") {
      auto block = shm::SharedMemory::create(size, name);
      return 0;  // no unlink: the tracker must clean up and warn
    }
    if (command == "create-unlink-exit") {
      auto block = shm::SharedMemory::create(4096, name);
      block.unlink();
      return 0;
    }
    if (command == "attach-exit") {
      auto block = shm::SharedMemory::attach(name);
      return 0;  // untracked: the block must survive us
    }
    if (command == "attach-tracked-exit") {
      auto block = shm::SharedMemory::attach(name, {.track = true});
      return 0;  // tracked on request: the block goes with us, as in CPython
    }
    if (command.starts_with("refused-attach-exit-")) {
      // Another process's block, attached tracked as a typed handle that refuses it: our exit
      // must leave it alone.
      typed_tracked_attach(command.substr(std::strlen("refused-attach-exit-")), name);
      return 0;
    }
    if (command.starts_with("create-refused-attach-exit-")) {
      // Our own tracked block, attached tracked as a typed handle that refuses it: the refusal
      // must not cost the block its registration, so our exit still removes it.
      const std::string_view kind = command.substr(std::strlen("create-refused-attach-exit-"));
      auto block = shm::SharedMemory::create(4096, name);
      if (!spoil_for(kind, block)) return 4;
      typed_tracked_attach(kind, name);
      return 0;  // no unlink: the tracker must clean up and warn
    }
    if (command == "attach-track-exit") {
      // Tracked only after the attach, twice: one registration, so one block removed at exit.
      auto block = shm::SharedMemory::attach(name);
      block.track();
      block.track();
      std::printf("%d\n", block.tracked() ? 1 : 0);
      return 0;
    }
    if (command == "attach-replaced-track-exit") {
      // The block we attached is replaced under its name (raw calls, standing in for another
      // process) before we track it: we registered the block we hold, not the name's new one.
      auto block = shm::SharedMemory::attach(name);
      const std::string os = "/" + name;
      ::shm_unlink(os.c_str());
      const int fd = ::shm_open(os.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
      if (fd < 0 || ::ftruncate(fd, 16) != 0) return 4;
      ::close(fd);
      block.track();
      return 0;  // our tracker must leave the new block alone
    }
    if (command == "create-reserved") {
      // Space reserved up front: a full filesystem is an ENOSPC error here, not a SIGBUS later.
      auto block = shm::SharedMemory::create(size, name, {.reserve = true});
      block.unlink();
      return 0;
    }
    if (command == "create-fill") {
      // A sparse block (CPython's way): writing pages the filesystem has no room for faults.
      auto block = shm::SharedMemory::create(size, name);
      block.unlink();  // the mapping stays usable; nothing is left behind when we die
      std::memset(block.buf().data(), 0x5a, block.size());
      return 0;
    }
    if (command == "create-drop-attach-unlink") {
      { auto creator = shm::SharedMemory::create(64, name); }
      shm::SharedMemory::attach(name).unlink();
      return 0;  // the attach handle's unlink withdrew the creator's registration
    }
    if (command == "create-replaced-exit") {
      // Stands in for another process that unlinks our block and creates a new one under the
      // same name, with raw calls that bypass our tracker; then we exit.
      auto block = shm::SharedMemory::create(64, name);
      block.close();
      const std::string os = "/" + name;
      ::shm_unlink(os.c_str());
      const int fd = ::shm_open(os.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
      if (fd < 0 || ::ftruncate(fd, 16) != 0) return 4;
      ::close(fd);
      return 0;  // our tracker must leave the new block alone
    }
    if (command == "ensure-running") {
      // A fresh process has no tracker until something needs one, or it is asked for.
      const pid_t before = shm::tracker::pid();
      shm::tracker::ensure_running();
      const pid_t after = shm::tracker::pid();
      shm::tracker::ensure_running();
      std::printf("%d %d\n", before == 0 ? 1 : 0, after > 0 && shm::tracker::pid() == after);
      return 0;
    }
    if (command == "register-twice-unregister") {
      shm::tracker::register_block(name);
      shm::tracker::register_block(name);
      shm::tracker::unregister_block(name);
      return 0;  // the tracker holds a set: nothing is left registered
    }
    if (command == "create-list" || command == "create-list-untracked") {
      // A list of about SIZE bytes (str items of up to 1 MB), tracked or not.
      std::vector<shm::Item> items;
      for (std::size_t left = size; left > 0;) {
        const std::size_t n = std::min<std::size_t>(left, 1'000'000);
        items.emplace_back(std::string(n, 'x'));
        left -= n;
      }
      auto list =
          shm::ShareableList::create(items, {.name = name, .track = command == "create-list"});
      list.shm().unlink();
      return 0;
    }
    if (command == "attach-ro") {
      auto block = shm::SharedMemory::attach(name, {.read_only = true});
      std::printf("%zu\n", block.size());
      return 0;
    }
    if (command == "plant-sparse-list") {
      // What an attacker can do with one call: a SIZE-byte sparse block whose 3.9+ header
      // claims N = (SIZE - 16) / 17 items (the most the size allows), every other word a hole.
      const int fd = ::shm_open(("/" + name).c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
      if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) return 4;
      const std::int64_t header[2] = {static_cast<std::int64_t>((size - 16) / 17), 0};
      if (::pwrite(fd, header, sizeof header, 0) != sizeof header) return 4;
      ::close(fd);
      return 0;
    }
    if (command == "lock-create-and-kill" || command == "lock-create-and-exit" ||
        command == "lock-create-untracked-and-kill") {
      // A shm::Lock (NAME unused), tracked unless said: its name on stdout, then SIGKILL, or a
      // normal end (the Lock destroyed first).
      {
        auto lock = shm::Lock::create({.track = command != "lock-create-untracked-and-kill"});
        std::printf("%s\n", lock.semlock().name().c_str());
        std::fflush(stdout);
        if (command != "lock-create-and-exit") ::raise(SIGKILL);
      }
      return 0;
    }
    if (command == "lock-replaced-and-kill") {
      // A tracked Lock whose file someone else replaces (unlinked behind its back, a new file
      // under the name): its name on stdout, then SIGKILL.
      auto lock = shm::Lock::create();
      const std::string file = "/dev/shm/sem." + lock.semlock().name().substr(1);
      if (::unlink(file.c_str()) != 0) return 4;
      const int fd = ::open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
      if (fd < 0) return 5;
      ::close(fd);
      std::printf("%s\n", lock.semlock().name().c_str());
      std::fflush(stdout);
      ::raise(SIGKILL);
    }
    if (command == "register-semaphore-and-kill" ||
        command == "register-unregister-semaphore-and-kill") {
      // tracker::register_semaphore(NAME) (and unregister_semaphore), then SIGKILL.
      shm::tracker::register_semaphore(name);
      if (command == "register-unregister-semaphore-and-kill") {
        shm::tracker::unregister_semaphore(name);
      }
      std::printf("registered\n");
      std::fflush(stdout);
      ::raise(SIGKILL);
    }
    if (command == "lock-create-in-full-shm") {
      // Run where /dev/shm is full: prints the code Lock::create throws, then what /dev/shm
      // holds besides NAME (the file that filled it).
      try {
        auto lock = shm::Lock::create();
        std::printf("created %s\n", lock.semlock().name().c_str());
      } catch (const std::exception& e) {
        const auto* error = shm::error_of(e);
        std::printf("refused %s\n",
                    error != nullptr ? std::string(shm::to_string(error->code())).c_str() : "?");
      }
      std::string left;
      for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
        if (entry.path().filename() != name) left += " " + entry.path().filename().string();
      }
      std::printf("left:%s\n", left.c_str());
      return 0;
    }
    if (command == "rlimit-create-and-kill") {
      // Under RLIMIT_NOFILE = SIZE: a tracked block, then SIGKILL (the tracker must clean up).
      // Only 0-2 stay open, whatever the test runner passed down, so SIZE means the same
      // everywhere.
      ::close_range(3, ~0U, 0);
      const rlimit limit{size, size};
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return 4;
      auto block = shm::SharedMemory::create(4096, name);
      std::printf("created\n");
      std::fflush(stdout);
      ::raise(SIGKILL);
    }
    if (command == "fork-storm") {
      // SIZE forks from a program whose 4 threads create and unlink tracked blocks all the
      // while. Each child makes, unlinks and leaves tracked blocks of its own under a 10 s
      // alarm; the parent counts children that did not exit 0 (a hang ends as SIGALRM).
      std::atomic<bool> stop{false};
      std::atomic<std::size_t> churned{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          for (std::size_t k = 0; !stop; ++k) {
            const std::string own = name + "_t" + std::to_string(t) + "_" + std::to_string(k);
            auto block = shm::SharedMemory::create(64, own);
            block.unlink();
            ++churned;
          }
        });
      }
      std::size_t bad = 0;
      std::size_t hung = 0;
      for (std::size_t i = 0; i < size; ++i) {
        const pid_t pid = ::fork();
        if (pid < 0) return 4;
        if (pid == 0) {
          ::alarm(10);
          try {
            const std::string own = name + "_c" + std::to_string(i);
            shm::SharedMemory::create(64, own + "u").unlink();
            // Left registered: the shared tracker must remove it once everyone has exited.
            (void)shm::SharedMemory::create(64, own + "k");
          } catch (...) {
            ::_exit(5);
          }
          ::_exit(0);
        }
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) ++hung;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++bad;
      }
      stop = true;
      for (auto& t : threads) t.join();
      std::printf("forks=%zu bad=%zu hung=%zu churned=%zu\n", size, bad, hung, churned.load());
      return bad == 0 ? 0 : 1;
    }
    if (command == "list-set") {
      // Prints the list it attached (Python's repr of its items), then writes new types.
      auto list = shm::ShareableList::attach(name);
      std::string seen = "[";
      for (std::size_t i = 0; i < list.size(); ++i) {
        seen += (i ? ", " : "") + shm::python_repr(list.get(static_cast<std::ptrdiff_t>(i)));
      }
      std::printf("%s]\n", seen.c_str());
      list.set(0, std::string("child"));
      list.set(1, 7.5);
      list.set(2, shm::Bytes{"\x01\x02"});
      return 0;
    }
    if (command == "list-mutate") {
      // Rewrites every item with values of every type, as fast as it can for a while (another
      // process reads meanwhile), then leaves a known final state.
      auto list = shm::ShareableList::attach(name);
      const std::vector<shm::Item> values{std::int64_t{-1},
                                          2.5,
                                          true,
                                          shm::None{},
                                          std::string("\xc3\xa9\xc3\xa9\xe2\x82\xac"),
                                          std::string("abcdefgh"),
                                          shm::Bytes{"\xff\xfe"},
                                          std::string(),
                                          false};
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
      for (std::size_t round = 0; std::chrono::steady_clock::now() < until; ++round) {
        for (std::size_t i = 0; i < list.size(); ++i) {
          list.set(static_cast<std::ptrdiff_t>(i), values[(round + i) % values.size()]);
        }
      }
      list.set(0, std::string("done"));
      list.set(1, std::int64_t{42});
      list.set(2, shm::None{});
      list.set(3, shm::Bytes{"end"});
      return 0;
    }
    if (command == "list-fetch-add") {
      // Adds 1 to int item 0 of list `name`, SIZE times, atomically (another process may be
      // adding too); prints the value after its last addition.
      auto list = shm::ShareableList::attach(name);
      const shm::AtomicInt64 counter = list.atomic_int64(0);
      std::int64_t last = 0;
      for (std::size_t i = 0; i < size; ++i) last = counter.fetch_add(1) + 1;
      std::printf("%lld\n", static_cast<long long>(last));
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shm_test_child: %s\n", e.what());
    return 3;
  }
  return usage();
}
