// Array views: summing a 100-million-element `<f8` array that lives in an .npy block
// (shm::NpyArray), through the typed view's iteration against a raw loop over double*. The goal
// is a view within 1.1x of the raw loop. LIBSHM_BENCH_ARRAY_ELEMENTS overrides the size;
// LIBSHM_BENCH_ARRAY_BLOCK names a block numpy made (ci/bench, bench_numpy.py), which the raw
// and view sums attach instead of making their own, so that numpy's sum() of the same block is
// the third column.
//
// Names are "array.sum.f8/<implementation>": raw (a for loop over the block's double*), view
// (range-for over NpyArray::cview().as<double>()), view_strided (the same elements as a 2-D
// Fortran-order view, iterated in C order: strided access, for scale).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <stdexcept>
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

// The block numpy made for the 1-D sums, or "".
std::string numpy_block() {
  const char* name = std::getenv("LIBSHM_BENCH_ARRAY_BLOCK");
  return name != nullptr ? name : "";
}

// An NpyArray of n doubles (0, 0.5, 1, ...): made untracked and unlinked when the benchmark
// ends, or numpy's block attached (its maker unlinks it).
class SumArray {
 public:
  explicit SumArray(std::size_t n, Order order = Order::C, std::size_t rows = 1)
      : array_(NpyArray::create(
            Dtype::parse("<f8"),
            rows == 1 ? std::vector<std::size_t>{n} : std::vector<std::size_t>{rows, n / rows},
            {.order = order, .name = fresh_name(), .block = {.track = false}})),
        owned_(true) {
    double* p = raw();
    for (std::size_t i = 0; i < n; ++i) p[i] = 0.5 * static_cast<double>(i);
  }
  explicit SumArray(const std::string& numpy_name)
      : array_(NpyArray::attach(numpy_name, {.track = false})), owned_(false) {
    if (array_.header().dtype.str() != "<f8" || array_.header().shape.size() != 1) {
      throw std::invalid_argument(numpy_name + " is not a 1-D <f8 array");
    }
  }
  SumArray(const SumArray&) = delete;
  SumArray& operator=(const SumArray&) = delete;
  ~SumArray() {
    if (owned_) array_.shm().unlink();
  }
  [[nodiscard]] const NpyArray& get() const { return array_; }
  [[nodiscard]] std::size_t size() const { return array_.header().shape.at(0); }
  [[nodiscard]] double* raw() const {
    return reinterpret_cast<double*>(array_.shm().buf().data() + array_.header().data_offset);
  }

 private:
  NpyArray array_;
  bool owned_;  // made here, so unlinked here
};

// The 1-D array both sums read: numpy's block when there is one.
SumArray one_dimensional() {
  const std::string name = numpy_block();
  return name.empty() ? SumArray(array_elements()) : SumArray(name);
}

void sum_raw(benchmark::State& state) {
  const SumArray a = one_dimensional();
  const std::size_t n = a.size();
  for (auto _ : state) {
    const double* p = a.raw();
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += p[i];
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

void sum_view(benchmark::State& state) {
  const SumArray a = one_dimensional();
  const std::size_t n = a.size();
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
