#include "test_support.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <span>
#include <thread>

#include "libshm/hex.hpp"

extern char** environ;

namespace shm::test {

std::string unique_name() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t bits = rng();
  return "shmtest_" + to_hex(std::as_bytes(std::span(&bits, 1))).substr(0, 12);
}

bool block_exists(const std::string& name) {
  struct stat st {};
  return ::stat(("/dev/shm/" + name).c_str(), &st) == 0;
}

void create_empty_block(const std::string& name) {
  const int fd = ::shm_open(("/" + name).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0) << "cannot create empty block " << name << ": " << std::strerror(errno);
  ::close(fd);
}

std::vector<std::string> blocks_with_prefix(const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(prefix)) names.push_back(std::move(name));
  }
  return names;
}

bool wait_for_block(const std::string& name, bool want, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (block_exists(name) != want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return block_exists(name);
}

BlockCleanup::~BlockCleanup() {
  for (const auto& name : names_) ::shm_unlink(("/" + name).c_str());
}

const std::string& BlockCleanup::add(std::string name) {
  names_.push_back(std::move(name));
  return names_.back();
}

namespace {

// This process's environment with `changes` ("NAME=value") added or replacing NAME's entry.
std::vector<std::string> environment_with(const std::vector<std::string>& changes) {
  std::vector<std::string> out;
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=') + 1); };
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const bool replaced = std::any_of(changes.begin(), changes.end(), [&](const std::string& c) {
      return name_of(c) == name_of(entry);
    });
    if (!replaced) out.push_back(entry);
  }
  out.insert(out.end(), changes.begin(), changes.end());
  return out;
}

}  // namespace

std::vector<std::string> old_system_env(const std::vector<std::string>& switches) {
  std::vector<std::string> env = switches;
  env.push_back(std::string("LD_PRELOAD=") + LIBSHM_OLD_SYSTEM_SHIM);
  // Under AddressSanitizer the shim comes before its runtime in the load order, which it
  // refuses unless told that this is intended.
  const char* set = std::getenv("ASAN_OPTIONS");
  const std::string asan = set != nullptr ? set : "";
  env.push_back("ASAN_OPTIONS=" + asan + (asan.empty() ? "" : ":") + "verify_asan_link_order=0");
  return env;
}

ChildResult run_child(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const std::vector<std::string>& env) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed";
    return {};
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const std::vector<std::string> environment = environment_with(env);
  std::vector<char*> envp;
  for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ChildResult result;
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << argv[0] << " failed: " << rc;
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "child " << argv[0] << " timed out; stderr so far: " << result.err;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

std::string child_helper() {
  return LIBSHM_TEST_CHILD;
}

std::vector<CPython> cpythons() {
  static const std::vector<CPython> found = [] {
    std::vector<CPython> result;
    const std::string tools_python = LIBSHM_TOOLS_PYTHON;
    if (tools_python.empty()) return result;
    // One line per CPython: "VERSION<TAB>PATH<TAB>FOUND_VIA".
    const ChildResult r = run_child({tools_python, LIBSHM_FIND_CPYTHONS});
    std::size_t start = 0;
    while (start < r.out.size()) {
      std::size_t end = r.out.find('\n', start);
      if (end == std::string::npos) end = r.out.size();
      const std::string line = r.out.substr(start, end - start);
      start = end + 1;
      const std::size_t tab = line.find('\t');
      const std::size_t tab2 = line.find('\t', tab + 1);
      if (tab == std::string::npos || tab2 == std::string::npos) continue;
      result.push_back({line.substr(0, tab), line.substr(tab + 1, tab2 - tab - 1)});
    }
    return result;
  }();
  return found;
}

bool wait_for_flag(SharedMemory& block, std::size_t at) {
  std::atomic_ref<std::byte> flag(block.buf()[at]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (flag.load() != std::byte{1}) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void raise_flag(SharedMemory& block, std::size_t at) {
  std::atomic_ref<std::byte>(block.buf()[at]).store(std::byte{1});
}

}  // namespace shm::test
