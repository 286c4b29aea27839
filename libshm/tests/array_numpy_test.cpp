// shm's array views against numpy itself, in an embedded system CPython (Debian's python3 with
// numpy): random dtypes, shapes, strides, orders and offsets over one shared block, read and
// written by both sides and compared element for element, bit for bit (NaN payloads, -0.0).
// LIBSHM_ARRAY_SEED fixes the seed (printed), LIBSHM_ARRAY_COUNT the number of arrays (1,000).
// Also: Float16 against numpy's conversions, and .npy blocks across the two (the stdlib + numpy
// recipe of compat/python/README.md, "Arrays").
#include <gtest/gtest.h>
#include <pybind11/embed.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "libshm/array.hpp"
#include "test_support.hpp"

namespace py = pybind11;

namespace shm {
namespace {

const char* const kPython = R"(
import ast, io
import numpy as np
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

np.seterr(over='ignore')  # float32 -> float16 overflows to inf on purpose

def attach_untracked(name):
    shm = SharedMemory(name)
    resource_tracker.unregister(shm._name, "shared_memory")
    return shm

def make(buf, descr, shape, strides, offset):
    dt = np.lib.format.descr_to_dtype(ast.literal_eval(descr))
    return np.ndarray(tuple(shape), dt, buffer=buf, offset=offset, strides=tuple(strides))

def leaves(a):
    # (array, kind) for every simple-dtype part of a, fields in offset order, as C++ walks them.
    if a.dtype.names is None:
        return [a]
    out = []
    for name, (fdt, off, *_) in sorted(a.dtype.fields.items(), key=lambda kv: kv[1][1]):
        out += leaves(a[name])
    return out

def native_bytes(a):
    k = a.dtype.kind
    if k == 'b':
        return np.array(a.tolist(), dtype='u1').tobytes()
    if k == 'S':
        return [bytes(x) for x in a.flat]
    if k == 'U':
        return [str(x).encode('utf-8') for x in a.flat]
    return a.astype(a.dtype.newbyteorder('=')).tobytes()

def read_all(a):
    return [native_bytes(x) for x in leaves(a)]

def fill_text(a, seed):
    rng = np.random.default_rng(seed)
    alphabet = ['a', 'Z', '0', ' ', '\u00e9', '\u4e2d', '\U0001f600', '\x7f', '\u07ff']
    for x in leaves(a):
        if x.dtype.kind == 'U':
            n = x.dtype.itemsize // 4
            for idx in np.ndindex(x.shape):
                x[idx] = ''.join(rng.choice(alphabet) for _ in range(rng.integers(0, n + 1)))

def same_as(a, expected):
    got = read_all(a)
    for g, e in zip(got, expected):
        if g != e:
            return repr((g, e))[:400]
    return ''
)";

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::stoull(text) : fallback;
}

class ArrayNumpy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    interpreter_ = new py::scoped_interpreter();
    py::module_::import("multiprocessing.spawn").attr("set_executable")(LIBSHM_TEST_PYTHON);
    py::exec(kPython);
  }
  static void TearDownTestSuite() {
    delete interpreter_;
    interpreter_ = nullptr;
  }
  static py::object fn(const char* name) { return py::globals()[name]; }
  static inline py::scoped_interpreter* interpreter_ = nullptr;
};

// Every simple-dtype leaf of a view, in the order numpy's `leaves` gives them.
void leaves(const ArrayView& v, std::vector<ArrayView>& out) {
  if (v.dtype().kind() != DtypeKind::structured) {
    out.push_back(v);
    return;
  }
  for (const auto& f : v.dtype().fields()) leaves(v.field(f.name), out);
}

// Calls f(index) for every index of shape in C order.
template <typename F>
void each_index(std::span<const std::size_t> shape, F&& f) {
  std::vector<std::size_t> idx(shape.size(), 0);
  for (const auto d : shape) {
    if (d == 0) return;
  }
  while (true) {
    f(std::span<const std::size_t>(idx));
    std::size_t d = shape.size();
    while (d > 0) {
      if (++idx[d - 1] < shape[d - 1]) break;
      idx[d - 1] = 0;
      --d;
    }
    if (d == 0) return;
  }
}

template <typename T>
void append(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// What C++ reads: native bytes in C order through load<T>() (and, for native aligned views,
// the same through as<T>() iteration), or the texts.
template <typename T>
std::string read_numeric(const ArrayView& v) {
  std::string out;
  each_index(v.shape(), [&](auto idx) {
    const T x = v.load<T>(idx);
    if constexpr (std::is_same_v<T, bool>) {
      out += static_cast<char>(x ? 1 : 0);
    } else {
      append(out, x);
    }
  });
  if constexpr (!std::is_same_v<T, bool>) {
    bool aligned = true;
    try {
      (void)v.as<T>();
    } catch (const std::invalid_argument&) {
      aligned = false;
    }
    if (aligned) {  // iteration must give the same elements
      std::string it;
      for (const T& x : v.as<T>()) append(it, x);
      EXPECT_EQ(it, out) << "as<T>() iteration differs from load<T>()";
    }
  }
  return out;
}

py::object read_leaf(const ArrayView& v) {
  const Dtype& d = v.dtype();
  switch (d.kind()) {
    case DtypeKind::boolean:
      return py::bytes(read_numeric<bool>(v));
    case DtypeKind::signed_integer:
      switch (d.itemsize()) {
        case 1:
          return py::bytes(read_numeric<std::int8_t>(v));
        case 2:
          return py::bytes(read_numeric<std::int16_t>(v));
        case 4:
          return py::bytes(read_numeric<std::int32_t>(v));
        default:
          return py::bytes(read_numeric<std::int64_t>(v));
      }
    case DtypeKind::unsigned_integer:
      switch (d.itemsize()) {
        case 1:
          return py::bytes(read_numeric<std::uint8_t>(v));
        case 2:
          return py::bytes(read_numeric<std::uint16_t>(v));
        case 4:
          return py::bytes(read_numeric<std::uint32_t>(v));
        default:
          return py::bytes(read_numeric<std::uint64_t>(v));
      }
    case DtypeKind::floating:
      switch (d.itemsize()) {
        case 2:
          return py::bytes(read_numeric<Float16>(v));
        case 4:
          return py::bytes(read_numeric<float>(v));
        default:
          return py::bytes(read_numeric<double>(v));
      }
    case DtypeKind::complex:
      return py::bytes(d.itemsize() == 8 ? read_numeric<std::complex<float>>(v)
                                         : read_numeric<std::complex<double>>(v));
    default: {
      py::list texts;
      each_index(v.shape(), [&](auto idx) { texts.append(py::bytes(v.text(idx))); });
      return texts;
    }
  }
}

// C++ writes random values; returns what numpy must then read (native bytes or texts).
class Writer {
 public:
  explicit Writer(std::mt19937_64& rng) : rng_(rng) {}

  py::object write_leaf(const ArrayView& v) {
    const Dtype& d = v.dtype();
    switch (d.kind()) {
      case DtypeKind::boolean:
        return py::bytes(numeric<bool>(v));
      case DtypeKind::signed_integer:
        switch (d.itemsize()) {
          case 1:
            return py::bytes(numeric<std::int8_t>(v));
          case 2:
            return py::bytes(numeric<std::int16_t>(v));
          case 4:
            return py::bytes(numeric<std::int32_t>(v));
          default:
            return py::bytes(numeric<std::int64_t>(v));
        }
      case DtypeKind::unsigned_integer:
        switch (d.itemsize()) {
          case 1:
            return py::bytes(numeric<std::uint8_t>(v));
          case 2:
            return py::bytes(numeric<std::uint16_t>(v));
          case 4:
            return py::bytes(numeric<std::uint32_t>(v));
          default:
            return py::bytes(numeric<std::uint64_t>(v));
        }
      case DtypeKind::floating:
        switch (d.itemsize()) {
          case 2:
            return py::bytes(numeric<Float16>(v));
          case 4:
            return py::bytes(numeric<float>(v));
          default:
            return py::bytes(numeric<double>(v));
        }
      case DtypeKind::complex:
        return py::bytes(d.itemsize() == 8 ? numeric<std::complex<float>>(v)
                                           : numeric<std::complex<double>>(v));
      default: {
        // Zero strides write one element more than once: numpy reads the last text written.
        std::map<std::size_t, std::string> last;
        each_index(v.shape(), [&](auto idx) {
          const std::string t = text(d);
          v.set_text(idx, t);
          last[v.byte_offset(idx)] = t;
        });
        py::list texts;
        each_index(v.shape(), [&](auto idx) { texts.append(py::bytes(last[v.byte_offset(idx)])); });
        return texts;
      }
    }
  }

 private:
  template <typename T>
  std::string numeric(const ArrayView& v) {
    std::string out;
    // Elements written twice (zero strides) keep the last value: write, then read back the
    // expectation in order from what each index holds now.
    each_index(v.shape(), [&](auto idx) {
      if constexpr (std::is_same_v<T, bool>) {
        v.store<bool>(idx, rng_() % 2 == 0);
      } else {
        T x;
        std::array<std::byte, sizeof(T)> raw;
        for (auto& b : raw) b = static_cast<std::byte>(rng_());
        std::memcpy(&x, raw.data(), sizeof(T));
        v.store<T>(idx, x);
      }
    });
    each_index(v.shape(), [&](auto idx) {
      if constexpr (std::is_same_v<T, bool>) {
        out += static_cast<char>(v.load<bool>(idx) ? 1 : 0);
      } else {
        // The stored bytes, swapped back by hand (not by load) to native.
        const auto e = v.element(idx);
        std::array<std::byte, sizeof(T)> raw;
        std::memcpy(raw.data(), e.data(), sizeof(T));
        if (!v.dtype().is_native()) {
          const std::size_t part =
              v.dtype().kind() == DtypeKind::complex ? sizeof(T) / 2 : sizeof(T);
          for (std::size_t p = 0; p < sizeof(T); p += part) {
            std::reverse(raw.begin() + static_cast<std::ptrdiff_t>(p),
                         raw.begin() + static_cast<std::ptrdiff_t>(p + part));
          }
        }
        out.append(reinterpret_cast<const char*>(raw.data()), sizeof(T));
      }
    });
    return out;
  }

  std::string text(const Dtype& d) {
    std::string t;
    if (d.kind() == DtypeKind::bytes) {
      const std::size_t n = rng_() % (d.itemsize() + 1);
      for (std::size_t i = 0; i < n; ++i) t += static_cast<char>(1 + rng_() % 255);
    } else {
      static const char* const pieces[] = {
          "a", "Z", " ", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\x7f"};
      const std::size_t n = rng_() % (d.itemsize() / 4 + 1);
      for (std::size_t i = 0; i < n; ++i) t += pieces[rng_() % 7];
    }
    return t;
  }

  std::mt19937_64& rng_;
};

const std::vector<std::string>& simple_dtypes() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v{"|b1", "|i1", "|u1", "|S1", "|S3", "|S5"};
    for (const char* o : {"<", ">"}) {
      for (const char* t :
           {"i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16", "U1", "U3"}) {
        v.push_back(std::string(o) + t);
      }
    }
    return v;
  }();
  return all;
}

std::string random_descr(std::mt19937_64& rng) {
  const auto& simple = simple_dtypes();
  if (rng() % 8 != 0) return "'" + simple[rng() % simple.size()] + "'";
  std::string d = "[";
  const std::size_t n = 1 + rng() % 3;
  for (std::size_t i = 0; i < n; ++i) {
    if (rng() % 3 == 0) d += "('', '|V" + std::to_string(1 + rng() % 4) + "'), ";
    d += "('f" + std::to_string(i) + "', '" + simple[rng() % simple.size()] + "'";
    if (rng() % 3 == 0) d += ", (" + std::to_string(1 + rng() % 3) + ",)";
    d += "), ";
  }
  return d + "]";
}

TEST_F(ArrayNumpy, RandomArraysReadAndWrittenAsNumpyDoes) {
  const std::uint64_t seed = env_number("LIBSHM_ARRAY_SEED", std::random_device{}());
  const std::uint64_t count = env_number("LIBSHM_ARRAY_COUNT", 1000);
  std::cout << "[ arrays   ] LIBSHM_ARRAY_SEED=" << seed << " LIBSHM_ARRAY_COUNT=" << count << "\n";
  SCOPED_TRACE("reproduce with LIBSHM_ARRAY_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  test::BlockCleanup cleanup;
  auto block = SharedMemory::create(std::size_t{1} << 20, cleanup.fresh());
  py::object pyshm = fn("attach_untracked")(block.name());
  py::object buf = pyshm.attr("buf");
  std::size_t elements = 0;
  std::size_t unaligned = 0;
  std::size_t structured = 0;
  for (std::uint64_t n = 0; n < count; ++n) {
    const std::string descr = random_descr(rng);
    const Dtype dtype = Dtype::from_descr(descr);
    SCOPED_TRACE("array " + std::to_string(n) + " dtype " + descr);
    // Shape, then strides: contiguous C or F over a parent `step` times larger, some axes
    // reversed, sometimes a broadcast (zero-stride) axis.
    const std::size_t ndim = rng() % 5;
    std::vector<std::size_t> shape(ndim);
    for (auto& s : shape) s = rng() % 10 == 0 ? 0 : 1 + rng() % 5;
    std::vector<std::size_t> parent(shape);
    std::vector<std::size_t> step(ndim, 1);
    for (std::size_t d = 0; d < ndim; ++d) {
      if (rng() % 3 == 0) step[d] = 2;
      parent[d] = std::max<std::size_t>(1, shape[d]) * step[d];
    }
    const Order order = rng() % 2 ? Order::F : Order::C;
    auto strides = contiguous_strides(parent, dtype.itemsize(), order);
    std::ptrdiff_t lo = 0;
    for (std::size_t d = 0; d < ndim; ++d) {
      strides[d] *= static_cast<std::ptrdiff_t>(step[d]);
      const auto r = rng() % 6;
      if (r == 0) {
        strides[d] = -strides[d];
        lo += strides[d] * static_cast<std::ptrdiff_t>(std::max<std::size_t>(1, shape[d]) - 1);
      } else if (r == 1 && shape[d] > 0) {
        strides[d] = 0;
      }
    }
    const std::size_t align = dtype.alignment();
    const bool misalign = align > 1 && rng() % 10 == 0;
    std::size_t offset = static_cast<std::size_t>(-lo) + align * (rng() % 16);
    if (misalign) offset += 1;
    unaligned += misalign ? 1 : 0;
    structured += dtype.kind() == DtypeKind::structured ? 1 : 0;
    // Fresh random bytes, then valid text where numpy wants it.
    for (std::size_t i = 0; i < block.size(); i += 8) {
      const std::uint64_t word = rng();
      std::memcpy(block.buf().data() + i, &word, 8);
    }
    const ArrayView view(block, dtype, shape, strides, offset, Alignment::any);
    if (!misalign) {  // the aligned view must be accepted too
      ASSERT_NO_THROW(ArrayView(block, dtype, shape, strides, offset));
    }
    py::object arr = fn("make")(buf, descr, shape, strides, offset);
    fn("fill_text")(arr, rng());
    elements += view.size();

    // numpy writes (random bytes), C++ reads.
    std::vector<ArrayView> parts;
    leaves(view, parts);
    py::list expected = fn("read_all")(arr);
    ASSERT_EQ(py::len(expected), parts.size());
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const py::object got = read_leaf(parts[i]);
      ASSERT_TRUE(got.equal(expected[i]))
          << "leaf " << i << " " << parts[i].dtype().str() << ": C++ "
          << py::repr(got).cast<std::string>().substr(0, 300) << " numpy "
          << py::repr(expected[i]).cast<std::string>().substr(0, 300);
    }
    // C++ writes, numpy reads.
    Writer writer(rng);
    py::list written;
    for (const auto& part : parts) written.append(writer.write_leaf(part));
    // A later leaf may overwrite an earlier one only through zero strides of the same leaf,
    // which write_leaf accounts for; distinct fields never overlap.
    const std::string diff = fn("same_as")(arr, written).cast<std::string>();
    ASSERT_EQ(diff, "") << "numpy reads something else than C++ wrote";
  }
  std::cout << "[ arrays   ] " << count << " arrays (" << structured << " structured, " << unaligned
            << " unaligned), " << elements << " elements compared both ways\n";
  py::exec("import gc; gc.collect()");
  buf = py::none();
  pyshm.attr("close")();
  block.unlink();
}

TEST_F(ArrayNumpy, Float16ConvertsAsNumpy) {
  std::mt19937 rng(7);
  std::vector<std::uint32_t> bits(200000);
  for (auto& b : bits) b = static_cast<std::uint32_t>(rng());
  // Every float near the half range's edges and rounding points, plus the specials.
  for (std::uint32_t e = 100; e < 145; ++e) {
    for (std::uint32_t m : {0u, 0x1000u, 0x1001u, 0x2000u, 0x3000u, 0x7fffffu, 0xfff000u}) {
      bits.push_back((e << 23) | (m & 0x7fffff));
      bits.push_back(0x80000000u | (e << 23) | (m & 0x7fffff));
    }
  }
  bits.push_back(0x7f800000u);
  bits.push_back(0x7fc00001u);
  bits.push_back(0x7f800001u);
  py::globals()["fbits"] = py::bytes(reinterpret_cast<const char*>(bits.data()), bits.size() * 4);
  const std::string halves =
      py::eval("np.frombuffer(fbits, '=f4').astype('=f2').tobytes()").cast<std::string>();
  ASSERT_EQ(halves.size(), bits.size() * 2);
  for (std::size_t i = 0; i < bits.size(); ++i) {
    std::uint16_t want = 0;
    std::memcpy(&want, halves.data() + 2 * i, 2);
    ASSERT_EQ(Float16::from_float(std::bit_cast<float>(bits[i])).bits, want) << std::hex << bits[i];
  }
  const std::string floats =
      py::eval("np.arange(65536, dtype='=u2').view('=f2').astype('=f4').tobytes()")
          .cast<std::string>();
  for (std::uint32_t h = 0; h < 65536; ++h) {
    std::uint32_t want = 0;
    std::memcpy(&want, floats.data() + 4 * h, 4);
    ASSERT_EQ(std::bit_cast<std::uint32_t>(Float16{static_cast<std::uint16_t>(h)}.to_float()), want)
        << h;
  }
}

// The recipe of compat/python/README.md ("Arrays"): a stdlib + numpy reader of an NpyArray block.
const char* const kRecipe = R"(
class BufReader:
    """A file-like reader over a buffer, so np.lib.format reads the header without copying."""
    def __init__(self, buf):
        self.buf, self.pos = buf, 0
    def read(self, n):
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += len(data)
        return data

def attach_npy(shm):
    fp = BufReader(shm.buf)
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(fp)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(fp)
    return np.ndarray(shape, dtype, buffer=shm.buf, offset=fp.pos,
                      order='F' if fortran_order else 'C')
)";

TEST_F(ArrayNumpy, NumpyReadsNpyArrayBlocksAndCppAttachesNumpys) {
  py::exec(kRecipe);
  std::mt19937_64 rng(env_number("LIBSHM_ARRAY_SEED", 99));
  test::BlockCleanup cleanup;
  for (int n = 0; n < 60; ++n) {
    std::string descr = random_descr(rng);
    if (n == 0) descr = "'<f8'";
    const Dtype dtype = Dtype::from_descr(descr);
    std::vector<std::size_t> shape(rng() % 4);
    for (auto& s : shape) s = rng() % 6;
    if (n == 1) shape = {40000};  // a header-independent, larger array
    const Order order = rng() % 2 ? Order::F : Order::C;
    SCOPED_TRACE(descr);
    // C++ creates and writes; stdlib + numpy read with the recipe.
    auto a = NpyArray::create(dtype, shape, {.order = order, .name = cleanup.fresh()});
    std::vector<ArrayView> parts;
    leaves(a.view(), parts);
    Writer writer(rng);
    py::list written;
    for (const auto& part : parts) written.append(writer.write_leaf(part));
    py::globals()["name"] = a.name();
    py::globals()["written"] = written;
    py::exec(R"(
shm = attach_untracked(name)
arr = attach_npy(shm)
diff = same_as(arr, written)
info = (arr.shape, arr.dtype, arr.flags.f_contiguous and arr.ndim > 1)
del arr
shm.close()
)");
    EXPECT_EQ(py::globals()["diff"].cast<std::string>(), "");
    EXPECT_EQ(py::eval("info[0]").cast<std::vector<std::size_t>>(), shape);
    a.shm().unlink();

    // numpy writes an .npy image into a block; C++ attaches it.
    const std::string name2 = cleanup.fresh();
    py::globals()["name2"] = name2;
    py::globals()["descr"] = descr;
    py::globals()["shape"] = shape;
    py::globals()["forder"] = order == Order::F;
    py::globals()["seed"] = static_cast<std::uint64_t>(rng() >> 1);
    py::globals()["recipe"] = n % 2 == 1;
    py::exec(R"(
dt = np.lib.format.descr_to_dtype(ast.literal_eval(descr))
src = np.ndarray(tuple(shape), dt, buffer=bytearray(np.random.default_rng(seed).bytes(dt.itemsize * int(np.prod(shape)))),
                 order='F' if forder else 'C')
fill_text(src, seed)
if recipe:  # compat/python/README.md, "Arrays": numpy's header, then the rest of the block as the buffer
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": np.lib.format.dtype_to_descr(dt),
                                                  "fortran_order": forder, "shape": tuple(shape)})
    header = header.getvalue()
    made = SharedMemory(name2, create=True, size=len(header) + src.nbytes)
    made.buf[:len(header)] = header
    dst = np.ndarray(tuple(shape), dt, buffer=made.buf, offset=len(header),
                     order='F' if forder else 'C')
    dst[...] = src
    del dst
    image = bytes(made.buf)
else:
    image = io.BytesIO()
    np.lib.format.write_array(image, src)
    image = image.getvalue()
    made = SharedMemory(name2, create=True, size=len(image))
    made.buf[:] = image
expected = read_all(src)
)");
    auto b = NpyArray::attach(name2);
    EXPECT_EQ(b.dtype(), dtype);
    EXPECT_EQ(std::vector<std::size_t>(b.shape().begin(), b.shape().end()), shape);
    // numpy writes a contiguous array in its own order only if it is Fortran and not C.
    const auto header = make_npy_header(b.dtype(), b.shape(), b.order());
    const std::string image = py::globals()["image"].cast<std::string>();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(header.data()), header.size()),
              image.substr(0, header.size()))
        << "make_npy_header differs from numpy's header";
    std::vector<ArrayView> bparts;
    leaves(b.view(), bparts);
    py::list expected = py::globals()["expected"];
    for (std::size_t i = 0; i < bparts.size(); ++i) {
      EXPECT_TRUE(read_leaf(bparts[i]).equal(expected[i])) << "leaf " << i;
    }
    b.shm().close();
    py::exec("del src; made.close(); made.unlink()");
    EXPECT_FALSE(test::block_exists(name2));
  }
}

}  // namespace
}  // namespace shm

namespace shm {
namespace {

// The recipe in another process: a plain python3 (stdlib + numpy, no libshm) attaches a C++
// NpyArray by name, checks it element for element, and writes one element C++ then sees.
TEST(ArrayNumpyProcess, PlainPythonReadsAndWritesAnNpyArray) {
  test::BlockCleanup cleanup;
  auto a = NpyArray::create(Dtype::parse(">f8"), {1000, 3},
                            {.order = Order::F, .name = cleanup.fresh()});
  const ArrayView v = a.view();
  for (std::size_t i = 0; i < 1000; ++i) {
    for (std::size_t j = 0; j < 3; ++j) {
      v.store(std::array<std::size_t, 2>{i, j},
              static_cast<double>(i) * 3 + static_cast<double>(j));
    }
  }
  const std::string script = std::string(kRecipe) + R"(
import sys
from multiprocessing import resource_tracker
shm = SharedMemory(sys.argv[1])
resource_tracker.unregister(shm._name, "shared_memory")  # gh-82300: do not unlink at exit
arr = attach_npy(shm)
ok = (arr.dtype.str == '>f8' and arr.shape == (1000, 3) and arr.flags.f_contiguous
      and (arr == np.arange(3000.0).reshape(1000, 3)).all())
arr[999, 2] = -0.0
arr[0, 1] = float('nan')
del arr
shm.close()
print('ok' if ok else 'mismatch')
)";
  const auto r = test::run_child({LIBSHM_TEST_PYTHON, "-c",
                                  "import numpy as np\nfrom "
                                  "multiprocessing.shared_memory import SharedMemory\n" +
                                      script,
                                  a.name()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ok\n") << r.err;
  const double z = a.cview().get<double>(999, 2);
  EXPECT_EQ(z, 0.0);
  EXPECT_TRUE(std::signbit(z));
  EXPECT_TRUE(std::isnan(a.cview().get<double>(0, 1)));
  a.shm().unlink();
  EXPECT_FALSE(test::block_exists(a.name()));
}

}  // namespace
}  // namespace shm
