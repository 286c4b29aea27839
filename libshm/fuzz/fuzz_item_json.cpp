// Fuzz target: any text as Item JSON. Parsing must succeed or throw std::invalid_argument;
// whatever parses must print and parse back to an equal value.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "libshm/item_json.hpp"

namespace {

bool same(const shm::Item& a, const shm::Item& b) {
  // NaN != NaN under Python's ==, so compare NaNs by kind.
  if (const auto* x = std::get_if<double>(&a)) {
    if (const auto* y = std::get_if<double>(&b); y != nullptr && *x != *x && *y != *y) return true;
  }
  return a.index() == b.index() && shm::python_equal(a, b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto items = shm::items_from_json(text);
    const auto back = shm::items_from_json(shm::to_json(items));
    if (back.size() != items.size()) std::abort();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!same(items[i], back[i])) std::abort();
    }
  } catch (const std::invalid_argument&) {
  }
  try {
    const auto item = shm::item_from_json(text);
    if (!same(shm::item_from_json(shm::to_json(item)), item)) std::abort();
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
