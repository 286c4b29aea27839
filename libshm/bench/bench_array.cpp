// Array views: summing a 100-million-element `<f8` array that lives in an .npy block
// (shm::NpyArray), through the typed view's iteration against a raw loop over double*. The goal
// is a view within 1.1x of the raw loop. LIBSHM_BENCH_ARRAY_ELEMENTS overrides the size.
//
// Names are "array.sum.f8/<implementation>": raw (a for loop over the block's double*), view
// (range-for over NpyArray::cview().as<double>()), view_strided (the same elements as a 2-D
// Fortran-order view, iterated in C order: strided access, for scale).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "bench_support.hpp"
#include "benches.hpp"
#include "libshm/array.hpp"

namespace shm::bench {
namespace {

std::size_t array_elements() {
  const char* text = std::getenv("LIBSHM_BENCH_ARRAY_ELEMENTS");
  return text != nullptr && *text != '\0' ? std::stoull(text) : std::size_t{100'000'000};
}

// An untracked NpyArray of n doubles (0, 0.5, 1, ...), unlinked when the benchmark ends.
class SumArray {
 public:
  explicit SumArray(std::size_t n, Order order = Order::C, std::size_t rows = 1)
      : array_(NpyArray::create(
            Dtype::parse("<f8"),
            rows == 1 ? std::vector<std::size_t>{n} : std::vector<std::size_t>{rows, n / rows},
            {.order = order, .name = fresh_name(), .block = {.track = false}})) {
    double* p = raw();
    for (std::size_t i = 0; i < n; ++i) p[i] = 0.5 * static_cast<double>(i);
  }
  SumArray(const SumArray&) = delete;
  SumArray& operator=(const SumArray&) = delete;
  ~SumArray() { array_.shm().unlink(); }
  [[nodiscard]] const NpyArray& get() const { return array_; }
  [[nodiscard]] double* raw() const {
    return reinterpret_cast<double*>(array_.shm().buf().data() + array_.header().data_offset);
  }

 private:
  NpyArray array_;
};

void sum_raw(benchmark::State& state) {
  const std::size_t n = array_elements();
  const SumArray a(n);
  for (auto _ : state) {
    const double* p = a.raw();
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += p[i];
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

void sum_view(benchmark::State& state) {
  const std::size_t n = array_elements();
  const SumArray a(n);
  for (auto _ : state) {
    double s = 0;
    for (const double x : a.get().cview().as<double>()) s += x;
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

void sum_view_strided(benchmark::State& state) {
  const std::size_t n = array_elements() / 1000 * 1000;
  const SumArray a(n, Order::F, 1000);
  for (auto _ : state) {
    double s = 0;
    for (const double x : a.get().cview().as<double>()) s += x;
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

}  // namespace

void register_array_benchmarks() {
  benchmark::RegisterBenchmark("array.sum.f8/raw", sum_raw)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("array.sum.f8/view", sum_view)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("array.sum.f8/view_strided", sum_view_strided)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace shm::bench
