// Untrusted blocks: every way a block can fail to be a ShareableList gives a LayoutError that
// says what is wrong and where, and nothing is ever read outside the block (run these under
// ASan/UBSan). Blocks are built from a good list's bytes and then damaged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>

#include "libshm/shareable_list.hpp"
#include "list_test_support.hpp"
#include "test_support.hpp"

namespace shm {
namespace {

using ::testing::HasSubstr;

// [1, 'ab', None]: 91 bytes in 3.9+ (data at 40, formats at 64, codes at 88), 83 in 3.8
// (data at 32, formats at 56, codes at 80). docs/format.md.
constexpr std::size_t kFormats39 = 64, kCodes39 = 88, kFormats38 = 56, kCodes38 = 80;

std::string good_block(Layout layout, std::initializer_list<Item> items = {
                                          std::int64_t{1}, std::string("ab"), None{}}) {
  test::BlockCleanup cleanup;
  auto list =
      ShareableList::create(items, {.name = cleanup.fresh(), .layout = layout, .track = false});
  return test::block_bytes(list.shm().buf());
}

void put_word(std::string& block, std::size_t at, std::int64_t value) {
  std::memcpy(block.data() + at, &value, sizeof value);
}

void put_format(std::string& block, std::size_t at, std::string_view format) {
  std::string padded(format);
  padded.resize(8, '\0');
  block.replace(at, 8, padded);
}

std::span<const std::byte> view(const std::string& block) {
  return {reinterpret_cast<const std::byte*>(block.data()), block.size()};
}

// Checks that validate() rejects the block with a LayoutError at `offset` whose message
// contains `problem`; returns the message.
std::string expect_layout_error(const std::string& block, std::size_t offset,
                                const std::string& problem,
                                std::optional<Layout> layout = std::nullopt) {
  try {
    ShareableList::validate(view(block), layout);
  } catch (const LayoutError& e) {
    EXPECT_EQ(e.offset(), offset) << e.what();
    EXPECT_THAT(e.problem(), HasSubstr(problem));
    EXPECT_EQ(std::string(e.what()), "offset " + std::to_string(offset) + ": " + e.problem());
    return e.what();
  }
  ADD_FAILURE() << "no LayoutError for " << test::hex(block);
  return {};
}

// A list attached to a copy of `block` in a real shared-memory block (whose header is fine).
class Damaged {
 public:
  explicit Damaged(const std::string& block, std::optional<Layout> layout = std::nullopt)
      : list_(ShareableList::from_block(test::make_block(cleanup_.fresh(), block),
                                        {.layout = layout})) {}
  ShareableList& operator*() { return list_; }
  ShareableList* operator->() { return &list_; }

 private:
  test::BlockCleanup cleanup_;
  ShareableList list_;
};

TEST(Corruption, BlocksTooSmallForTheCount) {
  for (std::size_t size = 0; size < 8; ++size) {
    expect_layout_error(std::string(size, '\0'), 0, "too small for the item count");
  }
}

TEST(Corruption, NegativeCount) {
  std::string block = good_block(Layout::v39);
  put_word(block, 0, -1);
  expect_layout_error(block, 0, "item count -1 is negative");
  put_word(block, 0, std::numeric_limits<std::int64_t>::min());
  expect_layout_error(block, 0, "is negative");
}

TEST(Corruption, HugeCount) {
  std::string block = good_block(Layout::v39);
  put_word(block, 0, 1000);  // N=1000 needs 8016 bytes of header
  expect_layout_error(block, 0, "needs a header of 8016 bytes (3.9+ layout) but the block is 91");
  put_word(block, 0, std::numeric_limits<std::int64_t>::max());
  expect_layout_error(block, 0, "needs a header larger than memory");
  std::string old = good_block(Layout::v38);
  put_word(old, 0, 1000);
  expect_layout_error(old, 0, "needs a header of 8008 bytes (3.8 layout)");
  // A larger count reads the first data word as the data area's end offset.
  put_word(block, 0, 4);
  expect_layout_error(block, 40, "the end offset of the data area 1 is below item 3's offset 24");
}

TEST(Corruption, EveryTruncationIsRejected) {
  for (Layout layout : {Layout::v39, Layout::v38}) {
    const std::string block = good_block(layout);
    for (std::size_t size = 0; size < block.size(); ++size) {
      SCOPED_TRACE(std::string(to_string(layout)) + " cut to " + std::to_string(size));
      EXPECT_THROW(ShareableList::validate(view(block.substr(0, size)), layout), LayoutError);
      EXPECT_THROW(ShareableList::validate(view(block.substr(0, size))), LayoutError);
    }
  }
  expect_layout_error(good_block(Layout::v39).substr(0, 90), 32,
                      "leaving 26 bytes for the 3 format strings and type codes, which need 27");
}

TEST(Corruption, AttachRejectsABadHeaderBeforeAnyRead) {
  std::string block = good_block(Layout::v39);
  put_word(block, 0, 1000);
  test::BlockCleanup cleanup;
  const std::string name = cleanup.fresh();
  auto raw = test::make_block(name, block);
  EXPECT_THROW(ShareableList::attach(name), LayoutError);
  EXPECT_THROW(ShareableList::from_block(std::move(raw)), LayoutError);
}

TEST(Corruption, DetectionNeedsZeroOrAnItemSizeAfterTheCount) {
  std::string block = good_block(Layout::v39);
  put_word(block, 8, 5);  // neither 3.9+'s offset 0 nor a 3.8 size ≥ 8
  expect_layout_error(block, 8, "neither 0 (3.9+ layout: the first offset) nor an item size");
  expect_layout_error(block, 8, "item 0's offset is 5, not 0", Layout::v39);
  // One item but a block too short for any header.
  std::string tiny(12, '\0');
  put_word(tiny, 0, 1);
  expect_layout_error(tiny, 0, "too small for either layout's header");
  // N = 0: 8 bytes is 3.8's empty list, 16 zero bytes 3.9+'s.
  EXPECT_EQ(ShareableList::detect_layout(view(std::string(8, '\0'))), Layout::v38);
  EXPECT_EQ(ShareableList::detect_layout(view(std::string(16, '\0'))), Layout::v39);
  expect_layout_error(std::string(8, '\0'), 0, "needs a header of 16 bytes", Layout::v39);
}

TEST(Corruption, OffsetsThatDecreaseOrRunPastTheEnd) {
  std::string block = good_block(Layout::v39);  // offsets 0, 8, 16, 24 at 8, 16, 24, 32
  put_word(block, 24, 4);
  expect_layout_error(block, 24, "item 2's offset 4 is below item 1's offset 8");
  block = good_block(Layout::v39);
  put_word(block, 32, 12);
  expect_layout_error(block, 32, "the end offset of the data area 12 is below item 2's offset 16");
  block = good_block(Layout::v39);
  put_word(block, 16, 1000);
  expect_layout_error(block, 16, "item 1's offset 1000 is past the block's end");
  block = good_block(Layout::v39);
  put_word(block, 32, -8);  // 2^64 - 8 as an offset
  expect_layout_error(block, 32, "past the block's end");
  block = good_block(Layout::v39);
  put_word(block, 32, 40);  // data area grows: the formats and codes no longer fit
  expect_layout_error(block, 32, "need 27 bytes");
}

TEST(Corruption, SizesThatRunPastTheEnd38) {
  std::string block = good_block(Layout::v38);  // sizes 8, 8, 8 at 8, 16, 24
  put_word(block, 16, 1000);
  expect_layout_error(block, 16, "item 1's size 1000 runs past the block's end");
  put_word(block, 16, -1);
  expect_layout_error(block, 16, "runs past the block's end");
  block = good_block(Layout::v38);
  put_word(block, 24, 16);
  expect_layout_error(block, 24, "need 27 bytes");
}

TEST(Corruption, FormatStringsCPythonNeverWrites) {
  const std::pair<std::string, std::string> cases[] = {
      {"10000000", "'10000000' is not one CPython writes (a \"<k>s\" format cut to 8"},
      {"0s", "'0s' is not one CPython writes"},
      {"08s", "'08s' is not one CPython writes"},
      {"s", "'s' is not one CPython writes"},
      {"i", "'i' is not one CPython writes"},
      {"2q", "'2q' is not one CPython writes"},
      {"<q", "'<q' is not one CPython writes"},
      {"", "'' is not one CPython writes"},
      {std::string("q\0x", 3), "'q\\x00x' is not one CPython writes"},
      {"xxxxxxx!", "'xxxxxxx!' is not one CPython writes"},
      {"\xff\xff\xff\xff\xff\xff\xff\xff", "'\\xff\\xff"},
      {"16s", "format '16s' needs 16 bytes but its slot at offset 48 has 8"},
      {"9s", "format '9s' needs 9 bytes"},
  };
  for (const auto& [format, problem] : cases) {
    SCOPED_TRACE(test::hex(format));
    std::string block = good_block(Layout::v39);
    put_format(block, kFormats39 + 8, format);  // item 1's format
    const std::string message = expect_layout_error(block, kFormats39 + 8, problem);
    EXPECT_THAT(message, HasSubstr("item 1"));
    Damaged list(block);
    EXPECT_THROW((void)list->get(1), LayoutError);
    EXPECT_THROW((void)list->format(), LayoutError);
    EXPECT_TRUE(test::SameItem(list->get(0), std::int64_t{1}));  // the others still read
    EXPECT_TRUE(test::SameItem(list->get(2), None{}));
  }
  std::string old = good_block(Layout::v38);
  put_format(old, kFormats38, "10000000");
  expect_layout_error(old, kFormats38, "item 0's format '10000000'");
}

TEST(Corruption, UnknownTypeCodes) {
  for (int code : {4, 7, 127, -1, -128}) {
    std::string block = good_block(Layout::v39);
    block[kCodes39 + 2] = static_cast<char>(code);
    expect_layout_error(block, kCodes39 + 2,
                        "item 2's type code " + std::to_string(code) +
                            " is not 0 (int, float, bool), 1 (str), 2 (bytes) or 3 (None)");
    Damaged list(block);
    try {
      (void)list->get(2);
      ADD_FAILURE();
    } catch (const LayoutError& e) {
      EXPECT_EQ(e.offset(), kCodes39 + 2);
    }
  }
  std::string old = good_block(Layout::v38);
  old[kCodes38] = 9;
  expect_layout_error(old, kCodes38, "item 0's type code 9");
}

TEST(Corruption, TypeCodesThatCannotApplyToTheFormat) {
  // CPython applies str's or bytes' rstrip() to a number: AttributeError.
  std::string block = good_block(Layout::v39);
  block[kCodes39] = 1;  // item 0 is "q"
  expect_layout_error(block, kCodes39,
                      "item 0's type code 1 (str) does not go with its format 'q'");
  block[kCodes39] = 2;
  expect_layout_error(block, kCodes39, "type code 2 (bytes) does not go with its format 'q'");
  block = good_block(Layout::v39);
  block[kCodes39 + 2] = 1;  // item 2 is None's format
  expect_layout_error(block, kCodes39 + 2, "does not go with its format 'xxxxxx?x'");
}

TEST(Corruption, CombinationsCPythonReadsAreReadTheSameWay) {
  // CPython unpacks with the format, then applies the code: these give values, not errors.
  std::string block = good_block(Layout::v39);
  block[kCodes39] = 3;      // None's code on an int: None
  block[kCodes39 + 1] = 0;  // the plain code on "8s": the raw slot, padding included
  block[kCodes39 + 2] = 0;  // the plain code on None's format: the bool in byte 6
  block[40 + 16 + 6] = 1;
  EXPECT_NO_THROW(ShareableList::validate(view(block)));
  Damaged list(block);
  EXPECT_TRUE(test::SameItem(list->get(0), None{}));
  EXPECT_TRUE(test::SameItem(list->get(1), Bytes{std::string("ab\0\0\0\0\0\0", 8)}));
  EXPECT_TRUE(test::SameItem(list->get(2), true));
}

TEST(Corruption, AStrSlotThatIsNotUtf8IsADecodeErrorNotALayoutError) {
  std::string block = good_block(Layout::v39);
  block[48] = '\xe2';  // item 1: "\xe2b", a cut 3-byte character
  EXPECT_NO_THROW(ShareableList::validate(view(block)));
  Damaged list(block);
  try {
    (void)list->get(1);
    ADD_FAILURE();
  } catch (const DecodeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("item 1 at offset 48 is a str whose bytes are not UTF-8"));
  }
  EXPECT_TRUE(test::SameItem(list->get(0), std::int64_t{1}));
  EXPECT_THROW((void)list->count(std::int64_t{1}), DecodeError);  // as CPython's count raises
}

TEST(Corruption, ScalarInASlotSmallerThanEightBytes) {
  // 3.9+ offsets 0, 4, 12: item 0 has a 4-byte slot. No CPython makes one; reading "q" in it
  // would read item 1's bytes.
  std::string block = good_block(Layout::v39, {std::int64_t{1}, std::int64_t{2}});
  // N=2: offsets at 8, 16, 24; data at 32; formats at 48.
  put_word(block, 16, 4);
  expect_layout_error(block, 48,
                      "item 0's format 'q' needs 8 bytes but its slot at offset 32 has 4");
  Damaged list(block);
  EXPECT_THROW(list->set(0, std::int64_t{5}), LayoutError);  // cannot hold an 8-byte int
  list->set(0, std::string("abcd"));                         // "4s" fits
  EXPECT_TRUE(test::SameItem(list->get(0), std::string("abcd")));
  EXPECT_EQ(list->format(), "4sq");
}

TEST(Corruption, SetRepairsADamagedFormat) {
  std::string block = good_block(Layout::v39);
  put_format(block, kFormats39 + 8, "10000000");
  Damaged list(block);
  list->set(1, std::string("xy"));  // a str into a damaged slot gets the slot's allocation
  EXPECT_EQ(list->format(), "q8sxxxxxx?x");
  EXPECT_EQ(test::block_bytes(list->shm().buf()),
            good_block(Layout::v39, {std::int64_t{1}, std::string("xy"), None{}}));
  put_format(block, kFormats39, "zz");
  Damaged other(block);
  other->set(0, 2.5);
  EXPECT_TRUE(test::SameItem(other->get(0), 2.5));
}

// Random damage: flip bytes and words anywhere in good blocks of both layouts. Every
// outcome must be a value, a LayoutError or a DecodeError; under ASan, never a bad read.
TEST(Corruption, RandomDamageNeverEscapesTheBlock) {
  const char* seed_text = std::getenv("LIBSHM_CORRUPTION_SEED");
  const std::uint64_t seed = seed_text ? std::stoull(seed_text) : std::random_device{}();
  SCOPED_TRACE("LIBSHM_CORRUPTION_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const std::string bases[] = {
      good_block(Layout::v39),
      good_block(Layout::v38),
      good_block(Layout::v39, {std::string(20, 'x'), 2.5, Bytes{"\xc3"}, true, std::int64_t{-1}}),
      good_block(Layout::v38, {std::string(20, 'x'), 2.5, Bytes{"\xc3"}, true, std::int64_t{-1}}),
      good_block(Layout::v39, {}),
  };
  std::size_t layout_errors = 0, values = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string block = bases[rng() % std::size(bases)];
    const int damage = 1 + static_cast<int>(rng() % 3);
    for (int d = 0; d < damage && !block.empty(); ++d) {
      const std::size_t at = rng() % block.size();
      switch (rng() % 4) {
        case 0:  // one random byte
          block[at] = static_cast<char>(rng());
          break;
        case 1:  // a small header word (a count, offset or size off by a little)
          if (at / 8 * 8 + 8 <= block.size()) {
            put_word(block, at / 8 * 8, static_cast<std::int64_t>(rng() % 256) - 64);
          }
          break;
        case 2:  // truncation
          block.resize(at);
          break;
        default:  // a plausible format string
          if (at + 8 <= block.size()) {
            const char* formats[] = {"q", "d", "8s", "16s", "24s", "xxxxxxx?", "xxxxxx?x", "1s"};
            put_format(block, at, formats[rng() % std::size(formats)]);
          }
      }
    }
    try {
      ShareableList::validate(view(block));
      ++values;
    } catch (const LayoutError&) {
      ++layout_errors;
    }
    try {
      (void)ShareableList::detect_layout(view(block));
    } catch (const LayoutError&) {
    }
    // Item by item through a real mapping, as a reader would.
    if (block.empty() || round % 10 != 0) continue;
    test::BlockCleanup cleanup;
    try {
      auto list = ShareableList::from_block(test::make_block(cleanup.fresh(), block));
      for (std::size_t i = 0; i < list.size(); ++i) {
        try {
          (void)list.get(static_cast<std::ptrdiff_t>(i));
          (void)list.get_raw(static_cast<std::ptrdiff_t>(i));
        } catch (const LayoutError&) {
        } catch (const DecodeError&) {
        }
      }
    } catch (const LayoutError&) {
    }
  }
  EXPECT_GT(layout_errors, 0u);
  EXPECT_GT(values, 0u);
}

}  // namespace
}  // namespace shm
