// shm::ShareableList's typed, zero-copy and bulk access (view, get_as, get_view, read_into,
// write_from): the same values and the same exceptions as get() and set().
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "libshm/shareable_list.hpp"
#include "list_test_support.hpp"
#include "test_support.hpp"

namespace shm {
namespace {

using ::testing::HasSubstr;

class TypedTest : public ::testing::TestWithParam<Layout> {
 protected:
  ShareableList make(std::initializer_list<Item> items) {
    return ShareableList::create(items,
                                 {.name = cleanup_.fresh(), .layout = GetParam(), .track = false});
  }
  // Overwrites item i's type code in the block (which must still be a valid list).
  static void poke_code(ShareableList& list, std::size_t i, std::int8_t code) {
    const ListRegions r = ShareableList::validate(list.shm().buf());
    list.shm().buf()[r.codes + i] = static_cast<std::byte>(code);
  }
  test::BlockCleanup cleanup_;
};

// Every read API against get() on one list holding every type, ends of ranges included.
TEST_P(TypedTest, EveryTypeReadsAsGetReadsIt) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto list = make({None{}, true, false, std::numeric_limits<std::int64_t>::min(),
                    std::numeric_limits<std::int64_t>::max(), -0.0, nan, std::string("h\xc3\xa9"),
                    std::string("ab\0\0", 4), Bytes{std::string("x\0y\0", 4)}, Bytes{""}});
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto index = static_cast<std::ptrdiff_t>(i);
    const Item item = list.get(index);
    EXPECT_TRUE(test::SameItem(to_item(list.view(index)), item)) << "item " << i;
    EXPECT_TRUE(
        test::SameItem(to_item(list.view(index - static_cast<std::ptrdiff_t>(list.size()))), item));
    if (const auto* x = std::get_if<std::int64_t>(&item)) {
      EXPECT_EQ(list.get_as<std::int64_t>(index), *x);
    }
    if (const auto* b = std::get_if<bool>(&item)) {
      EXPECT_EQ(list.get_as<bool>(index), *b);
    }
    if (const auto* d = std::get_if<double>(&item)) {
      const double got = list.get_as<double>(index);
      EXPECT_EQ(std::bit_cast<std::uint64_t>(got), std::bit_cast<std::uint64_t>(*d));
    }
    if (const auto* s = std::get_if<std::string>(&item)) {
      EXPECT_EQ(list.get_view(index), *s);
    }
    if (const auto* b = std::get_if<Bytes>(&item)) {
      EXPECT_EQ(list.get_view(index), b->data);
      EXPECT_EQ(list.get_bytes_view(index).size(), b->data.size());
    }
  }
  EXPECT_EQ(list.get_view(7), "h\xc3\xa9");
  EXPECT_EQ(list.get_view(8), "ab");  // NULs stripped, as get()
  EXPECT_EQ(list.get_view(9), std::string_view("x\0y", 3));
  EXPECT_EQ(list.get_view(10), "");
}

TEST_P(TypedTest, OtherTypesAndBadIndicesThrowAsGet) {
  auto list = make({std::int64_t{7}, 2.5, true, None{}, std::string("s"), Bytes{"b"}});
  EXPECT_THAT([&] { (void)list.get_as<double>(0); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("item 0 is an int, not a float")));
  EXPECT_THAT([&] { (void)list.get_as<std::int64_t>(2); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("item 2 is a bool, not an int")));
  EXPECT_THAT([&] { (void)list.get_as<bool>(3); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("item 3 is None, not a bool")));
  EXPECT_THAT([&] { (void)list.get_as<std::int64_t>(4); },
              ThrowsMessage<std::invalid_argument>(HasSubstr("item 4 is a str, not an int")));
  EXPECT_THAT(
      [&] { (void)list.get_view(1); },
      ThrowsMessage<std::invalid_argument>(HasSubstr("item 1 is a float, not a str or bytes")));
  EXPECT_THROW((void)list.get_as<std::int64_t>(6), std::out_of_range);
  EXPECT_THROW((void)list.get_as<std::int64_t>(-7), std::out_of_range);
  EXPECT_THROW((void)list.view(6), std::out_of_range);
  EXPECT_THROW((void)list.get_view(-7), std::out_of_range);
  EXPECT_EQ(list.get_as<std::int64_t>(-6), 7);
  list.shm().close();
  EXPECT_THROW((void)list.get_as<std::int64_t>(0), std::logic_error);
  EXPECT_THROW((void)list.view(0), std::logic_error);
  std::int64_t one = 0;
  EXPECT_THROW(list.read_into(0, std::span(&one, 1)), std::logic_error);
}

TEST_P(TypedTest, ViewsPointIntoTheBlockAndSeeLaterWrites) {
  auto list = make({std::string("abcdefg"), Bytes{"xyz"}});
  const std::string_view before = list.get_view(0);
  const auto block = list.shm().buf();
  EXPECT_GE(reinterpret_cast<const std::byte*>(before.data()), block.data());
  EXPECT_LT(reinterpret_cast<const std::byte*>(before.data()), block.data() + block.size());
  list.set(0, std::string("ABCDEFG"));
  EXPECT_EQ(before, "ABCDEFG");  // the same bytes, rewritten by the set
  EXPECT_EQ(list.get_view(1), "xyz");
}

TEST_P(TypedTest, DamagedSlotsThrowWhatGetThrows) {
  auto list = make({std::int64_t{1}, std::int64_t{2}, std::string("ok"), std::int64_t{4}});
  const ListRegions r = ShareableList::validate(list.shm().buf());  // before the damage
  const auto poke_code = [&](ShareableList& l, std::size_t i, std::int8_t code) {
    l.shm().buf()[r.codes + i] = static_cast<std::byte>(code);
  };
  const auto poke_format = [&](ShareableList& l, std::size_t i, std::string_view text) {
    std::byte* at = l.shm().buf().data() + r.formats + 8 * i;
    std::memset(at, 0, 8);
    std::memcpy(at, text.data(), text.size());
  };
  poke_code(list, 0, 7);       // no such code
  poke_format(list, 1, "zz");  // no such format
  poke_code(list, 3, 1);       // str's code on an int: CPython's AttributeError
  for (std::ptrdiff_t i : {0, 1, 3}) {
    EXPECT_THROW((void)list.get(i), LayoutError) << i;
    EXPECT_THROW((void)list.view(i), LayoutError) << i;
    EXPECT_THROW((void)list.get_as<std::int64_t>(i), LayoutError) << i;
    EXPECT_THROW((void)list.get_view(i), LayoutError) << i;
  }
  try {
    (void)list.get_as<std::int64_t>(0);
  } catch (const LayoutError& typed) {
    try {
      (void)list.get(0);
    } catch (const LayoutError& plain) {
      EXPECT_STREQ(typed.what(), plain.what());
    }
  }
  std::vector<std::int64_t> out(4, -1);
  EXPECT_THROW(list.read_into(0, std::span(out)), LayoutError);
  EXPECT_EQ(out[0], -1);  // nothing read before the damaged item 0
}

TEST_P(TypedTest, CPythonsOddCombinationsReadAsGetReadsThem) {
  auto list = make({std::string("ab"), None{}, std::string("\xc3\xa9"), std::int64_t{5}});
  poke_code(list, 0, 0);  // code 0 on "8s": the raw slot, padding included
  poke_code(list, 1, 0);  // code 0 on None's format: the bool in byte 6
  list.shm().buf()[ShareableList::validate(list.shm().buf()).data + 8 + 6] = std::byte{1};
  list.shm().buf()[ShareableList::validate(list.shm().buf()).data + 16 + 1] = std::byte{0x41};
  poke_code(list, 3, 3);  // code 3 on "q": None
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto index = static_cast<std::ptrdiff_t>(i);
    if (i == 2) continue;
    EXPECT_TRUE(test::SameItem(to_item(list.view(index)), list.get(index))) << i;
  }
  EXPECT_EQ(list.get_view(0), std::string_view("ab\0\0\0\0\0\0", 8));
  EXPECT_TRUE(list.get_as<bool>(1));
  EXPECT_TRUE(std::holds_alternative<None>(list.view(3)));
  // A str cut in the middle of a character (the é's second byte overwritten): DecodeError.
  EXPECT_THROW((void)list.get(2), DecodeError);
  EXPECT_THROW((void)list.view(2), DecodeError);
  EXPECT_THROW((void)list.get_view(2), DecodeError);
}

TEST_P(TypedTest, BulkReadsAndWritesAgreeWithGetAndSet) {
  auto typed = make({std::int64_t{0}, std::int64_t{0}, 2.5, None{}, std::string("s"), true});
  auto plain = make({std::int64_t{0}, std::int64_t{0}, 2.5, None{}, std::string("s"), true});
  const std::vector<std::int64_t> ints{-3, 1LL << 40};
  typed.write_from(0, std::span<const std::int64_t>(ints));
  plain.set(0, ints[0]);
  plain.set(1, ints[1]);
  const std::vector<double> reals{0.125, -1e300, 7.0};
  typed.write_from(2, std::span<const double>(reals));  // over a float, None and a str
  for (std::size_t k = 0; k < reals.size(); ++k)
    plain.set(static_cast<std::ptrdiff_t>(2 + k), reals[k]);
  const bool no = false;
  typed.write_from(5, std::span<const bool>(&no, 1));
  plain.set(5, false);
  EXPECT_EQ(test::block_bytes(typed.shm().buf()), test::block_bytes(plain.shm().buf()));

  std::vector<std::int64_t> got_ints(2);
  typed.read_into(0, std::span(got_ints));
  EXPECT_EQ(got_ints, ints);
  std::vector<double> got_reals(3);
  typed.read_into(2, std::span(got_reals));
  EXPECT_EQ(got_reals, reals);
  bool got_flag = true;
  typed.read_into(5, std::span(&got_flag, 1));
  EXPECT_FALSE(got_flag);

  // Ranges outside [0, N): nothing read or written.
  std::vector<std::int64_t> three(3, 9);
  EXPECT_THROW(typed.read_into(5, std::span(three)), std::out_of_range);
  EXPECT_THROW(typed.read_into(7, std::span(three.data(), 0)), std::out_of_range);
  EXPECT_THROW(typed.write_from(4, std::span<const std::int64_t>(three)), std::out_of_range);
  EXPECT_EQ(test::block_bytes(typed.shm().buf()), test::block_bytes(plain.shm().buf()));
  typed.read_into(6, std::span(three.data(), 0));  // an empty range at the end is fine
  // An item of another type in the range: std::invalid_argument, earlier items read.
  EXPECT_THROW(typed.read_into(1, std::span(three)), std::invalid_argument);
  EXPECT_EQ(three[0], 1LL << 40);

  auto reader = ShareableList::attach(typed.name(), {.read_only = true});
  EXPECT_THROW(reader.write_from(0, std::span<const std::int64_t>(ints)), std::logic_error);
  std::vector<std::int64_t> again(2);
  reader.read_into(0, std::span(again));
  EXPECT_EQ(again, ints);
}

INSTANTIATE_TEST_SUITE_P(BothLayouts, TypedTest, ::testing::Values(Layout::v38, Layout::v39),
                         [](const auto& param_info) {
                           return param_info.param == Layout::v38 ? std::string("v38")
                                                                  : std::string("v39");
                         });

}  // namespace
}  // namespace shm
