// shm::ShareableList benchmarks: get and set per item type, format(), count(), iteration,
// create + unlink, attach + close, and how create, attach and iteration scale with N.
//
// Names are "<operation>/libshm"; the operation keys are the ones bench_py.py uses for the
// same operation in Python, so the report can put them side by side.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "bench_support.hpp"
#include "benches.hpp"
#include "libshm/shareable_list.hpp"

namespace shm::bench {
namespace {

// Per-item get/set use item kItemIndex of a list of kItemsPerList equal items: a position in
// the middle, so a layout whose lookup costs O(index) (CPython 3.8's) pays for it, as in use.
constexpr std::size_t kItemsPerList = 100;
constexpr std::ptrdiff_t kItemIndex = 50;
// format(), count() and iteration run over this many mixed items.
constexpr std::size_t kListOpItems = 1000;

// A list for a benchmark, unlinked when the benchmark ends.
class ScopedList {
 public:
  explicit ScopedList(const std::vector<Item>& items)
      : list_(ShareableList::create(items, {.name = fresh_name()})) {}
  ScopedList(const ScopedList&) = delete;
  ScopedList& operator=(const ScopedList&) = delete;
  ~ScopedList() { list_.shm().unlink(); }
  ShareableList& get() { return list_; }

 private:
  ShareableList list_;  // the list, tracked, removed at scope exit
};

void get_item(benchmark::State& state, const Item& value) {
  ScopedList list(std::vector<Item>(kItemsPerList, value));
  const ShareableList& l = list.get();
  for (auto _ : state) {
    Item item = l.get(kItemIndex);
    benchmark::DoNotOptimize(item);
  }
  state.SetItemsProcessed(state.iterations());
}

void set_item(benchmark::State& state, const Item& value) {
  ScopedList list(std::vector<Item>(kItemsPerList, value));
  ShareableList& l = list.get();
  for (auto _ : state) {
    l.set(kItemIndex, value);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void list_format(benchmark::State& state) {
  ScopedList list(mixed_items(kListOpItems));
  for (auto _ : state) {
    std::string format = list.get().format();
    benchmark::DoNotOptimize(format);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kListOpItems));
}

void list_count(benchmark::State& state) {
  ScopedList list(mixed_items(kListOpItems));
  const Item zero(std::int64_t{0});
  for (auto _ : state) {
    std::size_t n = list.get().count(zero);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kListOpItems));
}

void iterate(benchmark::State& state, const std::vector<Item>& items) {
  ScopedList list(items);
  for (auto _ : state) {
    for (const Item& item : list.get()) benchmark::DoNotOptimize(item);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(items.size()));
}

void create_unlink(benchmark::State& state, const std::vector<Item>& items) {
  for (auto _ : state) {
    ShareableList list = ShareableList::create(items, {.name = fresh_name()});
    list.shm().unlink();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(items.size()));
}

void attach_close(benchmark::State& state, const std::vector<Item>& items) {
  ScopedList list(items);
  const std::string name = list.get().name();
  for (auto _ : state) {
    ShareableList attached = ShareableList::attach(name);
    benchmark::DoNotOptimize(attached);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(items.size()));
}

std::vector<Item> int_items(std::size_t n) {
  std::vector<Item> items;
  items.reserve(n);
  for (std::size_t i = 0; i < n; ++i) items.emplace_back(static_cast<std::int64_t>(i));
  return items;
}

// --- Typed and zero-copy reads (ShareableList::get_as, get_view, read_into) against get()
// and against the cheapest possible read: one plain 8-byte load of the same slot.

void get_as_int(benchmark::State& state) {
  ScopedList list(std::vector<Item>(kItemsPerList, Item(std::int64_t{1234567})));
  const ShareableList& l = list.get();
  for (auto _ : state) {
    std::int64_t x = l.get_as<std::int64_t>(kItemIndex);
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(state.iterations());
}

void get_as_float(benchmark::State& state) {
  ScopedList list(std::vector<Item>(kItemsPerList, Item(2.5)));
  const ShareableList& l = list.get();
  for (auto _ : state) {
    double x = l.get_as<double>(kItemIndex);
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(state.iterations());
}

void get_view_item(benchmark::State& state, const Item& value) {
  ScopedList list(std::vector<Item>(kItemsPerList, value));
  const ShareableList& l = list.get();
  for (auto _ : state) {
    std::string_view v = l.get_view(kItemIndex);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}

// The reference: item kItemIndex's slot read as one plain 8-byte load (what a reader that
// trusted the block and knew the offset would do; no index, format or type code check).
void plain_load(benchmark::State& state) {
  ScopedList list(std::vector<Item>(kItemsPerList, Item(std::int64_t{1234567})));
  const std::byte* block = list.get().shm().buf().data();
  const std::size_t at = ShareableList::validate(list.get().shm().buf()).data + 8 * kItemIndex;
  for (auto _ : state) {
    const std::byte* p = block + at;
    benchmark::DoNotOptimize(p);  // the load cannot be hoisted out of the loop
    std::int64_t x;
    std::memcpy(&x, p, sizeof x);
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(state.iterations());
}

// A sequential typed scan: every item of a list of kListOpItems ints read with get_as and
// summed, as a reader walking a whole list does. Time per item is the benchmark's time / 1000.
void get_as_scan(benchmark::State& state) {
  ScopedList list(int_items(kListOpItems));
  const ShareableList& l = list.get();
  for (auto _ : state) {
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < kListOpItems; ++i) {
      sum += l.get_as<std::int64_t>(static_cast<std::ptrdiff_t>(i));
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kListOpItems));
}

// get_as.scan's reference: the same slots summed through volatile 8-byte loads, so that each
// is really loaded (no vectorising the sum) but nothing is checked.
void plain_load_scan(benchmark::State& state) {
  ScopedList list(int_items(kListOpItems));
  const std::byte* block = list.get().shm().buf().data();
  const std::size_t at = ShareableList::validate(list.get().shm().buf()).data;
  const auto* slots = reinterpret_cast<const volatile std::int64_t*>(block + at);
  for (auto _ : state) {
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < kListOpItems; ++i) sum += slots[i];
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kListOpItems));
}

void read_into_ints(benchmark::State& state) {
  const std::vector<Item> items = int_items(kListOpItems);
  ScopedList list(items);
  std::vector<std::int64_t> out(items.size());
  for (auto _ : state) {
    list.get().read_into(0, std::span(out));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kListOpItems));
}

}  // namespace

void register_list_benchmarks(bool with_scaling) {
  for (const TypeCase& c : type_cases()) {
    const Item* value = &c.value;
    benchmark::RegisterBenchmark((std::string("get.") + c.key + "/libshm").c_str(),
                                 [value](benchmark::State& s) { get_item(s, *value); });
  }
  for (const TypeCase& c : type_cases()) {
    const Item* value = &c.value;
    benchmark::RegisterBenchmark((std::string("set.") + c.key + "/libshm").c_str(),
                                 [value](benchmark::State& s) { set_item(s, *value); });
  }
  benchmark::RegisterBenchmark("list.format/libshm", list_format);
  benchmark::RegisterBenchmark("list.count/libshm", list_count);
  benchmark::RegisterBenchmark("list.iterate/libshm",
                               [](benchmark::State& s) { iterate(s, mixed_items(kListOpItems)); });
  benchmark::RegisterBenchmark("get_as.int/libshm", get_as_int);
  benchmark::RegisterBenchmark("get_as.float/libshm", get_as_float);
  benchmark::RegisterBenchmark("load.int/raw", plain_load);
  benchmark::RegisterBenchmark("get_as.scan/libshm", get_as_scan);
  benchmark::RegisterBenchmark("load.scan/raw", plain_load_scan);
  for (const TypeCase& c : type_cases()) {
    if (!std::holds_alternative<std::string>(c.value) && !std::holds_alternative<Bytes>(c.value)) {
      continue;
    }
    const Item* value = &c.value;
    benchmark::RegisterBenchmark((std::string("get_view.") + c.key + "/libshm").c_str(),
                                 [value](benchmark::State& s) { get_view_item(s, *value); });
  }
  benchmark::RegisterBenchmark("read_into.int.1000/libshm", read_into_ints);
  for (std::size_t n : {std::size_t{1}, std::size_t{100}, std::size_t{10'000}}) {
    const std::string suffix = std::to_string(n) + "/libshm";
    benchmark::RegisterBenchmark(("list.create." + suffix).c_str(),
                                 [n](benchmark::State& s) { create_unlink(s, mixed_items(n)); });
    benchmark::RegisterBenchmark(("list.attach." + suffix).c_str(),
                                 [n](benchmark::State& s) { attach_close(s, mixed_items(n)); });
  }
  if (!with_scaling) return;
  for (std::size_t n = 1; n <= 1'000'000; n *= 10) {
    const std::string suffix = std::to_string(n) + "/libshm";
    benchmark::RegisterBenchmark(("scale.create." + suffix).c_str(),
                                 [n](benchmark::State& s) { create_unlink(s, int_items(n)); });
    benchmark::RegisterBenchmark(("scale.attach." + suffix).c_str(),
                                 [n](benchmark::State& s) { attach_close(s, int_items(n)); });
    benchmark::RegisterBenchmark(("scale.iterate." + suffix).c_str(),
                                 [n](benchmark::State& s) { iterate(s, int_items(n)); });
  }
}

}  // namespace shm::bench
