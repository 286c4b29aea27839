// A child process for the cross-process tests: each command does one thing to a block, the
// way another program sharing it would, and reports through its exit code and stdout.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "libshm/shareable_list.hpp"
#include "libshm/shared_memory.hpp"
#include "libshm/tracker.hpp"

namespace {

int usage() {
  std::fputs("usage: shm_test_child COMMAND NAME [SIZE]\n", stderr);
  return 2;
}

void put(std::span<std::byte> buf, std::size_t at, std::string_view text) {
  std::memcpy(buf.data() + at, text.data(), text.size());
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
    if (command == "create-exit") {
      auto block = shm::SharedMemory::create(4096, name);
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
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shm_test_child: %s\n", e.what());
    return 3;
  }
  return usage();
}
