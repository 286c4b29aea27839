// shm::SharedMemory benchmarks against the syscall floor (bare_shm.c): create + touch + unlink
// and attach + touch + close, for one page and for 1 MiB; and bulk copies in and out of a
// 64 MiB block against memcpy between two private buffers.
//
// Names are "<operation>/<implementation>": libshm (tracked create: CPython's default),
// libshm_untracked (CreateOptions{.track = false}), bare (the system calls only), memcpy.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include "bare_shm.h"
#include "bench_support.hpp"
#include "benches.hpp"
#include "libshm/shared_memory.hpp"

namespace shm::bench {
namespace {

constexpr std::size_t kBulkBytes = std::size_t{64} << 20;

void check(int err, const char* what) {
  if (err != 0) throw std::system_error(err, std::generic_category(), what);
}

void create_libshm(benchmark::State& state, std::size_t size, bool track) {
  for (auto _ : state) {
    SharedMemory block = SharedMemory::create(size, fresh_name(), {.track = track});
    touch_write(block.buf().data(), block.size());
    block.close();  // munmap, then shm_unlink: the bare baseline's order
    block.unlink();
  }
}

void create_bare(benchmark::State& state, std::size_t size) {
  for (auto _ : state) {
    check(bare_create_touch_unlink(os_name(fresh_name()).c_str(), size), "bare create");
  }
}

// A block that exists for the length of an attach benchmark.
class ScopedBlock {
 public:
  explicit ScopedBlock(std::size_t size) : name_(fresh_name()) {
    check(bare_create(os_name(name_).c_str(), size), "bare create");
  }
  ScopedBlock(const ScopedBlock&) = delete;
  ScopedBlock& operator=(const ScopedBlock&) = delete;
  ~ScopedBlock() { bare_unlink(os_name(name_).c_str()); }
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  std::string name_;  // the block's name, without the slash
};

void attach_libshm(benchmark::State& state, std::size_t size) {
  const ScopedBlock block(size);
  for (auto _ : state) {
    const SharedMemory attached = SharedMemory::attach(block.name());
    benchmark::DoNotOptimize(touch_read(attached.buf().data(), attached.size()));
  }
}

void attach_bare(benchmark::State& state, std::size_t size) {
  const ScopedBlock block(size);
  const std::string os = os_name(block.name());
  for (auto _ : state) check(bare_attach_touch_close(os.c_str()), "bare attach");
}

// A 64 MiB private buffer, every page written once so no benchmark pays for first faults.
std::unique_ptr<std::byte[]> private_buffer(std::byte fill) {
  auto p = std::make_unique_for_overwrite<std::byte[]>(kBulkBytes);
  std::memset(p.get(), static_cast<int>(fill), kBulkBytes);
  return p;
}

// A 64 MiB block, unlinked (not tracked) when the benchmark ends.
class BulkBlock {
 public:
  BulkBlock() : block_(SharedMemory::create(kBulkBytes, fresh_name(), {.track = false})) {
    std::memset(block_.buf().data(), 7, kBulkBytes);
  }
  BulkBlock(const BulkBlock&) = delete;
  BulkBlock& operator=(const BulkBlock&) = delete;
  ~BulkBlock() { block_.unlink(); }
  [[nodiscard]] const SharedMemory& get() const { return block_; }

 private:
  SharedMemory block_;  // the mapped block
};

void bulk_read_libshm(benchmark::State& state) {
  const BulkBlock block;
  const auto out = private_buffer(std::byte{0});
  for (auto _ : state) {
    const auto in = block.get().buf();
    std::memcpy(out.get(), in.data(), in.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBulkBytes));
}

void bulk_write_libshm(benchmark::State& state) {
  const BulkBlock block;
  const auto in = private_buffer(std::byte{3});
  for (auto _ : state) {
    const auto out = block.get().buf();
    std::memcpy(out.data(), in.get(), out.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBulkBytes));
}

void bulk_memcpy(benchmark::State& state) {
  const auto in = private_buffer(std::byte{3});
  const auto out = private_buffer(std::byte{0});
  for (auto _ : state) {
    std::memcpy(out.get(), in.get(), kBulkBytes);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBulkBytes));
}

}  // namespace

void register_block_benchmarks() {
  struct Size {
    std::size_t bytes;
    const char* key;
  };
  for (const Size size : {Size{4096, "4KiB"}, Size{std::size_t{1} << 20, "1MiB"}}) {
    const std::size_t n = size.bytes;
    const std::string create = std::string("shm.create.") + size.key;
    const std::string attach = std::string("shm.attach.") + size.key;
    benchmark::RegisterBenchmark((create + "/bare").c_str(),
                                 [n](benchmark::State& s) { create_bare(s, n); });
    benchmark::RegisterBenchmark((create + "/libshm_untracked").c_str(),
                                 [n](benchmark::State& s) { create_libshm(s, n, false); });
    benchmark::RegisterBenchmark((create + "/libshm").c_str(),
                                 [n](benchmark::State& s) { create_libshm(s, n, true); });
    benchmark::RegisterBenchmark((attach + "/bare").c_str(),
                                 [n](benchmark::State& s) { attach_bare(s, n); });
    benchmark::RegisterBenchmark((attach + "/libshm").c_str(),
                                 [n](benchmark::State& s) { attach_libshm(s, n); });
  }
  benchmark::RegisterBenchmark("bulk.read/memcpy", bulk_memcpy)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("bulk.read/libshm", bulk_read_libshm)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("bulk.write/memcpy", bulk_memcpy)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("bulk.write/libshm", bulk_write_libshm)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace shm::bench
