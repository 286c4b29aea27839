// Item JSON (docs/format.md): the text form of items shared by the CLI, the agents and the vectors.
#include "libshm/item_json.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

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

// The DOM side (nlohmann::adl_serializer<Item>), which the text API above is written on.

using Json = nlohmann::json;

TEST(ItemJsonDom, EachAlternativeHasItsJsonValue) {
  const std::pair<Item, Json> cases[] = {
      {None{}, Json(nullptr)},
      {true, Json(true)},
      {std::int64_t{-9}, Json(-9)},
      {std::numeric_limits<std::int64_t>::min(), Json(std::numeric_limits<std::int64_t>::min())},
      {2.5, Json(2.5)},
      {-0.0, Json(-0.0)},
      {kNan, Json{{"float", "nan"}}},
      {kInf, Json{{"float", "inf"}}},
      {-kInf, Json{{"float", "-inf"}}},
      {std::string("\xc3\xa9\0", 3), Json(std::string("\xc3\xa9\0", 3))},
      {Bytes{std::string("\0\xff", 2)}, Json{{"bytes", "00ff"}}},
  };
  for (const auto& [item, json] : cases) {
    const Json written = item;
    EXPECT_EQ(written, json) << python_repr(item);
    EXPECT_EQ(written.type(), json.type()) << python_repr(item);  // 2.5 is no integer, 1 no float
    EXPECT_TRUE(test::SameItem(json.get<Item>(), item)) << json.dump();
  }
  // An int stays an int and a float a float, whatever the value.
  EXPECT_TRUE(Json(Item{1.0}).is_number_float());
  EXPECT_TRUE(test::SameItem(Json(1.0).get<Item>(), 1.0));
  EXPECT_TRUE(test::SameItem(Json(std::uint64_t{7}).get<Item>(), std::int64_t{7}));
}

TEST(ItemJsonDom, ListsAreArrays) {
  const std::vector<Item> items{std::int64_t{1}, None{}, Bytes{"a"}, kInf};
  const Json json = items;
  EXPECT_EQ(json, Json::parse(R"([1, null, {"bytes": "61"}, {"float": "inf"}])"));
  const auto back = json.get<std::vector<Item>>();
  ASSERT_EQ(back.size(), items.size());
  for (std::size_t i = 0; i < items.size(); ++i) EXPECT_TRUE(test::SameItem(back[i], items[i]));
}

TEST(ItemJsonDom, IntegersOutsideInt64AreRejected) {
  // Above INT64_MAX but within uint64: nlohmann's DOM keeps it exactly, as number_unsigned.
  try {
    (void)Json(std::numeric_limits<std::uint64_t>::max()).get<Item>();
    ADD_FAILURE() << "2**64-1 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("integer 18446744073709551615 is outside int64"));
  }
  // Beyond 64 bits json::parse makes a double; parse_json keeps the literal, marked.
  EXPECT_TRUE(Json::parse("18446744073709551616").is_number_float());
  for (const char* text : {"18446744073709551616", "-9223372036854775809"}) {
    const Json parsed = parse_json(text);
    EXPECT_TRUE(parsed.is_binary()) << text;
    try {
      (void)parsed.get<Item>();
      ADD_FAILURE() << text << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(std::string("integer ") + text + " is outside int64"));
    }
  }
  // Inside a request as well, and float literals stay floats.
  const Json request =
      parse_json(R"({"op": "list.set", "value": 100000000000000000000, "f": 1e20})");
  EXPECT_THROW((void)request.at("value").get<Item>(), std::invalid_argument);
  EXPECT_TRUE(test::SameItem(request.at("f").get<Item>(), 1e20));
  // A binary value that parse_json did not make is not Item JSON either.
  try {
    (void)Json::binary({1, 2}).get<Item>();
    ADD_FAILURE() << "a binary value was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("binary values are not Item JSON"));
  }
}

TEST(ItemJsonDom, ObjectsOtherThanBytesAndFloatAreRejected) {
  const std::pair<Json, const char*> cases[] = {
      {Json::object(), "needs one member"},
      {Json{{"bytes", "00"}, {"float", "nan"}}, "more than one member"},
      {Json{{"other", "x"}}, "unknown object"},
      {Json{{"bytes", 5}}, "members must be strings"},
      {Json{{"float", Json::array()}}, "an array inside an object"},
      {Json{{"bytes", "zz"}}, "not hex"},
      {Json{{"float", "NaN"}}, "not \"nan\""},
      {Json::array({1}), "an array where an item was expected"},
  };
  for (const auto& [json, reason] : cases) {
    try {
      (void)json.get<Item>();
      ADD_FAILURE() << json.dump() << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(reason)) << json.dump();
    }
  }
}

TEST(ItemJsonDom, AStrMustBeUtf8BothWays) {
  const std::string bad("a\xff", 2);
  try {
    (void)Json(Item{bad});
    ADD_FAILURE() << "a str that is not UTF-8 was written";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("not UTF-8"));
  }
  EXPECT_THROW((void)Json(bad).get<Item>(), std::invalid_argument);
  EXPECT_THROW((void)Json(std::string("\xed\xa0\x80")).get<Item>(), std::invalid_argument);
}

TEST(ItemJsonDom, ParseJsonBoundsNesting) {
  const auto nested = [](std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  EXPECT_TRUE(parse_json(nested(kJsonMaxDepth)).is_array());
  EXPECT_TRUE(parse_json(nested(2), 2).is_array());
  for (const auto& [text, limit] : {std::pair{nested(kJsonMaxDepth + 1), kJsonMaxDepth},
                                    std::pair{std::string(1 << 20, '['), kJsonMaxDepth},
                                    std::pair{std::string(R"({"a": [{}]})"), std::size_t{2}}}) {
    try {
      (void)parse_json(text, limit);
      ADD_FAILURE() << text.substr(0, 40) << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr("nested deeper than " + std::to_string(limit)));
    }
  }
  // The text API refuses it as Item JSON.
  EXPECT_THROW((void)items_from_json(std::string(32, '[')), std::invalid_argument);
}

TEST(ItemJsonDom, ParseJsonRefusesWhatTheDomWouldLose) {
  try {
    (void)parse_json(R"({"bytes": "00", "bytes": "01"})");
    ADD_FAILURE() << "a key given twice was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("\"bytes\" twice"));
  }
  EXPECT_NO_THROW((void)parse_json(R"([{"a": 1}, {"a": 2}])"));  // twice, but not in one object
  for (const char* text : {"", "[1,]", "[1] [2]", "\"\xff\""}) {
    try {
      (void)parse_json(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr("not JSON")) << text;
    }
  }
}

}  // namespace
}  // namespace shm
