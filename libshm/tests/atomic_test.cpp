// shm::AtomicInt64 (libshm/atomic.hpp): values, the checks of where one may be made, and the
// cross-process promises: forked processes' fetch_adds add up exactly, and the stdlib's
// ShareableList of every CPython here reads a valid int from the slot while C++ updates it.
#include "libshm/atomic.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "libshm/error.hpp"
#include "libshm/shareable_list.hpp"
#include "libshm/shared_memory.hpp"
#include "test_support.hpp"

namespace shm {
namespace {

using ::testing::HasSubstr;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

// The code of the shm::Error `f` throws, or nullopt if it throws nothing (or no shm::Error).
template <class F>
std::optional<Errc> code_of(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const std::exception& e) {
    if (message != nullptr) *message = e.what();
    if (const Error* error = error_of(e)) return error->code();
  }
  return std::nullopt;
}

SharedMemory make_block(test::BlockCleanup& cleanup, std::size_t size) {
  return SharedMemory::create(size, cleanup.fresh(), {.track = false});
}

TEST(AtomicInt64, OperationsOnABlock) {
  test::BlockCleanup cleanup;
  SharedMemory block = make_block(cleanup, 64);
  const AtomicInt64 a = atomic_int64(block, 16);
  EXPECT_EQ(a.offset(), 16U);
  EXPECT_EQ(a.load(), 0);
  a.store(41);
  EXPECT_EQ(a.fetch_add(1), 41);
  EXPECT_EQ(a.fetch_add(-50), 42);
  EXPECT_EQ(a.load(), -8);
  EXPECT_EQ(a.exchange(100), -8);
  std::int64_t expected = 7;
  EXPECT_FALSE(a.compare_exchange(expected, 1));
  EXPECT_EQ(expected, 100);  // the value found
  EXPECT_EQ(a.load(), 100);
  EXPECT_TRUE(a.compare_exchange(expected, 1));
  EXPECT_EQ(a.load(), 1);
  // Native byte order, in the bytes at the offset, and nowhere else.
  std::int64_t raw = 0;
  std::memcpy(&raw, block.buf().data() + 16, 8);
  EXPECT_EQ(raw, 1);
  for (std::size_t i = 0; i < 64; ++i) {
    if (i < 16 || i >= 24) {
      EXPECT_EQ(block.buf()[i], std::byte{0}) << i;
    }
  }
  // Another handle on the same bytes, through another mapping, sees the same integer.
  SharedMemory other = SharedMemory::attach(block.name());
  EXPECT_EQ(atomic_int64(other, 16).fetch_add(2), 1);
  EXPECT_EQ(a.load(), 3);
}

TEST(AtomicInt64, FetchAddWrapsAsTwosComplement) {
  test::BlockCleanup cleanup;
  SharedMemory block = make_block(cleanup, 8);
  const AtomicInt64 a = atomic_int64(block, 0);
  a.store(kMax);
  EXPECT_EQ(a.fetch_add(1), kMax);
  EXPECT_EQ(a.load(), kMin);
  EXPECT_EQ(a.fetch_add(-1), kMin);
  EXPECT_EQ(a.load(), kMax);
}

TEST(AtomicInt64, OffsetsMustBeAlignedAndInside) {
  test::BlockCleanup cleanup;
  SharedMemory block = make_block(cleanup, 4096);
  std::string message;
  EXPECT_EQ(code_of([&] { (void)atomic_int64(block, 12); }, &message), Errc::invalid_argument);
  EXPECT_EQ(message, "offset 12 is not 8-byte aligned");
  EXPECT_EQ(code_of([&] { (void)atomic_int64(block, 4090); }, &message), Errc::invalid_argument);
  EXPECT_EQ(message, "offset 4090 + 8 exceeds the block's 4096 bytes");
  for (const std::size_t bad :
       {std::size_t{4096}, std::size_t{4104}, std::numeric_limits<std::size_t>::max() - 3,
        std::numeric_limits<std::size_t>::max()}) {
    EXPECT_EQ(code_of([&] { (void)atomic_int64(block, bad); }), Errc::invalid_argument) << bad;
  }
  atomic_int64(block, 4088).store(-1);  // the last word
  EXPECT_EQ(block.buf()[4095], std::byte{0xff});
  // A block too small for any int64.
  SharedMemory tiny = make_block(cleanup, 4);
  EXPECT_EQ(code_of([&] { (void)atomic_int64(tiny, 0); }, &message), Errc::invalid_argument);
  EXPECT_EQ(message, "offset 0 + 8 exceeds the block's 4 bytes");
}

TEST(AtomicInt64, ClosedAndReadOnlyBlocks) {
  test::BlockCleanup cleanup;
  SharedMemory block = make_block(cleanup, 16);
  atomic_int64(block, 8).store(5);
  SharedMemory reader = SharedMemory::attach(block.name(), {.read_only = true});
  const AtomicInt64 r = atomic_int64(reader, 8);
  EXPECT_EQ(r.load(), 5);
  std::int64_t expected = 5;
  EXPECT_EQ(code_of([&] { r.store(1); }), Errc::read_only);
  EXPECT_EQ(code_of([&] { (void)r.exchange(1); }), Errc::read_only);
  EXPECT_EQ(code_of([&] { (void)r.compare_exchange(expected, 1); }), Errc::read_only);
  EXPECT_EQ(code_of([&] { (void)r.fetch_add(1); }), Errc::read_only);
  EXPECT_EQ(expected, 5);
  EXPECT_EQ(r.load(), 5);  // nothing written
  block.close();
  EXPECT_EQ(code_of([&] { (void)atomic_int64(block, 8); }), Errc::closed);
  SharedMemory moved = std::move(reader);
  EXPECT_EQ(code_of([&] { (void)atomic_int64(reader, 8); }), Errc::closed);  // moved from
}

class AtomicListTest : public ::testing::TestWithParam<Layout> {
 protected:
  ShareableList make(std::initializer_list<Item> items) {
    return ShareableList::create(items,
                                 {.name = cleanup_.fresh(), .layout = GetParam(), .track = false});
  }
  test::BlockCleanup cleanup_;
};

TEST_P(AtomicListTest, IntItemsAreAtomicInPlace) {
  auto list = make({std::string("abcdefghij"), std::int64_t{5}, 2.5, std::int64_t{-3}});
  const std::string format = list.format();
  const AtomicInt64 a = list.atomic_int64(1);
  EXPECT_EQ(a.fetch_add(10), 5);
  EXPECT_EQ(list.get_as<std::int64_t>(1), 15);
  const AtomicInt64 last = list.atomic_int64(-1);  // negative indices as the list's own
  EXPECT_EQ(last.offset(), list.atomic_int64(3).offset());
  EXPECT_EQ(last.exchange(kMin), -3);
  EXPECT_EQ(list.get(3), Item{kMin});
  EXPECT_EQ(list.format(), format);  // formats and codes untouched
  EXPECT_EQ(list.get(0), Item{std::string("abcdefghij")});
  EXPECT_EQ(list.get(2), Item{2.5});
  // The handle points at the slot itself: a set() of another int is seen, and the reverse.
  list.set(1, std::int64_t{100});
  EXPECT_EQ(a.load(), 100);
  auto attached = ShareableList::attach(list.name());
  EXPECT_EQ(attached.atomic_int64(1).fetch_add(1), 100);
  EXPECT_EQ(list.get_as<std::int64_t>(1), 101);
}

TEST_P(AtomicListTest, OtherTypesBadIndicesAndClosedListsThrow) {
  auto list = make({std::string("s"), 2.5, true, None{}, Bytes{"b"}, std::int64_t{1}});
  std::string message;
  EXPECT_EQ(code_of([&] { (void)list.atomic_int64(0); }, &message), Errc::wrong_type);
  EXPECT_EQ(message, "item 0 is a str, not an int");
  EXPECT_EQ(code_of([&] { (void)list.atomic_int64(1); }, &message), Errc::wrong_type);
  EXPECT_EQ(message, "item 1 is a float, not an int");
  EXPECT_EQ(code_of([&] { (void)list.atomic_int64(2); }, &message), Errc::wrong_type);
  EXPECT_EQ(message, "item 2 is a bool, not an int");
  EXPECT_EQ(code_of([&] { (void)list.atomic_int64(-3); }, &message), Errc::wrong_type);
  EXPECT_EQ(message, "item 3 is None, not an int");
  EXPECT_EQ(code_of([&] { (void)list.atomic_int64(4); }), Errc::wrong_type);
  for (const std::ptrdiff_t bad :
       {std::ptrdiff_t{6}, std::ptrdiff_t{-7}, std::numeric_limits<std::ptrdiff_t>::min()}) {
    EXPECT_EQ(code_of([&] { (void)list.atomic_int64(bad); }), Errc::index) << bad;
  }
  // A slot whose format string CPython never writes is a damaged list.
  const ListRegions r = ShareableList::validate(list.shm().buf());
  std::memcpy(list.shm().buf().data() + r.formats + 8 * 5, "zz\0\0\0\0\0\0", 8);
  EXPECT_EQ(code_of([&] { (void)list.atomic_int64(5); }), Errc::corrupt_block);
  list.shm().close();
  EXPECT_EQ(code_of([&] { (void)list.atomic_int64(5); }), Errc::closed);
}

TEST_P(AtomicListTest, ReadOnlyListLoadsOnly) {
  auto list = make({std::int64_t{9}});
  auto reader = ShareableList::attach(list.name(), {.read_only = true});
  const AtomicInt64 a = reader.atomic_int64(0);
  EXPECT_EQ(a.load(), 9);
  EXPECT_EQ(code_of([&] { (void)a.fetch_add(1); }), Errc::read_only);
  EXPECT_EQ(list.get(0), Item{std::int64_t{9}});
}

INSTANTIATE_TEST_SUITE_P(Layouts, AtomicListTest, ::testing::Values(Layout::v39, Layout::v38),
                         [](const auto& param_info) {
                           return param_info.param == Layout::v38 ? std::string("v38")
                                                                  : std::string("v39");
                         });

// Forked processes add concurrently to one block word and one list slot; nothing is lost.
TEST(AtomicInt64, ForkedProcessesLoseNoAddition) {
  constexpr int kProcesses = 4;
  constexpr std::int64_t kAdds = 200'000;
  test::BlockCleanup cleanup;
  SharedMemory block = make_block(cleanup, 64);
  auto list = ShareableList::create({std::string("x"), std::int64_t{0}},
                                    {.name = cleanup.fresh(), .track = false});
  const AtomicInt64 word = atomic_int64(block, 40);
  const AtomicInt64 slot = list.atomic_int64(1);
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Each child attaches the list again (its own mapping), as an unrelated process would.
      auto mine = ShareableList::attach(list.name());
      const AtomicInt64 own = mine.atomic_int64(1);
      for (std::int64_t i = 0; i < kAdds; ++i) {
        (void)word.fetch_add(1);
        (void)own.fetch_add(p % 2 == 0 ? 3 : -1);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  EXPECT_EQ(word.load(), kProcesses * kAdds);
  EXPECT_EQ(slot.load(), (kProcesses / 2) * kAdds * 3 - (kProcesses / 2) * kAdds);
  EXPECT_EQ(list.format(), "8sq");
}

// The stdlib reader: attaches the list, says it is ready (item 1 := 1), then reads item 0 until
// C++ says it is done (item 2 == 1), checking every read: an int, never below the one before,
// never past the total, the total once C++ is done. Prints how many reads it made and the final
// value.
constexpr const char* kStdlibReader = R"(if 1:
    import sys, time
    from multiprocessing import resource_tracker, shared_memory
    name, total = sys.argv[1], int(sys.argv[2])
    sl = shared_memory.ShareableList(name=name)
    resource_tracker.unregister(sl.shm._name, "shared_memory")  # the test's block, not ours
    sl[1] = 1
    reads, last, deadline = 0, 0, time.monotonic() + 60
    while True:
        done = sl[2] == 1
        v = sl[0]
        reads += 1
        if type(v) is not int or not last <= v <= total or (done and v != total):
            print("bad read", repr(v), "after", last)
            sys.exit(1)
        last = v
        if done or time.monotonic() > deadline:
            break
    print("reads", reads, "final", sl[0], "format", sl.format)
    sl.shm.close()
)";

TEST(AtomicInt64, StdlibShareableListReadsTheSlotWhileCppAdds) {
  const std::vector<test::CPython> pythons = test::cpythons();
  if (pythons.empty()) GTEST_SKIP() << "no CPython found";
  constexpr std::int64_t kAdds = 1'000'000;
  for (const test::CPython& python : pythons) {
    SCOPED_TRACE("CPython " + python.version);
    test::BlockCleanup cleanup;
    const Layout layout = python.version.starts_with("3.8.") ? Layout::v38 : Layout::v39;
    auto list = ShareableList::create({std::int64_t{0}, std::int64_t{0}, std::int64_t{0}},
                                      {.name = cleanup.fresh(), .layout = layout, .track = false});
    const AtomicInt64 counter = list.atomic_int64(0);
    const AtomicInt64 ready = list.atomic_int64(1);
    const AtomicInt64 done = list.atomic_int64(2);
    std::thread writer([&] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (ready.load() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      for (std::int64_t i = 0; i < kAdds; ++i) (void)counter.fetch_add(1);
      done.store(1);
    });
    const auto r = test::run_child(
        {python.executable, "-c", kStdlibReader, list.name(), std::to_string(kAdds)},
        std::chrono::seconds(90));
    writer.join();
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("final " + std::to_string(kAdds) + " format qqq\n"));
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(counter.load(), kAdds);
  }
}

}  // namespace
}  // namespace shm
