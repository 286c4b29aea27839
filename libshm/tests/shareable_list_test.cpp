// shm::ShareableList: the API, each behaviour of docs/format.md and docs/cpython-quirks.md,
// and lists shared with another process.
#include "libshm/shareable_list.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "list_test_support.hpp"
#include "test_support.hpp"

namespace shm {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string raw(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string repeat(std::string_view unit, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += unit;
  return out;
}

const std::string kE2 = "\xc3\xa9";          // é, 2 bytes of UTF-8
const std::string kE3 = "\xe2\x82\xac";      // €, 3 bytes
const std::string kE4 = "\xf0\x9f\x98\x80";  // 😀, 4 bytes

class ListTest : public ::testing::Test {
 protected:
  // A new untracked list with a fresh name that is removed after the test.
  ShareableList make(std::span<const Item> items, Layout layout = Layout::v39,
                     bool strict = false) {
    return ShareableList::create(
        items, {.name = cleanup_.fresh(), .layout = layout, .strict = strict, .track = false});
  }
  ShareableList make(std::initializer_list<Item> items, Layout layout = Layout::v39,
                     bool strict = false) {
    return make(std::span<const Item>(items.begin(), items.size()), layout, strict);
  }
  test::BlockCleanup cleanup_;
};

TEST_F(ListTest, CreatesAndReadsEveryType) {
  auto list = make({None{}, true, false, std::int64_t{-5}, 2.5, std::string("ab"), Bytes{"cd"}});
  EXPECT_EQ(list.size(), 7u);
  EXPECT_EQ(list.layout(), Layout::v39);
  const std::vector<Item> expected{
      None{}, true, false, std::int64_t{-5}, 2.5, std::string("ab"), Bytes{"cd"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(test::SameItem(list.get(static_cast<std::ptrdiff_t>(i)), expected[i]));
  }
  EXPECT_EQ(list.format(), "xxxxxx?xxxxxxxx?xxxxxxx?qd8s8s");
  // N + 8 offsets + 7 slots of 8 + 7 formats + 7 codes: the layout formula, nothing more.
  EXPECT_EQ(list.shm().size(), 8u + 8 * 8 + 7 * 8 + 7 * 8 + 7);
}

TEST_F(ListTest, ByteForByteTheReferenceDump) {
  // docs/format.md: ShareableList([1, 'ab', None]) in both layouts.
  const std::string v39 = test::unhex(
      "0300000000000000000000000000000008000000000000001000000000000000"
      "1800000000000000010000000000000061620000000000000000000000000000"
      "71000000000000003873000000000000787878787878"
      "3f78000103");
  const std::string v38 = test::unhex(
      "0300000000000000080000000000000008000000000000000800000000000000"
      "0100000000000000616200000000000000000000000000007100000000000000"
      "38730000000000007878787878783f78000103");
  auto a = make({std::int64_t{1}, std::string("ab"), None{}});
  auto b = make({std::int64_t{1}, std::string("ab"), None{}}, Layout::v38);
  EXPECT_EQ(test::hex(test::block_bytes(a.shm().buf())), test::hex(v39));
  EXPECT_EQ(test::hex(test::block_bytes(b.shm().buf())), test::hex(v38));
  EXPECT_EQ(b.layout(), Layout::v38);
  EXPECT_EQ(a.format(), "q8sxxxxxx?x");
  EXPECT_EQ(b.format(), "q8sxxxxxx?x");
}

TEST_F(ListTest, EmptyListIs16BytesOr8In38) {
  auto a = make({});
  auto b = make({}, Layout::v38);
  EXPECT_EQ(test::block_bytes(a.shm().buf()), std::string(16, '\0'));
  EXPECT_EQ(test::block_bytes(b.shm().buf()), std::string(8, '\0'));
  EXPECT_EQ(a.format(), "");
  EXPECT_EQ(ShareableList::attach(a.name()).layout(), Layout::v39);
  EXPECT_EQ(ShareableList::attach(b.name()).layout(), Layout::v38);
  EXPECT_THROW((void)a.get(0), std::out_of_range);
  EXPECT_THROW((void)a.get(-1),
               std::out_of_range);  // CPython: ValueError (empty-neg-index-value-error)
}

TEST_F(ListTest, DefaultNameIsCPythonsAndTracked) {
  auto list = ShareableList::create({std::int64_t{1}});
  cleanup_.add(list.name());
  EXPECT_THAT(list.name(), ::testing::MatchesRegex("psm_[0-9a-f]{8}"));
  EXPECT_TRUE(list.shm().tracked());
  EXPECT_FALSE(ShareableList::attach(list.name()).shm().tracked());
  list.shm().unlink();
}

TEST_F(ListTest, NegativeIndicesCountFromTheEndAndStopAtMinusN) {
  auto list = make({std::int64_t{10}, std::string("x"), 3.5});
  EXPECT_TRUE(test::SameItem(list.get(-1), 3.5));
  EXPECT_TRUE(test::SameItem(list.get(-3), std::int64_t{10}));
  const std::string before = test::block_bytes(list.shm().buf());
  // CPython 3.9+ returns garbage for [-2N-1, -N-1] and writes into other items or the header.
  for (std::ptrdiff_t bad : {-4, -5, -7, -100, 3, 4, 1000}) {
    EXPECT_THROW((void)list.get(bad), std::out_of_range) << bad;
    EXPECT_THROW((void)list.get_raw(bad), std::out_of_range) << bad;
    EXPECT_THROW(list.set(bad, std::int64_t{99}), std::out_of_range) << bad;
  }
  EXPECT_EQ(test::block_bytes(list.shm().buf()), before) << "an out-of-range set wrote";
  list.set(-1, std::int64_t{7});
  EXPECT_TRUE(test::SameItem(list.get(2), std::int64_t{7}));
}

TEST_F(ListTest, TrailingNulsAreStrippedOnReadButKeptInTheSlot) {
  auto list = make({std::string("ab\0", 3), Bytes{std::string("a\0b\0\0", 5)},
                    Bytes{std::string("\0ab", 3)}, std::string("\0", 1)});
  EXPECT_TRUE(test::SameItem(list.get(0), std::string("ab")));
  EXPECT_TRUE(test::SameItem(list.get(1), Bytes{std::string("a\0b", 3)}));  // interior kept
  EXPECT_TRUE(test::SameItem(list.get(2), Bytes{std::string("\0ab", 3)}));  // leading kept
  EXPECT_TRUE(test::SameItem(list.get(3), std::string()));
  EXPECT_EQ(raw(list.get_raw(0)), std::string("ab\0\0\0\0\0\0", 8));  // the whole slot
  EXPECT_EQ(raw(list.get_raw(1)), std::string("a\0b\0\0\0\0\0", 8));
}

// Stripping looks at the slot a word at a time: every length and every position of the last
// non-NUL byte, across word boundaries, reads back as Python's rstrip('\0') would give it.
TEST_F(ListTest, TrailingNulsAreStrippedAtEveryPositionAcrossWords) {
  std::vector<Item> items;
  std::vector<std::string> expected;
  for (std::size_t length = 0; length <= 25; ++length) {
    for (std::size_t last = 0; last <= length; ++last) {  // bytes before the trailing NULs
      std::string value(length, '\0');
      for (std::size_t i = 0; i < last; ++i) value[i] = static_cast<char>(i % 2 == 0 ? 'a' : 0);
      if (last > 0) value[last - 1] = 'z';
      items.emplace_back(Bytes{value});
      expected.push_back(value.substr(0, last));
    }
  }
  auto list = make(items);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto index = static_cast<std::ptrdiff_t>(i);
    EXPECT_TRUE(test::SameItem(list.get(index), Bytes{expected[i]})) << "item " << i;
    EXPECT_EQ(list.get_view(index), expected[i]) << "item " << i;
  }
}

TEST_F(ListTest, StrictRefusesValuesThatCannotReadBackEqual) {
  const std::string name = cleanup_.fresh();
  EXPECT_THROW(ShareableList::create({std::string("ab\0", 3)},
                                     {.name = name, .strict = true, .track = false}),
               std::invalid_argument);
  EXPECT_FALSE(test::block_exists(name));
  auto list = make({std::string("abc"), Bytes{"xy"}}, Layout::v39, /*strict=*/true);
  const std::string before = test::block_bytes(list.shm().buf());
  EXPECT_THROW(list.set(0, std::string("q\0", 2)), std::invalid_argument);
  EXPECT_THROW(list.set(1, Bytes{std::string("\0", 1)}), std::invalid_argument);
  EXPECT_EQ(test::block_bytes(list.shm().buf()), before);
  list.set(0, std::string("\0q", 2));  // a leading NUL reads back fine
  // Not strict (CPython's behaviour): accepted, and read back stripped.
  auto lax = ShareableList::attach(list.name());
  lax.set(0, std::string("q\0", 2));
  EXPECT_TRUE(test::SameItem(lax.get(0), std::string("q")));
}

TEST_F(ListTest, BoolAndNoneHaveCPythonsFormatsAndBytes) {
  auto list = make({true, false, None{}});
  EXPECT_EQ(raw(list.get_raw(0)), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_EQ(raw(list.get_raw(1)), std::string(8, '\0'));
  EXPECT_EQ(raw(list.get_raw(2)), std::string(8, '\0'));
  list.set(2, std::int64_t{-1});
  list.set(2, None{});  // None packs as all zeros, whatever was there
  EXPECT_EQ(raw(list.get_raw(2)), std::string(8, '\0'));
  EXPECT_EQ(list.format(), "xxxxxxx?xxxxxxx?xxxxxx?x");
}

TEST_F(ListTest, TypeChangesThroughSetFollowCPythonsTable) {
  // docs/format.md, "The write order"
  auto list = make({std::int64_t{7}, std::string("abcdefghij"), 1.5});
  list.set(0, std::string("abcdefgh"));  // str into a scalar slot: "<allocation>s"
  EXPECT_EQ(list.format(), "8s16sd");
  EXPECT_THROW(list.set(0, std::string("abcdefghi")), std::invalid_argument);
  list.set(0, Bytes{"de"});  // bytes into a str slot: the format stays, the code changes
  EXPECT_TRUE(test::SameItem(list.get(0), Bytes{"de"}));
  list.set(1, std::int64_t{9});
  EXPECT_EQ(list.format(), "8sqd");
  // The scalar wrote 8 bytes; the rest of the 16-byte slot keeps its old bytes.
  EXPECT_EQ(raw(list.get_raw(1)).substr(8), std::string("ij\0\0\0\0\0\0", 8));
  list.set(1, std::string("zz"));  // back to the slot's full allocation
  EXPECT_EQ(list.format(), "8s16sd");
  EXPECT_EQ(raw(list.get_raw(1)), std::string("zz") + std::string(14, '\0'));
  list.set(2, true);
  list.set(2, None{});
  list.set(2, std::string("12345678"));  // fills the 8-byte slot exactly
  EXPECT_EQ(list.format(), "8s16s8s");
  EXPECT_TRUE(test::SameItem(list.get(2), std::string("12345678")));
}

TEST_F(ListTest, AFailedSetChangesNothing) {
  auto list = make({std::string("abc"), std::int64_t{5}});
  const std::string before = test::block_bytes(list.shm().buf());
  EXPECT_THROW(list.set(0, std::string("abcdefghi")), std::invalid_argument);  // too long
  EXPECT_THROW(list.set(0, std::string("\xff")), std::invalid_argument);       // not UTF-8
  EXPECT_THROW(list.set(1, std::string("abcdefghi")), std::invalid_argument);
  try {
    list.set(1, repeat(kE2, 5));  // 10 bytes of UTF-8 in 8: CPython's message
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), StartsWith("bytes/str item exceeds available storage"));
  }
  EXPECT_EQ(test::block_bytes(list.shm().buf()), before);
  EXPECT_TRUE(test::SameItem(list.get(0), std::string("abc")));
  EXPECT_TRUE(test::SameItem(list.get(1), std::int64_t{5}));
}

TEST_F(ListTest, NonAsciiStrSlotIsCPythonsWheneverTheUtf8Fits) {
  // CPython sizes by code points: identical slots whenever the UTF-8 fits in them.
  auto fits = make({repeat(kE2, 8), repeat(kE4, 2), std::string("a") + kE2 + "a" + kE2});
  EXPECT_EQ(fits.format(), "16s8s8s");
  // Otherwise CPython truncates (gh-88336); libshm sizes by UTF-8 bytes, 8·(len//8 + 1).
  const std::vector<std::string> texts{repeat(kE2, 7), repeat(kE3, 5), repeat(kE4, 3),
                                       repeat(kE2, 15)};
  auto grown = ShareableList::create(std::vector<Item>(texts.begin(), texts.end()),
                                     {.name = cleanup_.fresh(), .track = false});
  EXPECT_EQ(grown.format(), "16s16s16s32s");
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EXPECT_TRUE(test::SameItem(grown.get(static_cast<std::ptrdiff_t>(i)), texts[i]));
  }
  // docs/format.md's example is 199 bytes in CPython with "é"*9 cut to 16 bytes; whole, it is 207.
  auto design = make({std::int64_t{1}, 2.5, true, None{}, std::string("ab\0", 3),
                      Bytes{std::string("xy\0\0", 4)}, repeat(kE2, 9)});
  EXPECT_EQ(design.shm().size(), 207u);
  EXPECT_TRUE(test::SameItem(design.get(6), repeat(kE2, 9)));
}

TEST_F(ListTest, StrMustBeUtf8) {
  const std::string name = cleanup_.fresh();
  for (const char* bad : {"\xff", "\xc3", "\xed\xa0\x80" /* surrogate */, "\xc0\x80"}) {
    EXPECT_THROW(ShareableList::create({std::string(bad)}, {.name = name, .track = false}),
                 std::invalid_argument)
        << test::hex(bad);
  }
  EXPECT_FALSE(test::block_exists(name));
}

TEST_F(ListTest, TheTenMegabyteLimitIsAClearError) {
  const std::string name = cleanup_.fresh();
  try {
    (void)ShareableList::create({Bytes{std::string(9'999'992, 'x')}},
                                {.name = name, .track = false});
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("9,999,991"));
  }
  // A str within the limit in code points but not in UTF-8 bytes (CPython would cut it).
  EXPECT_THROW(ShareableList::create({repeat(kE2, 5'000'000)}, {.name = name, .track = false}),
               std::invalid_argument);
  EXPECT_FALSE(test::block_exists(name));
  auto biggest = make({Bytes{std::string(9'999'991, 'x')}, std::int64_t{7}});
  EXPECT_EQ(biggest.format(), "9999992sq");
  EXPECT_EQ(std::get<Bytes>(biggest.get(0)).data.size(), 9'999'991u);
}

TEST_F(ListTest, CreationFailureLeavesNoBlock) {
  const std::string name = cleanup_.fresh();
  EXPECT_THROW(ShareableList::create({std::int64_t{1}, std::string("ok"), std::string("\xff")},
                                     {.name = name, .track = false}),
               std::invalid_argument);
  EXPECT_FALSE(test::block_exists(name));
  // An existing block of that name is an error, and is left as it was.
  auto existing = make({std::int64_t{1}});
  EXPECT_THROW(ShareableList::create({std::int64_t{2}}, {.name = existing.name(), .track = false}),
               std::system_error);
  EXPECT_TRUE(test::SameItem(ShareableList::attach(existing.name()).get(0), std::int64_t{1}));
  EXPECT_THROW(ShareableList::create({std::int64_t{2}}, {.name = "bad/name"}),
               std::invalid_argument);
}

TEST_F(ListTest, CountAndIndexUsePythonEquality) {
  // count/index use Python's ==, as CPython's
  auto list = make({std::int64_t{1}, true, 1.0, std::int64_t{0}, false, 0.0, None{},
                    std::string("a"), Bytes{"a"}, std::nan("")});
  EXPECT_EQ(list.count(std::int64_t{1}), 3u);
  EXPECT_EQ(list.count(true), 3u);
  EXPECT_EQ(list.count(0.0), 3u);
  EXPECT_EQ(list.count(None{}), 1u);
  EXPECT_EQ(list.count(std::string("a")), 1u);
  EXPECT_EQ(list.count(Bytes{"a"}), 1u);
  EXPECT_EQ(list.count(std::nan("")), 0u);  // NaN equals nothing
  EXPECT_EQ(list.index(1.0), 0u);
  EXPECT_EQ(list.index(false), 3u);
  EXPECT_EQ(list.index(Bytes{"a"}), 8u);
  try {
    (void)list.index(std::string("zz"));
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "'zz' not in this container");
  }
}

TEST_F(ListTest, IterationItemsAndRepr) {
  auto list = make({std::int64_t{1}, std::string("a"), None{}, Bytes{"\x01"}, 0.5});
  std::vector<Item> seen;
  for (const Item& item : list) seen.push_back(item);
  const std::vector<Item> items = list.items();
  ASSERT_EQ(seen.size(), 5u);
  ASSERT_EQ(items.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_TRUE(test::SameItem(seen[i], items[i]));
  EXPECT_EQ(list.repr(),
            "ShareableList([1, 'a', None, b'\\x01', 0.5], name='" + list.name() + "')");
}

TEST_F(ListTest, ReadsSeeOtherWritersAtOnceTypeChangesIncluded) {
  auto writer = make({std::int64_t{1}, std::string("abcdefghij")});
  auto reader = ShareableList::attach(writer.name());  // a separate mapping
  writer.set(0, 2.5);
  EXPECT_TRUE(test::SameItem(reader.get(0), 2.5));
  writer.set(1, None{});
  EXPECT_TRUE(test::SameItem(reader.get(1), None{}));
  EXPECT_EQ(reader.format(), "dxxxxxx?x");
  writer.set(1, Bytes{"xyz"});
  EXPECT_TRUE(test::SameItem(reader.get(1), Bytes{"xyz"}));
  reader.set(0, std::string("back"));
  EXPECT_TRUE(test::SameItem(writer.get(0), std::string("back")));
}

TEST_F(ListTest, Layout38ReadsAndWritesLikeCPython38) {
  auto list = make({std::string("howdy"), std::int64_t{100}, None{}}, Layout::v38);
  auto other = ShareableList::attach(list.name());
  EXPECT_EQ(other.layout(), Layout::v38);
  list.set(2, std::string("1234567"));
  list.set(-3, 4.5);
  EXPECT_TRUE(test::SameItem(other.get(0), 4.5));
  EXPECT_TRUE(test::SameItem(other.get(-1), std::string("1234567")));
  EXPECT_EQ(other.format(), "dq8s");
}

TEST_F(ListTest, LayoutDetectionIncludingZeroAndOneItem) {
  for (Layout layout : {Layout::v38, Layout::v39}) {
    for (std::size_t n : {0u, 1u, 2u}) {
      std::vector<Item> items(n, Item(std::string(20, 'x')));
      auto list = ShareableList::create(
          items, {.name = cleanup_.fresh(), .layout = layout, .track = false});
      EXPECT_EQ(ShareableList::detect_layout(list.shm().buf()), layout) << n;
      EXPECT_EQ(ShareableList::attach(list.name()).layout(), layout) << n;
      EXPECT_NO_THROW(ShareableList::validate(list.shm().buf()));
    }
  }
  EXPECT_EQ(to_string(Layout::v38), "3.8");
  EXPECT_EQ(to_string(Layout::v39), "3.9+");
}

TEST_F(ListTest, AForcedLayoutIsUsedAsGiven) {
  auto list = make({std::int64_t{1}, std::int64_t{2}}, Layout::v38);
  EXPECT_EQ(ShareableList::attach(list.name(), {.layout = Layout::v38}).layout(), Layout::v38);
  // Read as 3.9+, a 3.8 block's first size (8) is not offset 0.
  try {
    (void)ShareableList::attach(list.name(), {.layout = Layout::v39});
    ADD_FAILURE();
  } catch (const LayoutError& e) {
    EXPECT_EQ(e.offset(), 8u);
    EXPECT_THAT(e.what(), HasSubstr("item 0's offset is 8, not 0"));
  }
}

TEST_F(ListTest, ReadOnlyAttachReadsButRefusesWrites) {
  auto list = make({std::int64_t{1}});
  auto reader = ShareableList::attach(list.name(), {.read_only = true});
  EXPECT_TRUE(test::SameItem(reader.get(0), std::int64_t{1}));
  EXPECT_THROW(reader.set(0, std::int64_t{2}), std::logic_error);
  EXPECT_TRUE(test::SameItem(list.get(0), std::int64_t{1}));
}

TEST_F(ListTest, StrictIsAnAttachOptionToo) {
  auto list = make({std::string("abc")});
  auto strict = ShareableList::attach(list.name(), {.strict = true});
  EXPECT_THROW(strict.set(0, std::string("a\0", 2)), std::invalid_argument);
}

TEST_F(ListTest, AClosedOrMovedFromListThrowsInsteadOfReading) {
  auto list = make({std::int64_t{1}});
  ShareableList moved = std::move(list);
  EXPECT_THROW((void)list.get(0), std::logic_error);  // NOLINT(bugprone-use-after-move)
  moved.shm().close();
  EXPECT_THROW((void)moved.get(0), std::logic_error);
  EXPECT_THROW((void)moved.format(), std::logic_error);
  EXPECT_THROW(moved.set(0, std::int64_t{2}), std::logic_error);
  SharedMemory closed = SharedMemory::attach(moved.name());
  closed.close();
  EXPECT_THROW(ShareableList::from_block(std::move(closed)), std::logic_error);
}

TEST_F(ListTest, FromBlockWrapsAnAttachedBlock) {
  auto list = make({std::string("x"), std::int64_t{2}});
  auto wrapped = ShareableList::from_block(SharedMemory::attach(list.name()));
  EXPECT_EQ(wrapped.name(), list.name());
  EXPECT_TRUE(test::SameItem(wrapped.get(1), std::int64_t{2}));
}

// Another process (shm_test_child list-set) writes; we see its values and types at once.
TEST_F(ListTest, AnotherProcessWritesAndReads) {
  auto list = make({std::int64_t{1}, std::string("from parent"), None{}});
  const auto result = test::run_child({test::child_helper(), "list-set", list.name()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "[1, 'from parent', None]\n");  // what the child read first
  EXPECT_TRUE(test::SameItem(list.get(0), std::string("child")));
  EXPECT_TRUE(test::SameItem(list.get(1), 7.5));
  EXPECT_TRUE(test::SameItem(list.get(2), Bytes{"\x01\x02"}));
}

// A child rewrites every item with changing types as fast as it can while we read: every
// read gives a value or a LayoutError/DecodeError (a torn write), never a crash or an
// out-of-bounds read (ASan checks that), and the child's last writes are read exactly.
TEST_F(ListTest, ReadingWhileAnotherProcessMutatesNeverCrashes) {
  auto list = make({std::string(20, 'a'), std::int64_t{0}, None{}, Bytes{"bytes"}});
  std::atomic<bool> done{false};
  test::ChildResult result;
  std::thread child([&] {
    result = test::run_child({test::child_helper(), "list-mutate", list.name()},
                             std::chrono::seconds(60));
    done = true;
  });
  std::size_t values = 0, torn = 0;
  while (!done) {
    for (std::ptrdiff_t i = 0; i < 4; ++i) {
      try {
        (void)list.get(i);
        ++values;
      } catch (const LayoutError&) {
        ++torn;  // e.g. the new format with the old type code
      } catch (const DecodeError&) {
        ++torn;  // a str read halfway through its rewrite
      }
    }
    try {
      (void)list.format();
    } catch (const LayoutError&) {
      ++torn;
    }
  }
  child.join();
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_GT(values, 0u);
  std::cout << "[ mutate   ] " << values << " reads gave values, " << torn
            << " saw a write half done\n";
  EXPECT_TRUE(test::SameItem(list.get(0), std::string("done")));
  EXPECT_TRUE(test::SameItem(list.get(1), std::int64_t{42}));
  EXPECT_TRUE(test::SameItem(list.get(2), None{}));
  EXPECT_TRUE(test::SameItem(list.get(3), Bytes{"end"}));
}

}  // namespace
}  // namespace shm
