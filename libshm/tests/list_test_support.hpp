// Helpers for the ShareableList tests: exact item comparison, gtest printing, raw blocks.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "libshm/hex.hpp"
#include "libshm/item.hpp"
#include "libshm/item_json.hpp"
#include "libshm/shared_memory.hpp"

namespace shm {

/// gtest prints Items as Python would.
inline void PrintTo(const Item& item, std::ostream* os) {
  *os << python_repr(item);
}

namespace test {

/// Identity rather than Python's ==: same type and same value, NaN equal to NaN, -0.0 not
/// equal to 0.0, True not equal to 1 (Item JSON is exactly that identity).
inline ::testing::AssertionResult SameItem(const Item& actual, const Item& expected) {
  if (to_json(actual) == to_json(expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got " << python_repr(actual) << " (" << type_name(actual) << "), expected "
         << python_repr(expected) << " (" << type_name(expected) << ")";
}

/// The value CPython reads back for `item`: str and bytes lose their trailing NULs.
inline Item stripped(Item item) {
  if (auto* s = std::get_if<std::string>(&item)) s->erase(s->find_last_not_of('\0') + 1);
  if (auto* b = std::get_if<Bytes>(&item)) b->data.erase(b->data.find_last_not_of('\0') + 1);
  return item;
}

/// A block's bytes as a std::string (easy to compare and print).
inline std::string block_bytes(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// Lowercase hex of a byte string.
inline std::string hex(std::string_view data) {
  return to_hex(data);
}

/// Bytes from hex, as a byte string.
inline std::string unhex(std::string_view text) {
  const std::vector<std::byte> bytes = from_hex(text);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// A new untracked block named `name` holding exactly `bytes` (a list made elsewhere).
inline SharedMemory make_block(const std::string& name, std::string_view bytes) {
  auto block = SharedMemory::create(bytes.empty() ? 1 : bytes.size(), name, {.track = false});
  std::memcpy(block.buf().data(), bytes.data(), bytes.size());
  return block;
}

// True if CPython stores the str cut short: its UTF-8 is longer than the slot it sizes by
// code points. These are exactly the items where libshm's policy differs.
inline bool cpython_truncates(const Item& item) {
  const auto* s = std::get_if<std::string>(&item);
  if (s == nullptr) return false;
  std::size_t points = 0;
  for (unsigned char c : *s) points += (c & 0xC0) != 0x80 ? 1 : 0;
  return s->size() > 8 * (points / 8 + 1);
}

}  // namespace test
}  // namespace shm
