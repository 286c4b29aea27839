// Helpers shared by libshm's benchmarks: block names unique to this run, the item values the
// Python side uses too, and cleanup of anything a benchmark leaves behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "libshm/item.hpp"

namespace shm::bench {

/// A block name not used before in this run: the run's prefix (LIBSHM_BENCH_PREFIX, or
/// "lsb" + 6 random hex digits) + "_c" + a counter. Short, as CPython's own names are.
std::string fresh_name();

/// "/" + name: the name shm_open() takes.
inline std::string os_name(const std::string& name) {
  return "/" + name;
}

/// The item types benchmarked one by one, in report order: int, float, bool, None, a short
/// str ("abc", an 8-byte slot), a long str (1000 ASCII characters), a short and a long bytes.
struct TypeCase {
  const char* key;  // the report's name for it: "int", "str_long", ...
  Item value;       // the value stored (and set again) in every item
};
const std::vector<TypeCase>& type_cases();

/// Item i of the mixed lists used for format, count, iteration and create: int, float, bool,
/// None, short str and short bytes in turn (the Python script builds the same list).
Item mixed_item(std::size_t i);
/// Items 0 … n-1 of the mixed list.
std::vector<Item> mixed_items(std::size_t n);

/// Bytes per page, for touching every page of a block.
std::size_t page_size() noexcept;

/// Writes one byte in every page of [p, p + size).
void touch_write(std::byte* p, std::size_t size) noexcept;
/// Reads one byte in every page of [p, p + size); returns their sum so the reads stay.
unsigned touch_read(const std::byte* p, std::size_t size) noexcept;

/// Unlinks every block in /dev/shm whose name starts with this run's prefix; returns how many
/// there were (0 when every benchmark cleaned up after itself).
std::size_t remove_leftovers();

}  // namespace shm::bench
