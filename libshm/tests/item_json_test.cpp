// Item JSON (docs/format.md): the text form of items shared by the CLI, the agents and the vectors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "libshm/item.hpp"
#include "list_test_support.hpp"

namespace shm {
namespace {

using ::testing::HasSubstr;

const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

TEST(ItemJson, EncodesEachTypeAsDesignMdSays) {
  EXPECT_EQ(to_json(None{}), "null");
  EXPECT_EQ(to_json(true), "true");
  EXPECT_EQ(to_json(std::int64_t{-9}), "-9");
  EXPECT_EQ(to_json(1.0), "1.0");  // a float always has a fraction or an exponent
  EXPECT_EQ(to_json(1e300), "1e+300");
  EXPECT_EQ(to_json(-0.0), "-0.0");
  EXPECT_EQ(to_json(kNan), R"({"float": "nan"})");
  EXPECT_EQ(to_json(kInf), R"({"float": "inf"})");
  EXPECT_EQ(to_json(-kInf), R"({"float": "-inf"})");
  EXPECT_EQ(to_json(std::string("a\"b\n")), R"("a\"b\n")");
  EXPECT_EQ(to_json(std::string("\0", 1)), R"("\u0000")");
  EXPECT_EQ(to_json(Bytes{std::string("\0\xff", 2)}), R"({"bytes": "00ff"})");
  const std::vector<Item> list{std::int64_t{1}, None{}, Bytes{""}};
  EXPECT_EQ(to_json(list), R"([1, null, {"bytes": ""}])");
  EXPECT_EQ(to_json(std::span<const Item>()), "[]");
}

TEST(ItemJson, EveryItemRoundTrips) {
  const std::vector<Item> items{
      None{},
      true,
      false,
      std::numeric_limits<std::int64_t>::min(),
      std::numeric_limits<std::int64_t>::max(),
      0.1,
      -0.0,
      5e-324,
      std::numeric_limits<double>::max(),
      123456789012345680.0,
      kNan,
      kInf,
      -kInf,
      std::string("\xc3\xa9\xf0\x9f\x98\x80 \x01 \\"),
      std::string("\0", 1),
      Bytes{std::string("\0\x01\x7f\x80\xff", 5)},
  };
  for (const Item& item : items) {
    EXPECT_TRUE(test::SameItem(item_from_json(to_json(item)), item)) << to_json(item);
  }
  const auto back = items_from_json(to_json(items));
  ASSERT_EQ(back.size(), items.size());
  for (std::size_t i = 0; i < items.size(); ++i) EXPECT_TRUE(test::SameItem(back[i], items[i]));
}

TEST(ItemJson, NumbersKeepTheirPythonType) {
  EXPECT_TRUE(test::SameItem(item_from_json("2"), std::int64_t{2}));
  EXPECT_TRUE(test::SameItem(item_from_json("2.0"), 2.0));
  EXPECT_TRUE(test::SameItem(item_from_json("1e5"), 100000.0));
  EXPECT_TRUE(test::SameItem(item_from_json("-0.0"), -0.0));
  EXPECT_TRUE(test::SameItem(item_from_json("9223372036854775807"),
                             std::numeric_limits<std::int64_t>::max()));
  EXPECT_TRUE(test::SameItem(item_from_json("-9223372036854775808"),
                             std::numeric_limits<std::int64_t>::min()));
  EXPECT_TRUE(test::SameItem(item_from_json(R"({"bytes": "ABcd"})"), Bytes{"\xab\xcd"}));
  EXPECT_TRUE(test::SameItem(item_from_json(R"("\ud83d\ude00")"), std::string("\xf0\x9f\x98\x80")));
  EXPECT_TRUE(std::isnan(std::get<double>(item_from_json(R"({"float": "nan"})"))));
}

TEST(ItemJson, IntegersOutsideInt64AreRejectedClearly) {
  for (const char* text : {"9223372036854775808", "-9223372036854775809", "18446744073709551615",
                           "18446744073709551616", "100000000000000000000000000000"}) {
    try {
      (void)item_from_json(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr("outside int64")) << text;
      EXPECT_THAT(e.what(), HasSubstr(text));
    }
  }
}

TEST(ItemJson, MalformedInputIsRejectedWithTheReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not JSON"},
      {"{", "not JSON"},
      {"tru", "not JSON"},
      {"1e400", "not JSON"},        // overflows a double: nlohmann refuses it
      {"\"\xff\"", "not JSON"},     // invalid UTF-8 in a string
      {R"("\ud800")", "not JSON"},  // a lone surrogate
      {R"({"bytes": "abc"})", "odd number"},
      {R"({"bytes": "zz"})", "not hex"},
      {R"({"bytes": 5})", "members must be strings"},
      {R"({"float": "NaN"})", "not \"nan\""},
      {R"({"float": 1.5})", "members must be strings"},
      {R"({"other": "x"})", "unknown object"},
      {R"({})", "needs one member"},
      {R"({"bytes": "00", "float": "nan"})", "more than one member"},
      {R"({"bytes": {"bytes": "00"}})", "inside an object"},
      {"[1]", "an array where an item was expected"},
  };
  for (const auto& [text, reason] : cases) {
    try {
      (void)item_from_json(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(reason)) << text;
    }
  }
}

TEST(ItemJson, ListsMustBeOneFlatArray) {
  EXPECT_TRUE(items_from_json("[]").empty());
  EXPECT_EQ(items_from_json(R"([1, "a", {"bytes": "61"}, null])").size(), 4u);
  EXPECT_THROW((void)items_from_json("5"), std::invalid_argument);
  EXPECT_THROW((void)items_from_json("[[1]]"), std::invalid_argument);
  EXPECT_THROW((void)items_from_json("[1] [2]"), std::invalid_argument);
  EXPECT_THROW((void)items_from_json("[1,]"), std::invalid_argument);
}

TEST(ItemJson, AStrThatIsNotUtf8HasNoJsonForm) {
  EXPECT_THROW((void)to_json(std::string("\xff")), std::invalid_argument);
}

}  // namespace
}  // namespace shm
