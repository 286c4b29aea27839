// Helpers shared by the unit tests: unique block names, cleanup, and child processes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "libshm/shared_memory.hpp"

namespace shm::test {

/// A fresh block name no other test (or test run) uses: "shmtest_" + 12 random hex digits.
std::string unique_name();

/// True if /dev/shm/<name> exists.
bool block_exists(const std::string& name);

/// Makes block `name` with 0 bytes, as a creator that has not sized it yet leaves it (a block
/// nothing can map). Fails the test if it cannot.
void create_empty_block(const std::string& name);

/// The names of the blocks in /dev/shm that start with `prefix`.
std::vector<std::string> blocks_with_prefix(const std::string& prefix);

/// Polls until block_exists(name) == want or the timeout passes; returns the final state.
bool wait_for_block(const std::string& name, bool want,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Unlinks every name given, ignoring missing ones: test teardown for blocks a failing test
/// might leave behind.
class BlockCleanup {
 public:
  BlockCleanup() = default;
  BlockCleanup(const BlockCleanup&) = delete;
  BlockCleanup& operator=(const BlockCleanup&) = delete;
  ~BlockCleanup();
  /// Remembers `name` for removal and returns it.
  const std::string& add(std::string name);
  /// A new unique name, remembered for removal.
  const std::string& fresh() { return add(unique_name()); }

 private:
  std::vector<std::string> names_;  // blocks to remove at scope exit
};

/// What a finished child process did.
struct ChildResult {
  int exit_code = -1;  // exit status, or -1 if killed by a signal
  int signal = 0;      // the signal that killed it, or 0
  std::string out;     // everything it (and its descendants) wrote to stdout
  std::string err;     // everything it (and its descendants) wrote to stderr
};

/// Runs argv (argv[0] a path) to completion, capturing stdout and stderr until EOF (so until
/// any resource tracker it started has exited too). Fails the test on timeout. `env`: entries
/// "NAME=value" added to this process's environment for the child, replacing its own NAME.
ChildResult run_child(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30),
                      const std::vector<std::string>& env = {});

/// The environment entries (for run_child) that preload old_system_shim.c with `switches`,
/// e.g. {"LIBSHM_SHIM_NO_TMPFILE=1"}, so that the child sees an older or smaller system.
std::vector<std::string> old_system_env(const std::vector<std::string>& switches);

/// Path of the test helper executable `shm_test_child` (set by CMake).
std::string child_helper();

/// One CPython the project's discovery found.
struct CPython {
  std::string version;     // "3.12.1"
  std::string executable;  // its python3
};

/// Waits until byte `at` of `block` is 1 (raise_flag, or another process's store); false after
/// 60 s.
bool wait_for_flag(SharedMemory& block, std::size_t at);

/// Sets byte `at` of `block` to 1 (atomically, for wait_for_flag in another process).
void raise_flag(SharedMemory& block, std::size_t at);

/// Every CPython compat/tools/find_cpythons.py finds (the project's one discovery), oldest
/// first; empty where the build found no python3 to run it.
std::vector<CPython> cpythons();

}  // namespace shm::test
