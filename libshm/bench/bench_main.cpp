// libshm_bench: every C++ benchmark in one binary, so the ratios (libshm against the bare
// system calls, against memcpy) come from the same run on the same machine.
//
//   libshm_bench [--no-scaling] [Google Benchmark flags, e.g. --benchmark_format=json]
//
// Blocks are named with the run's prefix (LIBSHM_BENCH_PREFIX, or a random "lsb…"); each
// benchmark removes its blocks, and any left over are removed at the end and reported (exit 1).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "bench_support.hpp"
#include "benches.hpp"
#include "libshm/shared_memory.hpp"

int main(int argc, char** argv) {
  bool scaling = true;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-scaling") == 0) {
      scaling = false;
    } else {
      args.push_back(argv[i]);
    }
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 2;

  // Start the resource tracker now: its one fork is no part of any steady-state create.
  shm::SharedMemory::create(1, shm::bench::fresh_name()).unlink();

  shm::bench::register_list_benchmarks(scaling);
  shm::bench::register_block_benchmarks();
  shm::bench::register_array_benchmarks();
  shm::bench::register_atomic_benchmarks();
  shm::bench::register_sync_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  if (const std::size_t left = shm::bench::remove_leftovers(); left != 0) {
    std::fprintf(stderr, "libshm_bench: %zu block(s) were left in /dev/shm (removed now)\n", left);
    return 1;
  }
  return 0;
}
