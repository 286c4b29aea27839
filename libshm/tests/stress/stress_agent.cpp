// A C++ participant in the multi-process stress test (driven by stress.py):
//   stress_agent writer NAME WRITER WRITERS SECONDS  -> writes its indices, prints the last values
//   stress_agent reader NAME SECONDS                 -> reads everything, prints what it saw
//   stress_agent doomed NAME                         -> creates a tracked block NAME, then waits
//                                                       to be SIGKILLed
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>

#include "libshm/item_json.hpp"
#include "libshm/shareable_list.hpp"
#include "values.hpp"

namespace {

using Clock = std::chrono::steady_clock;

int writer(const std::string& name, std::size_t me, std::size_t writers, double seconds) {
  auto list = shm::ShareableList::attach(name);
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::uint32_t k = 0;
  std::size_t writes = 0;
  while (Clock::now() < end) {
    ++k;
    for (std::size_t i = me; i < list.size(); i += writers) {
      list.set(static_cast<std::ptrdiff_t>(i), stress::value_for(i, k));
      ++writes;
    }
  }
  // The last value of each of our indices, for the driver to compare with the list.
  std::printf("{\"writes\": %zu, \"last\": {", writes);
  for (std::size_t i = me; i < list.size(); i += writers) {
    std::printf("%s\"%zu\": %s", i == me ? "" : ", ", i,
                shm::to_json(stress::value_for(i, k)).c_str());
  }
  std::printf("}}\n");
  return 0;
}

int reader(const std::string& name, double seconds) {
  auto list = shm::ShareableList::attach(name, {.read_only = true});
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::size_t reads = 0;
  std::set<std::size_t> zeros;   // indices where a 0 was seen
  std::set<std::size_t> failed;  // int/float indices where a read threw
  std::size_t errors = 0;
  std::string bad;
  while (Clock::now() < end) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      try {
        const shm::Item v = list.get(static_cast<std::ptrdiff_t>(i));
        ++reads;
        if (stress::plausible(i, v)) continue;
        if (shm::python_equal(v, shm::Item{std::int64_t{0}})) {
          // CPython's struct.pack_into zeroes a slot before it writes it: legal only for
          // indices a Python process writes, which the driver checks.
          zeros.insert(i);
        } else if (bad.size() < 2000) {
          bad += "[" + std::to_string(i) + "] " + shm::python_repr(v) + "; ";
        }
      } catch (const std::exception&) {
        // A mixed slot caught between its format and its data, or a slot whose format a
        // CPython writer is rewriting (pack_into zeroes it first): the driver judges which.
        ++errors;
        if (stress::role_of(i) != stress::Role::mixed) failed.insert(i);
      }
    }
  }
  const auto json_list = [](const std::set<std::size_t>& set) {
    std::string out;
    for (std::size_t i : set) out += (out.empty() ? "" : ", ") + std::to_string(i);
    return "[" + out + "]";
  };
  std::printf("{\"reads\": %zu, \"zeros\": %s, \"failed\": %s, \"errors\": %zu, \"bad\": %s}\n",
              reads, json_list(zeros).c_str(), json_list(failed).c_str(), errors,
              shm::to_json(shm::Item{bad}).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "writer" && argc == 6) {
      return writer(argv[2], std::stoul(argv[3]), std::stoul(argv[4]), std::stod(argv[5]));
    }
    if (mode == "reader" && argc == 4) return reader(argv[2], std::stod(argv[3]));
    if (mode == "doomed" && argc == 3) {
      auto block = shm::SharedMemory::create(4096, argv[2]);  // tracked
      std::printf("ready\n");
      std::fflush(stdout);
      ::pause();
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stress_agent: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: stress_agent writer|reader|doomed ...\n");
  return 2;
}
