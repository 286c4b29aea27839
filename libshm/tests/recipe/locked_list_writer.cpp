// The lists-with-locks recipe, C++ side (README.md, "Concurrent access"): a writer that shares
// a ShareableList and a CPython Lock with stdlib-only Python readers (locked_list.py).
//
//   locked_list_writer SECONDS locked|unlocked
//
// Prints one line, "<list name> <the Lock's semaphore name> <hex of the Lock's pickle>", then rewrites the list as one
// record per generation g for SECONDS: [g, "g%07d", -g, b"b%07d", g + 0.5, g or "s%07d"], the
// last slot changing type with g's parity. With "locked" each generation is written under the
// Lock, which is what the readers take around each read of the whole record. Prints the number
// of generations written at the end, then waits for a line on stdin before it removes the list.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <libshm/hex.hpp>
#include <libshm/shareable_list.hpp>
#include <libshm/sync.hpp>
#include <string>
#include <thread>

namespace {

std::string tagged(char tag, long long g) {
  char text[16];
  std::snprintf(text, sizeof text, "%c%07lld", tag, g % 10000000);
  return text;
}

void write_record(shm::ShareableList& list, long long g) {
  list.set(0, std::int64_t{g});
  list.set(1, tagged('g', g));
  list.set(2, std::int64_t{-g});
  list.set(3, shm::Bytes{tagged('b', g)});
  list.set(4, static_cast<double>(g) + 0.5);
  if (g % 2 == 0) {
    list.set(5, std::int64_t{g});
  } else {
    list.set(5, tagged('s', g));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: locked_list_writer SECONDS locked|unlocked\n");
    return 2;
  }
  const double seconds = std::stod(argv[1]);
  const bool locked = std::string(argv[2]) == "locked";
  // The Lock first: a pickle of it is what a Python process needs to take part.
  auto lock = shm::Lock::create();
  auto list = shm::ShareableList::create({std::int64_t{0}, tagged('g', 0), std::int64_t{0},
                                          shm::Bytes{tagged('b', 0)}, 0.5, tagged('s', 0)});
  std::printf("%s %s %s\n", list.name().c_str(), lock.semlock().name().c_str(),
              shm::to_hex(std::string_view(lock.pickle())).c_str());
  std::fflush(stdout);

  std::string go;
  std::getline(std::cin, go);  // the readers are attached
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  long long g = 0;
  while (std::chrono::steady_clock::now() < end) {
    ++g;
    if (locked) lock.acquire();
    write_record(list, g);
    if (locked) lock.release();
    // Let the readers in: a semaphore is not fair, and a writer that takes it back at once
    // would starve them.
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  std::printf("%lld\n", g);
  std::fflush(stdout);
  std::getline(std::cin, go);  // the readers are done
  list.shm().unlink();
  return 0;
}
