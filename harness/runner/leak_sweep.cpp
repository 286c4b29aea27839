#include "leak_sweep.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

namespace harness {

std::string random_token() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << (rd() & 0xffffffu);
  std::string t = out.str();
  return std::string(6 - std::min<std::size_t>(6, t.size()), '0') + t;
}

std::vector<std::string> sweep_leftovers(const std::string& token) {
  const std::string prefix = "hx" + token + "_";
  std::vector<std::string> left;
  for (int attempt = 0; attempt < 20; ++attempt) {
    left.clear();
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/dev/shm", ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind(prefix, 0) == 0) left.push_back(name);
    }
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::vector<std::string> problems;
  for (const auto& name : left) {
    ::shm_unlink(("/" + name).c_str());
    problems.push_back("left in /dev/shm after the run (removed): " + name);
  }
  return problems;
}

}  // namespace harness
