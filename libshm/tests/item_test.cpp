// shm::Item: Python's == (as ShareableList.count and .index use it), repr() and type names.
#include "libshm/item.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

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

TEST(PythonRepr, RareNonPrintablesAreEscapedInEveryVersion) {
  // Unassigned, Arabic number sign (Cf), language tag (Cf), private use plane 15, musical
  // symbol begin beam (Cf): every CPython 3.8 - 3.13 writes
  // '\u0378\u0600\U000e0001\U000f0000\U0001d173' for their str.
  // The compiler writes the universal character names of a narrow literal as UTF-8.
  const std::string text = "\u0378\u0600\U000E0001\U000F0000\U0001D173";
  for (int minor = kOldestReprMinor; minor <= kNewestReprMinor; ++minor) {
    EXPECT_EQ(python_repr(text, minor), "'\\u0378\\u0600\\U000e0001\\U000f0000\\U0001d173'")
        << "3." << minor;
    for (char32_t cp : {0x378, 0x600, 0xE0001, 0xF0000, 0x1D173}) {
      EXPECT_FALSE(python_isprintable(cp, minor))
          << "3." << minor << " U+" << std::hex << static_cast<unsigned>(cp);
    }
  }
  EXPECT_EQ(python_repr(text), python_repr(text, kNewestReprMinor));
}

TEST(PythonRepr, EachVersionHasItsOwnUnicode) {
  // A character first assigned in each Unicode version (checked with each interpreter's
  // chr(cp).isprintable()): shown as is from that CPython on, escaped before it.
  struct Case {
    char32_t cp;
    const char* text;    // cp as UTF-8
    int from_minor;      // the first CPython 3.x whose repr shows it as is
    const char* escape;  // how the older ones write it
  };
  for (const Case& c : {Case{0x1F6D6, "\U0001F6D6", 9, "\\U0001f6d6"},   // Unicode 13.0 (3.9)
                        Case{0x0870, "\u0870", 11, "\\u0870"},           // Unicode 14.0 (3.11)
                        Case{0x1F6DC, "\U0001F6DC", 12, "\\U0001f6dc"},  // Unicode 15.0 (3.12)
                        Case{0x31EF, "\u31EF", 13, "\\u31ef"}}) {        // Unicode 15.1 (3.13)
    for (int minor = kOldestReprMinor; minor <= kNewestReprMinor; ++minor) {
      const std::string want = std::string("'") + (minor >= c.from_minor ? c.text : c.escape) + "'";
      EXPECT_EQ(python_repr(std::string(c.text), minor), want) << "3." << minor;
      EXPECT_EQ(python_isprintable(c.cp, minor), minor >= c.from_minor) << "3." << minor;
    }
  }
}

TEST(PythonRepr, PrintableMatchesTheAsciiRulesAndTheEnds) {
  for (int minor = kOldestReprMinor; minor <= kNewestReprMinor; ++minor) {
    for (char32_t cp = 0; cp < 0x80; ++cp) {
      EXPECT_EQ(python_isprintable(cp, minor), cp >= 0x20 && cp < 0x7F)
          << static_cast<unsigned>(cp);
    }
    EXPECT_FALSE(python_isprintable(0x10FFFF, minor));  // a noncharacter
    EXPECT_FALSE(python_isprintable(0x110000, minor));  // beyond Unicode
    EXPECT_FALSE(python_isprintable(0xD800, minor));    // a surrogate
    EXPECT_TRUE(python_isprintable(0x20000, minor));    // CJK Extension B
  }
}

TEST(PythonRepr, VersionsWithoutATableAreRefused) {
  for (int minor : {-1, 0, 7, 14, 100}) {
    EXPECT_THROW(python_repr(std::string("x"), minor), std::invalid_argument) << minor;
    EXPECT_THROW(python_repr(std::int64_t{1}, minor), std::invalid_argument) << minor;
    EXPECT_THROW(python_isprintable(U'x', minor), std::invalid_argument) << minor;
  }
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
