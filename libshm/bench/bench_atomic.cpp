// Atomic fetch-add on an int64 in a block (shm::AtomicInt64, libshm/atomic.hpp), issue 24:
// uncontended on a block word and on a ShareableList int slot (the handle made once, and made
// on every call as the Python module's sl.atomic_fetch_add(i, d) makes it), and contended by
// two threads on one word; the reference is std::atomic<std::int64_t>::fetch_add on private
// memory. The Python side (bench_py.py "atomic.") times the module's calls and a
// multiprocessing.Lock-protected sl[i] += 1.
//
// Names: "atomic.fetch_add.<where>/<implementation>", implementation libshm or std (the
// reference); contended runs are per addition, elapsed time (two threads add at once).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "bench_support.hpp"
#include "benches.hpp"
#include "libshm/atomic.hpp"
#include "libshm/shareable_list.hpp"
#include "libshm/shared_memory.hpp"

namespace shm::bench {
namespace {

constexpr std::ptrdiff_t kItem = 50;  // item 50 of 100 ints, as the get/set benchmarks

// A block (or a list) that exists for the length of one benchmark.
class AtomicBlock {
 public:
  AtomicBlock() : block_(SharedMemory::create(4096, fresh_name(), {.track = false})) {}
  AtomicBlock(const AtomicBlock&) = delete;
  AtomicBlock& operator=(const AtomicBlock&) = delete;
  ~AtomicBlock() { block_.unlink(); }
  [[nodiscard]] SharedMemory& get() { return block_; }

 private:
  SharedMemory block_;  // the mapped block
};

class IntList {
 public:
  IntList()
      : list_(ShareableList::create(std::vector<Item>(100, Item{std::int64_t{0}}),
                                    {.name = fresh_name(), .track = false})) {}
  IntList(const IntList&) = delete;
  IntList& operator=(const IntList&) = delete;
  ~IntList() { list_.shm().unlink(); }
  [[nodiscard]] ShareableList& get() { return list_; }

 private:
  ShareableList list_;  // 100 ints
};

void fetch_add_std(benchmark::State& state) {
  std::atomic<std::int64_t> counter{0};
  for (auto _ : state) benchmark::DoNotOptimize(counter.fetch_add(1));
}

void fetch_add_block(benchmark::State& state) {
  AtomicBlock block;
  const AtomicInt64 counter = atomic_int64(block.get(), 64);
  for (auto _ : state) benchmark::DoNotOptimize(counter.fetch_add(1));
}

void fetch_add_list_handle(benchmark::State& state) {
  IntList list;
  const AtomicInt64 counter = list.get().atomic_int64(kItem);
  for (auto _ : state) benchmark::DoNotOptimize(counter.fetch_add(1));
}

void fetch_add_list_each_call(benchmark::State& state) {
  IntList list;
  for (auto _ : state) benchmark::DoNotOptimize(list.get().atomic_int64(kItem).fetch_add(1));
}

// Two threads on one word: the cache line moves between the cores on every addition. Thread 0
// makes the block before the timed loops start (Google Benchmark starts them together, after
// every thread's setup) and removes it after they all ended.
alignas(64) std::atomic<std::int64_t> contended_std{0};
AtomicBlock* contended_block = nullptr;
std::optional<AtomicInt64> contended_counter;

void fetch_add_contended_std(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(contended_std.fetch_add(1));
}

void fetch_add_contended_block(benchmark::State& state) {
  if (state.thread_index() == 0) {
    contended_block = new AtomicBlock();
    contended_counter = atomic_int64(contended_block->get(), 64);
  }
  for (auto _ : state) benchmark::DoNotOptimize(contended_counter->fetch_add(1));
  if (state.thread_index() == 0) {
    contended_counter.reset();
    delete contended_block;
    contended_block = nullptr;
  }
}

}  // namespace

void register_atomic_benchmarks() {
  benchmark::RegisterBenchmark("atomic.fetch_add.private/std", fetch_add_std);
  benchmark::RegisterBenchmark("atomic.fetch_add.block/libshm", fetch_add_block);
  benchmark::RegisterBenchmark("atomic.fetch_add.list/libshm", fetch_add_list_handle);
  benchmark::RegisterBenchmark("atomic.fetch_add.list_each_call/libshm", fetch_add_list_each_call);
  benchmark::RegisterBenchmark("atomic.fetch_add.contended2/std", fetch_add_contended_std)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("atomic.fetch_add.contended2/libshm", fetch_add_contended_block)
      ->Threads(2)
      ->UseRealTime();
}

}  // namespace shm::bench
