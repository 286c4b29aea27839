// The benchmark groups, registered by bench_main.cpp.
#pragma once

namespace shm::bench {

/// ShareableList: get/set per type, format, count, iteration, create, attach; with
/// `with_scaling`, also create, attach and iteration for N = 1 … 1,000,000.
void register_list_benchmarks(bool with_scaling);

/// SharedMemory create and attach (tracked, untracked) against the bare system calls, and bulk
/// reads and writes of a 64 MiB block against memcpy.
void register_block_benchmarks();

/// Array views: the sum of a 100-million-element `<f8` NpyArray through the view against a raw
/// loop over double* (bench_array.cpp).
void register_array_benchmarks();

/// Atomic fetch-add on an int64 in a block and in a list's int slot, uncontended and by two
/// threads, against std::atomic on private memory (bench_atomic.cpp).
void register_atomic_benchmarks();

/// CPython's Lock and Semaphores from C++ (bench_sync.cpp): uncontended acquire + release
/// against bare sem_wait + sem_post, and ping-pong round trips C++ with C++ and with CPython.
void register_sync_benchmarks();

}  // namespace shm::bench
