// shm::to_hex / shm::from_hex: Python's bytes.hex() and bytes.fromhex().
#include "libshm/hex.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace shm {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(Hex, ToHexIsLowercaseWithoutSeparators) {
  EXPECT_EQ(to_hex(bytes({0x00, 0x0a, 0xff, 0x80, 0x7f})), "000aff807f");
  EXPECT_EQ(to_hex(std::span<const std::byte>{}), "");
  EXPECT_EQ(to_hex(std::string_view("\x00\xff"
                                    "A",
                                    3)),
            "00ff41");
}

TEST(Hex, FromHexTakesEitherCaseAndWhitespaceBetweenBytes) {
  EXPECT_EQ(from_hex("000aFF807f"), bytes({0x00, 0x0a, 0xff, 0x80, 0x7f}));
  EXPECT_EQ(from_hex(" 0a ff\n\t80\r\n"), bytes({0x0a, 0xff, 0x80}));
  EXPECT_EQ(from_hex(""), bytes({}));
}

TEST(Hex, RoundTripsEveryByte) {
  std::vector<std::byte> all;
  for (int v = 0; v < 256; ++v) all.push_back(static_cast<std::byte>(v));
  EXPECT_EQ(from_hex(to_hex(all)), all);
}

TEST(Hex, BadHexSaysWhereAndWhat) {
  const auto message = [](std::string_view hex) {
    try {
      (void)from_hex(hex);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message("0a0"),
            "invalid hex: odd number of digits (the last byte at position 2 has "
            "one digit)");
  EXPECT_EQ(message("0g"), "invalid hex: non-hex character 'g' at position 1");
  EXPECT_EQ(message("0 a"), "invalid hex: non-hex character ' ' at position 1");  // inside a byte
  EXPECT_EQ(message("\xff"), "invalid hex: non-hex character byte 0xff at position 0");
}

}  // namespace
}  // namespace shm
