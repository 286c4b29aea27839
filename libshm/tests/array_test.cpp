// shm::Dtype, the array views and the .npy header: every dtype spelling, bounds and alignment
// errors, byte swapping, structured fields, header round trips and hostile headers.
#include "libshm/array.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <ranges>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace shm {
namespace {

std::vector<std::byte> buffer(std::size_t n) {
  return std::vector<std::byte>(n);
}

// A buffer whose data() is aligned to 64 bytes, for alignment tests.
struct Aligned {
  alignas(64) std::array<std::byte, 1024> bytes{};
  std::span<std::byte> span() { return bytes; }
};

std::string expect_invalid(const auto& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::invalid_argument";
  return {};
}

TEST(Dtype, EverySimpleSpelling) {
  const std::string other = std::endian::native == std::endian::little ? ">" : "<";
  const std::string native = std::endian::native == std::endian::little ? "<" : ">";
  struct Case {
    std::string in, str;
    DtypeKind kind;
    std::size_t itemsize, alignment;
  };
  std::vector<Case> cases{
      {"|b1", "|b1", DtypeKind::boolean, 1, 1},
      {"b1", "|b1", DtypeKind::boolean, 1, 1},
      {"<b1", "|b1", DtypeKind::boolean, 1, 1},
      {"|i1", "|i1", DtypeKind::signed_integer, 1, 1},
      {"<i1", "|i1", DtypeKind::signed_integer, 1, 1},
      {"|u1", "|u1", DtypeKind::unsigned_integer, 1, 1},
      {"|S1", "|S1", DtypeKind::bytes, 1, 1},
      {">S7", "|S7", DtypeKind::bytes, 7, 1},
      {"|V3", "|V3", DtypeKind::raw, 3, 1},
  };
  for (const char* order : {"<", ">"}) {
    const std::string o = order;
    for (const char* t : {"i2", "i4", "i8"}) {
      cases.push_back({o + t, o + t, DtypeKind::signed_integer, std::size_t(t[1] - '0'),
                       std::size_t(t[1] - '0')});
    }
    for (const char* t : {"u2", "u4", "u8"}) {
      cases.push_back({o + t, o + t, DtypeKind::unsigned_integer, std::size_t(t[1] - '0'),
                       std::size_t(t[1] - '0')});
    }
    for (const char* t : {"f2", "f4", "f8"}) {
      cases.push_back(
          {o + t, o + t, DtypeKind::floating, std::size_t(t[1] - '0'), std::size_t(t[1] - '0')});
    }
    cases.push_back({o + "c8", o + "c8", DtypeKind::complex, 8, 4});
    cases.push_back({o + "c16", o + "c16", DtypeKind::complex, 16, 8});
    cases.push_back({o + "U3", o + "U3", DtypeKind::unicode, 12, 4});
  }
  // '=', '|' and no prefix mean native for multi-byte types.
  for (const char* p : {"=", "|", ""}) {
    cases.push_back({std::string(p) + "f8", native + "f8", DtypeKind::floating, 8, 8});
    cases.push_back({std::string(p) + "U1", native + "U1", DtypeKind::unicode, 4, 4});
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    const Dtype d = Dtype::parse(c.in);
    EXPECT_EQ(d.str(), c.str);
    EXPECT_EQ(d.kind(), c.kind);
    EXPECT_EQ(d.itemsize(), c.itemsize);
    EXPECT_EQ(d.alignment(), c.alignment);
    EXPECT_EQ(Dtype::parse(d.str()), d);
    EXPECT_EQ(Dtype::from_descr(d.descr()), d);
    EXPECT_EQ(d.descr(), "'" + c.str + "'");
    EXPECT_EQ(d.is_native(), c.str[0] != other[0]);
    EXPECT_TRUE(d.native().is_native());
  }
}

TEST(Dtype, ErrorsNameWhatFailed) {
  const std::vector<std::pair<std::string, std::string>> bad{
      {"", "empty"},
      {"<", "no type"},
      {"<f", "no size"},
      {"<f16", "long double"},
      {"<f3", "not 3"},
      {"<i3", "not 3"},
      {"b2", "'b1'"},
      {"<c4", "complex"},
      {"|S0", "size 0"},
      {"<U0", "size 0"},
      {"<M8", "datetime"},
      {"|O", "no size"},
      {"|O8", "object"},
      {"<q8", "unknown type code 'q'"},
      {"<f8x", "not a number"},
      {"<f08", "leading zero"},
      {"|S99999999999", "too large"},
      {"<U1000000000", "too large"},
  };
  for (const auto& [in, why] : bad) {
    SCOPED_TRACE(in);
    const std::string msg = expect_invalid([&] { (void)Dtype::parse(in); });
    EXPECT_NE(msg.find("'" + in + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(why), std::string::npos) << msg;
  }
}

TEST(Dtype, StructuredFromDescr) {
  const Dtype d = Dtype::from_descr(
      "[('a', '<i4'), ('', '|V4'), ('b', '>f8'), ('s', '|S3', (2,)), "
      "('n', [('x', '<u2'), ('y', '|b1')], (2, 2)), ('', '|V1')]");
  ASSERT_EQ(d.kind(), DtypeKind::structured);
  ASSERT_EQ(d.fields().size(), 4u);
  EXPECT_EQ(d.field("a").offset, 0u);
  EXPECT_EQ(d.field("b").offset, 8u);
  EXPECT_EQ(d.field("b").dtype.str(), ">f8");
  EXPECT_EQ(d.field("s").offset, 16u);
  EXPECT_EQ(d.field("s").shape, std::vector<std::size_t>{2});
  EXPECT_EQ(d.field("n").offset, 22u);
  EXPECT_EQ(d.field("n").dtype.itemsize(), 3u);
  EXPECT_EQ(d.field("n").size(), 12u);
  EXPECT_EQ(d.itemsize(), 35u);
  EXPECT_EQ(d.str(), "|V35");
  EXPECT_FALSE(d.is_native() && std::endian::native == std::endian::little);
  EXPECT_EQ(d.descr(),
            "[('a', '<i4'), ('', '|V4'), ('b', '>f8'), ('s', '|S3', (2,)), "
            "('n', [('x', '<u2'), ('y', '|b1')], (2, 2)), ('', '|V1')]");
  EXPECT_EQ(Dtype::from_descr(d.descr()), d);
  expect_invalid([&] { (void)d.field("zz"); });
  // The descr of a plain dtype, and numpy's default names for unnamed fields.
  EXPECT_EQ(Dtype::from_descr("[('', '>f4')]"), Dtype::parse(">f4"));
  const Dtype unnamed = Dtype::from_descr("[('', '<i2'), ('', '<i2')]");
  EXPECT_EQ(unnamed.fields().at(1).name, "f1");
  // Names are any str, quoted either way, with escapes.
  const Dtype named = Dtype::from_descr(R"([("it's", '<i2'), ('\u00e9\n', '<i2')])");
  EXPECT_EQ(named.fields().at(0).name, "it's");
  EXPECT_EQ(named.fields().at(1).name, "\xc3\xa9\n");
  EXPECT_EQ(Dtype::from_descr(named.descr()), named);
}

TEST(Dtype, StructuredErrors) {
  for (const char* bad : {"[('a', '<i4'), ('a', '<i4')]", "[('a', '<x4')]", "[('a',)]",
                          "[(('t', 'a'), '<i4')]", "[('a', '<i4', (-1,))]", "[('a', '<i4'",
                          "{'a': 1}", "[('a', '<i4', 'x')]", "'<f8' '<f8'", "[1]"}) {
    SCOPED_TRACE(bad);
    const std::string msg = expect_invalid([&] { (void)Dtype::from_descr(bad); });
    EXPECT_NE(msg.find("cannot parse dtype"), std::string::npos) << msg;
  }
  Field a{"a", Dtype::parse("<i4"), 0, {}};
  Field b{"b", Dtype::parse("<i4"), 2, {}};
  EXPECT_NE(expect_invalid([&] {
              (void)Dtype::structured({a, b}, 8);
            }).find("overlaps"),
            std::string::npos);
  b.offset = 6;
  EXPECT_NE(expect_invalid([&] {
              (void)Dtype::structured({a, b}, 8);
            }).find("does not fit"),
            std::string::npos);
  b.offset = 4;
  const Dtype ok = Dtype::structured({b, a}, 8);
  EXPECT_EQ(ok.fields().at(0).name, "a");
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "[('a', ";
  expect_invalid([&] { (void)Dtype::from_descr(deep); });
}

TEST(Float16, ConvertsAsNumpy) {
  EXPECT_EQ(Float16::from_float(1.0f).bits, 0x3c00);
  EXPECT_EQ(Float16::from_float(-2.0f).bits, 0xc000);
  EXPECT_EQ(Float16::from_float(65504.0f).bits, 0x7bff);
  EXPECT_EQ(Float16::from_float(65520.0f).bits, 0x7c00);  // rounds up to inf
  EXPECT_EQ(Float16::from_float(std::numeric_limits<float>::infinity()).bits, 0x7c00);
  EXPECT_EQ(Float16::from_float(5.9604645e-08f).bits, 0x0001);  // smallest subnormal
  EXPECT_EQ(Float16::from_float(2.9802322e-08f).bits, 0x0000);  // half of it: ties to even
  EXPECT_EQ(Float16::from_float(-0.0f).bits, 0x8000);
  EXPECT_TRUE(std::isnan(Float16{0x7e00}.to_float()));
  EXPECT_EQ(Float16::from_float(Float16{0x7e01}.to_float()).bits, 0x7e01);  // payload kept
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const Float16 h{static_cast<std::uint16_t>(b)};
    if ((b & 0x7c00) == 0x7c00 && (b & 0x3ff) != 0) continue;  // NaNs: checked above
    ASSERT_EQ(Float16::from_float(h.to_float()).bits, h.bits) << b;
  }
  // 1 + 2^-11 is halfway between 1 and the next half: ties to even (1.0).
  EXPECT_EQ(Float16::from_float(1.0f + 0x1p-11f).bits, 0x3c00);
  EXPECT_EQ(Float16::from_float(1.0f + 0x1p-11f + 0x1p-20f).bits, 0x3c01);
}

static_assert(std::ranges::input_range<TypedView<double>>);
static_assert(std::ranges::input_range<TypedView<const std::int16_t>>);

TEST(ArrayView, CAndFortranOrderAndExplicitStrides) {
  auto bytes = buffer(6 * 8);
  const std::vector<std::size_t> shape{2, 3};
  ArrayView c(bytes, Dtype::parse("<f8"), shape);
  EXPECT_EQ(std::vector<std::ptrdiff_t>(c.strides().begin(), c.strides().end()),
            (std::vector<std::ptrdiff_t>{24, 8}));
  ArrayView f(bytes, Dtype::parse("<f8"), shape, Order::F);
  EXPECT_EQ(std::vector<std::ptrdiff_t>(f.strides().begin(), f.strides().end()),
            (std::vector<std::ptrdiff_t>{8, 16}));
  auto typed = c.as<double>();
  double k = 0;
  for (double& x : typed) x = k++;
  EXPECT_EQ(typed(1, 2), 5.0);
  EXPECT_EQ(f.as<double>()(1, 0), 1.0);  // memory element 1
  EXPECT_EQ(f.as<double>()(0, 1), 2.0);
  // Iteration is in C order whatever the strides: F-order view of the same memory.
  std::vector<double> seen;
  for (const double x : f.as<double>()) seen.push_back(x);
  EXPECT_EQ(seen, (std::vector<double>{0, 2, 4, 1, 3, 5}));
  // Negative strides: the rows reversed.
  const std::vector<std::ptrdiff_t> rev{-24, 8};
  ConstArrayView r(std::span<const std::byte>(bytes), Dtype::parse("<f8"), shape, rev, 24);
  EXPECT_EQ(r.get<double>(0, 0), 3.0);
  EXPECT_EQ(r.get<double>(1, 2), 2.0);
  // Zero strides broadcast.
  const std::vector<std::ptrdiff_t> zero{0, 8};
  ConstArrayView z(std::span<const std::byte>(bytes), Dtype::parse("<f8"), shape, zero);
  EXPECT_EQ(z.get<double>(1, 1), 1.0);
  EXPECT_EQ(typed.contiguous().size(), 6u);
  EXPECT_EQ(std::ranges::count(f.as<double>(), 4.0), 1);
  EXPECT_THROW((void)f.as<double>().contiguous(), std::logic_error);
  EXPECT_THROW((void)typed(2, 0), std::out_of_range);
  EXPECT_THROW((void)typed(0), std::out_of_range);
  EXPECT_THROW((void)c.get<double>(0, 3), std::out_of_range);
}

TEST(ArrayView, BoundsCheckedWhenMade) {
  auto bytes = buffer(48);
  const std::vector<std::size_t> shape{2, 3};
  const Dtype f8 = Dtype::parse("<f8");
  EXPECT_NO_THROW(ArrayView(bytes, f8, shape));
  EXPECT_NE(expect_invalid([&] {
              ArrayView(std::span(bytes).first(47), f8, shape);
            }).find("past the end"),
            std::string::npos);
  expect_invalid([&] { ArrayView(bytes, f8, shape, Order::C, 8); });
  expect_invalid([&] { ArrayView(bytes, f8, shape, Order::C, 49); });
  const std::vector<std::ptrdiff_t> neg{-24, 8};
  EXPECT_NE(expect_invalid([&] { ArrayView(bytes, f8, shape, neg, 0); }).find("before"),
            std::string::npos);
  const std::vector<std::ptrdiff_t> huge{std::numeric_limits<std::ptrdiff_t>::max(), 8};
  expect_invalid([&] { ArrayView(bytes, f8, shape, huge, 0); });
  const std::vector<std::ptrdiff_t> one{8};
  expect_invalid([&] { ArrayView(bytes, f8, shape, one, 0); });
  const std::vector<std::size_t> big{std::size_t{1} << 62, 8};
  expect_invalid([&] { ArrayView(bytes, f8, big); });
  const std::vector<std::size_t> dims(33, 1);
  expect_invalid([&] { ArrayView(bytes, f8, dims); });
  // An empty array needs no bytes, even at the end of the buffer.
  const std::vector<std::size_t> empty{0, 1000};
  ArrayView e(bytes, f8, empty, Order::C, 48);
  EXPECT_EQ(e.size(), 0u);
  EXPECT_TRUE(e.as<double>().begin() == std::default_sentinel);
}

TEST(ArrayView, AlignmentCheckedWhenMade) {
  Aligned a;
  const std::vector<std::size_t> shape{4};
  const Dtype f8 = Dtype::parse("<f8");
  EXPECT_NE(
      expect_invalid([&] { ArrayView(a.span(), f8, shape, Order::C, 4); }).find("not aligned"),
      std::string::npos);
  const std::vector<std::ptrdiff_t> odd{12};
  EXPECT_NE(expect_invalid([&] { ArrayView(a.span(), f8, shape, odd, 0); }).find("stride"),
            std::string::npos);
  // Unaligned views are allowed on request; load/store work, as<T>() refuses.
  ArrayView u(a.span(), f8, shape, Order::C, 4, Alignment::any);
  u.store<double>(std::array<std::size_t, 1>{3}, 2.5);
  EXPECT_EQ(u.get<double>(3), 2.5);
  double check = 0;
  std::memcpy(&check, a.bytes.data() + 4 + 24, 8);
  EXPECT_EQ(check, 2.5);
  expect_invalid([&] { (void)u.as<double>(); });
  // One-byte and structured dtypes need no alignment.
  EXPECT_NO_THROW(ArrayView(a.span(), Dtype::parse("|u1"), shape, Order::C, 3));
}

TEST(ArrayView, CompileTimeTypesCheckedAgainstTheDtype) {
  Aligned a;
  const std::vector<std::size_t> shape{4};
  ArrayView f4(a.span(), Dtype::parse("<f4"), shape);
  EXPECT_NE(expect_invalid([&] { (void)f4.as<double>(); }).find("<f4"), std::string::npos);
  expect_invalid([&] { (void)f4.as<std::int32_t>(); });
  expect_invalid([&] { (void)f4.as<std::uint32_t>(); });
  EXPECT_NO_THROW((void)f4.as<float>());
  ArrayView i4(a.span(), Dtype::parse("<i4"), shape);
  expect_invalid([&] { (void)i4.as<std::uint32_t>(); });
  expect_invalid([&] { (void)i4.load<std::int64_t>(std::array<std::size_t, 1>{0}); });
  ArrayView c8(a.span(), Dtype::parse("<c8"), shape);
  EXPECT_NO_THROW((void)c8.as<std::complex<float>>());
  expect_invalid([&] { (void)c8.as<std::complex<double>>(); });
  ArrayView b1(a.span(), Dtype::parse("|b1"), shape);
  expect_invalid([&] { (void)b1.load<std::uint8_t>(std::array<std::size_t, 1>{0}); });
  a.bytes[2] = std::byte{7};
  EXPECT_TRUE(b1.get<bool>(2));
  EXPECT_FALSE(b1.get<bool>(1));
  b1.store(std::array<std::size_t, 1>{1}, true);
  EXPECT_EQ(a.bytes[1], std::byte{1});
  ArrayView f2(a.span(), Dtype::parse("<f2"), shape);
  f2.as<Float16>()(0) = Float16::from_float(1.5f);
  EXPECT_EQ(f2.get<Float16>(0).to_float(), 1.5f);
  // A non-native view refuses references and reads through load.
  const char* swapped = std::endian::native == std::endian::little ? ">f8" : "<f8";
  ArrayView be(a.span(), Dtype::parse(swapped), shape);
  EXPECT_NE(expect_invalid([&] { (void)be.as<double>(); }).find("byte order"), std::string::npos);
}

TEST(ArrayView, ByteSwapping) {
  Aligned a;
  const std::vector<std::size_t> shape{2};
  const std::array<std::size_t, 1> i0{0};
  const std::array<std::size_t, 1> i1{1};
  const bool little = std::endian::native == std::endian::little;
  auto bytes_at = [&](std::size_t off, std::size_t n) {
    return std::vector<std::byte>(a.bytes.begin() + off, a.bytes.begin() + off + n);
  };
  ArrayView be(a.span(), Dtype::parse(">u4"), shape);
  be.store<std::uint32_t>(i1, 0x01020304u);
  EXPECT_EQ(bytes_at(4, 4),
            (std::vector<std::byte>{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}}));
  EXPECT_EQ(be.load<std::uint32_t>(i1), 0x01020304u);
  ArrayView le(a.span(), Dtype::parse("<u4"), shape);
  EXPECT_EQ(le.load<std::uint32_t>(i1), 0x04030201u);
  ArrayView bf(a.span(), Dtype::parse(">f8"), shape);
  bf.store(i0, -1.5);
  EXPECT_EQ(a.bytes[0], std::byte{0xbf});
  EXPECT_EQ(a.bytes[1], std::byte{0xf8});
  EXPECT_EQ(bf.load<double>(i0), -1.5);
  ArrayView bc(a.span(), Dtype::parse(">c16"), shape);
  bc.store(i1, std::complex<double>(1.0, -2.0));
  EXPECT_EQ(a.bytes[16], std::byte{0x3f});
  EXPECT_EQ(a.bytes[24], std::byte{0xc0});
  EXPECT_EQ(bc.load<std::complex<double>>(i1), std::complex<double>(1.0, -2.0));
  ArrayView bu(a.span(), Dtype::parse(">U2"), shape);
  bu.set_text(i0, "\xc3\xa9");  // U+00E9
  EXPECT_EQ(bytes_at(0, 8),
            (std::vector<std::byte>{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0xe9},
                                    std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}}));
  EXPECT_EQ(bu.text(i0), "\xc3\xa9");
  (void)little;
}

TEST(ArrayView, TextElements) {
  Aligned a;
  const std::vector<std::size_t> shape{3};
  const std::array<std::size_t, 1> i0{0};
  ArrayView s(a.span(), Dtype::parse("|S4"), shape);
  s.set_text(i0, "ab");
  EXPECT_EQ(s.text(i0), "ab");
  EXPECT_EQ(a.bytes[2], std::byte{0});
  s.set_text(i0, std::string("a\0b\0", 4));
  EXPECT_EQ(s.text(i0), std::string("a\0b", 3));  // trailing NULs only
  expect_invalid([&] { s.set_text(i0, "abcde"); });
  ArrayView u(a.span(), Dtype::parse("<U2"), shape);
  u.set_text(i0, "\xf0\x9f\x98\x80x");  // U+1F600 'x'
  EXPECT_EQ(u.text(i0), "\xf0\x9f\x98\x80x");
  expect_invalid([&] { u.set_text(i0, "abc"); });
  expect_invalid([&] { u.set_text(i0, "\xff"); });
  const std::uint32_t surrogate = 0xD800;
  std::memcpy(a.bytes.data(), &surrogate, 4);
  expect_invalid([&] { (void)u.text(i0); });
  ArrayView f(a.span(), Dtype::parse("<f8"), shape);
  expect_invalid([&] { (void)f.text(i0); });
}

TEST(ArrayView, StructuredFields) {
  Aligned a;
  const Dtype d =
      Dtype::from_descr("[('id', '<i4'), ('', '|V4'), ('xy', '<f8', (2,)), ('tag', '|S3')]");
  ASSERT_EQ(d.itemsize(), 27u);
  const std::vector<std::size_t> shape{3};
  ArrayView rec(a.span(), d, shape);
  auto id = rec.field("id");
  EXPECT_EQ(id.dtype().str(), "<i4");
  EXPECT_EQ(id.strides()[0], 27);
  // Records of 27 bytes leave fields unaligned: id of record 1 at offset 27.
  expect_invalid([&] { (void)id.as<std::int32_t>(); });
  id.store<std::int32_t>(std::array<std::size_t, 1>{1}, -7);
  std::int32_t raw = 0;
  std::memcpy(&raw, a.bytes.data() + 27, 4);
  EXPECT_EQ(raw, -7);
  auto xy = rec.field("xy");
  ASSERT_EQ(xy.ndim(), 2u);
  EXPECT_EQ(xy.shape()[1], 2u);
  EXPECT_EQ(xy.strides()[1], 8);
  xy.store<double>(std::array<std::size_t, 2>{2, 1}, 4.25);
  double v = 0;
  std::memcpy(&v, a.bytes.data() + 2 * 27 + 8 + 8, 8);
  EXPECT_EQ(v, 4.25);
  rec.field("tag").set_text(std::array<std::size_t, 1>{0}, "abc");
  EXPECT_EQ(std::memcmp(a.bytes.data() + 24, "abc", 3), 0);
  expect_invalid([&] { (void)rec.field("nope"); });
  // Bounds: 3 records of 27 bytes need 81 bytes.
  expect_invalid([&] { ArrayView(a.span().first(80), d, shape); });
}

TEST(ArrayView, ConstAndReadOnlyBlocks) {
  test::BlockCleanup cleanup;
  auto block = SharedMemory::create(64, cleanup.fresh());
  const std::vector<std::size_t> shape{8};
  ArrayView w(block, Dtype::parse("<i8"), shape);
  w.as<std::int64_t>()(3) = 42;
  auto ro = SharedMemory::attach(block.name(), {.read_only = true});
  EXPECT_NE(expect_invalid([&] { ArrayView(ro, Dtype::parse("<i8"), shape); }).find("read-only"),
            std::string::npos);
  ConstArrayView r(ro, Dtype::parse("<i8"), shape);
  const std::int64_t& ref = r.as<std::int64_t>()(3);
  EXPECT_EQ(ref, 42);
  ConstArrayView converted = w;
  EXPECT_EQ(converted.get<std::int64_t>(3), 42);
  block.unlink();
}

TEST(NpyHeader, SameBytesAsNumpyWrites) {
  // Printed by numpy 1.24 (np.lib.format.write_array) for np.zeros((2, 3), '<f8').
  const std::string expected = std::string("\x93NUMPY\x01\x00v\x00", 10) +
                               "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" +
                               std::string(58, ' ') + "\n";
  const std::vector<std::size_t> shape{2, 3};
  const auto h = make_npy_header(Dtype::parse("<f8"), shape);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(h.data()), h.size()), expected);
  EXPECT_EQ(h.size() % 64, 0u);
}

TEST(NpyHeader, RoundTrips) {
  std::mt19937_64 rng(12345);
  const std::vector<std::string> descrs{"'<f8'",
                                        "'>i2'",
                                        "'|b1'",
                                        "'<U3'",
                                        "'|S5'",
                                        "'<c16'",
                                        "'>f2'",
                                        "[('a', '<i4'), ('', '|V4'), ('b', '>f8')]",
                                        "[('\\u00e9', '<i4')]"};
  for (const auto& text : descrs) {
    const Dtype d = Dtype::from_descr(text);
    for (int k = 0; k < 20; ++k) {
      std::vector<std::size_t> shape(rng() % 5);
      for (auto& s : shape) s = rng() % 4;
      const Order order = rng() % 2 ? Order::F : Order::C;
      const auto h = make_npy_header(d, shape, order);
      ASSERT_EQ(h.size() % 64, 0u);
      std::size_t n = d.itemsize();
      for (auto s : shape) n *= s;
      std::vector<std::byte> block(h);
      block.resize(h.size() + n);
      const NpyHeader r = read_npy_header(block);
      EXPECT_EQ(r.dtype, d);
      EXPECT_EQ(r.shape, shape);
      EXPECT_EQ(r.fortran_order, order == Order::F);
      EXPECT_EQ(r.data_offset, h.size());
      EXPECT_EQ(r.nbytes, n);
      EXPECT_EQ(r.version.first, text.find("\\u") != std::string::npos ? 3 : 1);
      if (n > 0) {
        block.pop_back();
        EXPECT_THROW((void)read_npy_header(block), NpyHeaderError);
      }
    }
  }
  // A header longer than 65535 bytes is version 2.0.
  std::vector<Field> fields;
  for (std::size_t i = 0; i < 4000; ++i) {
    fields.push_back({"field_number_" + std::to_string(i), Dtype::parse("<i4"), 4 * i, {}});
  }
  const Dtype wide = Dtype::structured(fields, 16000);
  const std::vector<std::size_t> shape{1};
  auto h = make_npy_header(wide, shape);
  EXPECT_EQ(h[6], std::byte{2});
  h.resize(h.size() + 16000);
  EXPECT_EQ(read_npy_header(h).dtype, wide);
}

std::vector<std::byte> header_bytes(const std::string& dict, int major = 1,
                                    std::size_t extra = 64) {
  std::string s = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const std::size_t len = dict.size();
  s += static_cast<char>(len & 0xff);
  s += static_cast<char>(len >> 8);
  if (major != 1) s += std::string(2, '\0');
  s += dict;
  s += std::string(extra, '\0');
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

TEST(NpyHeader, HostileHeadersGiveLayoutError) {
  const std::vector<std::string> bad{
      "{'descr': '<f8', 'fortran_order': False}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}",
      "{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': [2]}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (9,)}",  // 72 bytes > 64
      "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
      "{'descr': '|O', 'fortran_order': False, 'shape': (2,)}",
      "{'descr': 5, 'fortran_order': False, 'shape': (2,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
      "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)}",
      "['descr']",
      "",
  };
  for (const auto& dict : bad) {
    SCOPED_TRACE(dict);
    EXPECT_THROW((void)read_npy_header(header_bytes(dict)), NpyHeaderError);
  }
  EXPECT_NO_THROW((void)read_npy_header(
      header_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (8,)}")));
  EXPECT_THROW((void)read_npy_header(header_bytes("{}", 4)), NpyHeaderError);
  auto truncated = header_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': ()}", 1, 0);
  EXPECT_THROW((void)read_npy_header(std::span(truncated).first(truncated.size() - 2)),
               NpyHeaderError);
  auto no_magic = header_bytes("{}");
  no_magic[1] = std::byte{'X'};
  EXPECT_THROW((void)read_npy_header(no_magic), NpyHeaderError);
  EXPECT_THROW((void)read_npy_header(std::span(no_magic).first(9)), NpyHeaderError);
  // A length field far past the block: an error, no read.
  auto long_len = header_bytes("{}", 2, 0);
  long_len[11] = std::byte{0x7f};
  try {
    (void)read_npy_header(long_len);
    ADD_FAILURE();
  } catch (const NpyHeaderError& e) {
    EXPECT_EQ(e.offset(), 8u);
    EXPECT_NE(std::string(e.what()).find("runs past"), std::string::npos);
  }
}

TEST(NpyHeader, ReadsAHeaderFromTheFirstBytesOfABlock) {
  const std::vector<std::size_t> shape{1000, 3};
  const auto h = make_npy_header(Dtype::parse("<f8"), shape);
  const std::size_t size = h.size() + 24000;
  const NpyHeader r = read_npy_header(h, size);
  EXPECT_EQ(r.shape, shape);
  EXPECT_EQ(r.data_offset, h.size());
  EXPECT_EQ(r.nbytes, 24000u);
  // The data must fit in the block, not in what was read.
  EXPECT_THROW((void)read_npy_header(h, size - 1), NpyHeaderError);
  // Fewer bytes than the header: a NpyHeaderError saying so, at offset 0 or 8.
  for (const std::size_t n : {std::size_t{0}, std::size_t{9}, std::size_t{11}, h.size() - 1}) {
    SCOPED_TRACE(n);
    try {
      (void)read_npy_header(std::span(h).first(n), size);
      ADD_FAILURE();
    } catch (const NpyHeaderError& e) {
      EXPECT_EQ(e.offset(), n < 10 ? 0u : 8u);
      EXPECT_NE(std::string(e.what()).find("bytes read"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW((void)read_npy_header(h, 5), std::invalid_argument);
}

TEST(NpyArray, CreateAttachAndViews) {
  test::BlockCleanup cleanup;
  const std::string name = cleanup.fresh();
  auto a = NpyArray::create(Dtype::parse("<i4"), {3, 4}, {.order = Order::F, .name = name});
  EXPECT_EQ(a.name(), name);
  EXPECT_EQ(a.header().data_offset % 64, 0u);
  EXPECT_EQ(a.shm().size(), a.header().data_offset + 48);
  auto v = a.view().as<std::int32_t>();
  v(2, 3) = 99;
  auto b = NpyArray::attach(name);
  EXPECT_EQ(b.order(), Order::F);
  EXPECT_EQ(b.dtype().str(), "<i4");
  EXPECT_EQ(b.cview().get<std::int32_t>(2, 3), 99);
  std::int32_t last = 0;
  std::memcpy(&last, b.shm().buf().data() + b.header().data_offset + 44, 4);
  EXPECT_EQ(last, 99);  // Fortran order: (2, 3) is the last element
  auto ro = NpyArray::attach(name, {.read_only = true});
  EXPECT_THROW((void)ro.view(), std::invalid_argument);
  EXPECT_EQ(ro.cview().get<std::int32_t>(2, 3), 99);
  // A block that is not an .npy block.
  const std::string other = cleanup.fresh();
  SharedMemory::create(100, other).close();
  EXPECT_THROW((void)NpyArray::attach(other), NpyHeaderError);
  a.shm().unlink();
  unlink_block(other);
  EXPECT_FALSE(test::block_exists(name));
  EXPECT_THROW((void)NpyArray::create(Dtype::parse("<f8"), {std::size_t{1} << 62, 8}),
               std::invalid_argument);
}

}  // namespace
}  // namespace shm

namespace shm {
namespace {

// The README's example, as written there.
TEST(NpyArray, ReadmeExample) {
  auto a = shm::NpyArray::create(shm::Dtype::parse("<f8"), {1000, 3});  // header + 24,000 bytes
  auto v = a.view().as<double>();  // as<float>() would throw: the dtype is <f8
  v(999, 2) = 1.5;                 // numpy: arr[999, 2] == 1.5
  double sum = 0;
  for (double x : v) sum += x;               // C order
  auto b = shm::NpyArray::attach(a.name());  // dtype, shape, order from the header
  double x = b.cview().get<double>(999, 2);  // get/load/store byte-swap a non-native dtype
  a.shm().unlink();
  EXPECT_EQ(sum, 1.5);
  EXPECT_EQ(x, 1.5);
  EXPECT_EQ(a.shm().size(), 24000u + a.header().data_offset);
  EXPECT_THROW((void)a.view().as<float>(), std::invalid_argument);
  EXPECT_FALSE(test::block_exists(a.name()));
}

}  // namespace
}  // namespace shm
