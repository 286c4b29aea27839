#include "bench_support.hpp"

#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <libshm/hex.hpp>
#include <span>

namespace shm::bench {

namespace {

std::string make_prefix() {
  if (const char* env = std::getenv("LIBSHM_BENCH_PREFIX"); env != nullptr && *env != '\0') {
    return env;
  }
  unsigned char bytes[3] = {};
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    const auto pid = static_cast<unsigned>(getpid());
    bytes[0] = static_cast<unsigned char>(pid);
    bytes[1] = static_cast<unsigned char>(pid >> 8);
    bytes[2] = static_cast<unsigned char>(pid >> 16);
  }
  return "lsb" + to_hex(std::as_bytes(std::span(bytes)));
}

const std::string& prefix() {
  static const std::string p = make_prefix();
  return p;
}

}  // namespace

std::string fresh_name() {
  static std::uint64_t counter = 0;
  return prefix() + "_c" + std::to_string(counter++);
}

const std::vector<TypeCase>& type_cases() {
  static const std::vector<TypeCase> cases = {
      {"int", Item(std::int64_t{1234567})},
      {"float", Item(2.5)},
      {"bool", Item(true)},
      {"none", Item(None{})},
      {"str_short", Item(std::string("abc"))},
      {"str_long", Item(std::string(1000, 'x'))},
      {"bytes_short", Item(Bytes{"abc"})},
      {"bytes_long", Item(Bytes{std::string(1000, 'y')})},
  };
  return cases;
}

Item mixed_item(std::size_t i) {
  switch (i % 6) {
    case 0:
      return Item(static_cast<std::int64_t>(i));
    case 1:
      return Item(static_cast<double>(i) + 0.5);
    case 2:
      return Item(i % 4 == 0);
    case 3:
      return Item(None{});
    case 4:
      return Item(std::string("abc"));
    default:
      return Item(Bytes{"abc"});
  }
}

std::vector<Item> mixed_items(std::size_t n) {
  std::vector<Item> items;
  items.reserve(n);
  for (std::size_t i = 0; i < n; ++i) items.push_back(mixed_item(i));
  return items;
}

std::size_t page_size() noexcept {
  static const auto size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

void touch_write(std::byte* p, std::size_t size) noexcept {
  volatile std::byte* v = p;
  for (std::size_t at = 0; at < size; at += page_size()) v[at] = std::byte{1};
}

unsigned touch_read(const std::byte* p, std::size_t size) noexcept {
  const volatile std::byte* v = p;
  unsigned sum = 0;
  for (std::size_t at = 0; at < size; at += page_size()) sum += static_cast<unsigned>(v[at]);
  return sum;
}

std::size_t remove_leftovers() {
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix() + "_", 0) != 0) continue;
    if (shm_unlink(("/" + name).c_str()) == 0) ++removed;
  }
  return removed;
}

}  // namespace shm::bench
