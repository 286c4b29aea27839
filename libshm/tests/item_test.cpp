// shm::Item: Python's == (as ShareableList.count and .index use it), repr() and type names.
#include "libshm/item.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "list_test_support.hpp"

namespace shm {
namespace {

const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

TEST(PythonEqual, NumbersCompareByValueAcrossBoolIntAndFloat) {
  // 1 == True == 1.0 and 0 == False == 0.0 == -0.0
  const Item ones[] = {std::int64_t{1}, true, 1.0};
  const Item zeros[] = {std::int64_t{0}, false, 0.0, -0.0};
  for (const Item& a : ones) {
    for (const Item& b : ones) EXPECT_TRUE(python_equal(a, b)) << python_repr(a) << python_repr(b);
    for (const Item& b : zeros) EXPECT_FALSE(python_equal(a, b));
  }
  for (const Item& a : zeros) {
    for (const Item& b : zeros) EXPECT_TRUE(python_equal(a, b)) << python_repr(a) << python_repr(b);
  }
  EXPECT_FALSE(python_equal(std::int64_t{2}, true));
  EXPECT_TRUE(python_equal(2.5, 2.5));
  EXPECT_FALSE(python_equal(2.5, std::int64_t{2}));
}

TEST(PythonEqual, NanEqualsNothingNotEvenItself) {
  EXPECT_FALSE(python_equal(kNan, kNan));
  EXPECT_FALSE(python_equal(kNan, std::int64_t{0}));
  EXPECT_TRUE(python_equal(kInf, kInf));
  EXPECT_FALSE(python_equal(kInf, std::numeric_limits<std::int64_t>::max()));
}

TEST(PythonEqual, IntAgainstFloatIsExactNotRounded) {
  // Python: 2**53 + 1 != 2.0**53, though (double)(2**53 + 1) == 2.0**53.
  const std::int64_t p53 = std::int64_t{1} << 53;
  EXPECT_TRUE(python_equal(p53, 9007199254740992.0));
  EXPECT_FALSE(python_equal(p53 + 1, 9007199254740992.0));
  // int64 max rounds to 2.0**63, which no int64 equals; int64 min is exactly -2.0**63.
  EXPECT_FALSE(python_equal(std::numeric_limits<std::int64_t>::max(), 9223372036854775808.0));
  EXPECT_TRUE(python_equal(std::numeric_limits<std::int64_t>::min(), -9223372036854775808.0));
  EXPECT_FALSE(python_equal(std::int64_t{3}, 3.0000000000000004));
}

TEST(PythonEqual, NoneStrAndBytesEqualOnlyTheirOwnType) {
  EXPECT_TRUE(python_equal(None{}, None{}));
  EXPECT_FALSE(python_equal(None{}, false));
  EXPECT_FALSE(python_equal(None{}, std::int64_t{0}));
  EXPECT_FALSE(python_equal(None{}, std::string()));
  EXPECT_TRUE(python_equal(std::string("a"), std::string("a")));
  EXPECT_FALSE(python_equal(std::string("a"), Bytes{"a"}));  // str != bytes
  EXPECT_TRUE(python_equal(Bytes{std::string("\0a", 2)}, Bytes{std::string("\0a", 2)}));
  EXPECT_FALSE(python_equal(Bytes{"a"}, Bytes{std::string("a\0", 2)}));
  EXPECT_FALSE(python_equal(std::string("1"), std::int64_t{1}));
}

TEST(PythonRepr, ScalarsAsPythonWritesThem) {
  EXPECT_EQ(python_repr(None{}), "None");
  EXPECT_EQ(python_repr(true), "True");
  EXPECT_EQ(python_repr(false), "False");
  EXPECT_EQ(python_repr(std::int64_t{-42}), "-42");
  EXPECT_EQ(python_repr(std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
}

TEST(PythonRepr, FloatsAsFloatRepr) {
  // Expected texts are CPython's repr() of the same doubles.
  const std::pair<double, const char*> cases[] = {
      {1.0, "1.0"},
      {-0.0, "-0.0"},
      {0.0, "0.0"},
      {2.5, "2.5"},
      {0.1, "0.1"},
      {-273.154, "-273.154"},
      {1e16, "1e+16"},
      {1234567890123456.0, "1234567890123456.0"},
      {123456789012345680.0, "1.2345678901234568e+17"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {1.5e-7, "1.5e-07"},
      {1e300, "1e+300"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {100.0, "100.0"},
      {kNan, "nan"},
      {kInf, "inf"},
      {-kInf, "-inf"},
  };
  for (const auto& [value, text] : cases) EXPECT_EQ(python_repr(value), text);
}

TEST(PythonRepr, StrPicksQuotesAndEscapesLikePython) {
  EXPECT_EQ(python_repr(std::string("text")), "'text'");
  EXPECT_EQ(python_repr(std::string("it's")), "\"it's\"");
  EXPECT_EQ(python_repr(std::string("a'b\"c")), "'a\\'b\"c'");
  EXPECT_EQ(python_repr(std::string("\t\n\r\\", 4)), "'\\t\\n\\r\\\\'");
  EXPECT_EQ(python_repr(std::string("\0\x7f", 2)), "'\\x00\\x7f'");
  EXPECT_EQ(python_repr(std::string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80")),
            "'\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80'");                      // printable: as is
  EXPECT_EQ(python_repr(std::string("\xc2\xa0\xc2\x85")), "'\\xa0\\x85'");  // not printable
  EXPECT_EQ(python_repr(std::string("\xe2\x80\xa8\xef\xbb\xbf")), "'\\u2028\\ufeff'");
}

TEST(PythonRepr, BytesEscapeEverythingOutsidePrintableAscii) {
  EXPECT_EQ(python_repr(Bytes{std::string("\0ab", 3)}), "b'\\x00ab'");
  EXPECT_EQ(python_repr(Bytes{"\xff\x80"}), "b'\\xff\\x80'");
  EXPECT_EQ(python_repr(Bytes{"'"}), "b\"'\"");
  EXPECT_EQ(python_repr(Bytes{""}), "b''");
}

TEST(TypeName, PythonTypeNames) {
  EXPECT_EQ(type_name(None{}), "NoneType");
  EXPECT_EQ(type_name(true), "bool");
  EXPECT_EQ(type_name(std::int64_t{1}), "int");
  EXPECT_EQ(type_name(1.0), "float");
  EXPECT_EQ(type_name(std::string("s")), "str");
  EXPECT_EQ(type_name(Bytes{"b"}), "bytes");
}

}  // namespace
}  // namespace shm
