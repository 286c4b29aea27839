// Differential tests: libshm against the stdlib's ShareableList in an embedded system CPython.
//
// A seeded generator makes random lists (LIBSHM_DIFF_LISTS of them, default 20,000; the seed
// is printed and can be fixed with LIBSHM_DIFF_SEED). For each list:
//   - libshm's block is byte-identical to the stdlib's for the same items;
//   - libshm reads the stdlib's block to exactly what CPython reads (errors included);
//   - CPython reads libshm's block back whole;
//   - rounds of random assignments, each done by libshm on one block and by CPython on the
//     other (which side writes which block is random), agree on success or error and leave
//     the two blocks byte-identical.
// Lists with a non-ASCII str whose UTF-8 is longer than CPython's character-count slot are
// where the policy differs on purpose (CPython cuts them): there libshm's block is not
// compared, CPython must read it back whole, and libshm must read CPython's cut block as
// CPython does.
//
// Lists travel in batches as Item JSON, one Python call per batch and round, so the cost is
// the two implementations' own, not the binding's.
#include <gtest/gtest.h>
#include <pybind11/embed.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "libshm/shareable_list.hpp"
#include "list_test_support.hpp"
#include "test_support.hpp"

namespace py = pybind11;

namespace shm {
namespace {

using Json = nlohmann::json;

constexpr const char* kPythonHelpers = R"(
import json, math
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import ShareableList

def from_item_json(v):
    if isinstance(v, dict):
        return bytes.fromhex(v['bytes']) if 'bytes' in v else float(v['float'])
    return v

def to_item_json(v):
    if type(v) is float and not math.isfinite(v):
        return {'float': 'nan' if math.isnan(v) else ('inf' if v > 0 else '-inf')}
    if type(v) is bytes:
        return {'bytes': v.hex()}
    return v

def read_all(sl):
    out = []
    for i in range(len(sl)):
        try:
            out.append(to_item_json(sl[i]))
        except Exception as e:
            out.append({'error': type(e).__name__})
    return out

def attach_untracked(name):
    # gh-82300: an attach registers with this process's tracker; take that back.
    sl = ShareableList(name=name)
    resource_tracker.unregister(sl.shm._name, 'shared_memory')
    return sl

diff_lists = {}  # key -> [the stdlib's own list, the stdlib attached to libshm's block]

def diff_create(batch):
    out = []
    for entry in json.loads(batch):
        own = ShareableList([from_item_json(v) for v in entry['items']], name=entry['py_name'])
        cpp = attach_untracked(entry['cpp_name'])
        diff_lists[entry['key']] = [own, cpp]
        out.append({'own': read_all(own), 'cpp': read_all(cpp)})
    return json.dumps(out)

def diff_set(ops):
    out = []
    for op in json.loads(ops):
        target = diff_lists[op['key']][0 if op['target'] == 'py' else 1]
        try:
            target[op['index']] = from_item_json(op['value'])
            out.append('ok')
        except Exception as e:
            out.append(type(e).__name__)
    return json.dumps(out)

def diff_finish(keys):
    out = []
    for key in json.loads(keys):
        own, cpp = diff_lists.pop(key)
        out.append({'own': read_all(own), 'cpp': read_all(cpp)})
        cpp.shm.close()
        own.shm.close()
        own.shm.unlink()
    return json.dumps(out)

def reprs(items_json):
    return json.dumps([repr(from_item_json(v)) for v in json.loads(items_json)])
)";

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::stoull(text) : fallback;
}

// Random items of every type, biased towards the edges CPython's format cares about: lengths
// around multiples of 8, NULs (trailing ones are stripped), multi-byte UTF-8, int64 and
// double extremes.
class ItemGenerator {
 public:
  explicit ItemGenerator(std::uint64_t seed) : rng_(seed) {}

  std::vector<Item> list() {
    const std::size_t n = below(100) == 0 ? below(200) : below(13);
    std::vector<Item> items;
    items.reserve(n);
    for (std::size_t i = 0; i < n; ++i) items.push_back(item());
    return items;
  }

  Item item() {
    switch (below(6)) {
      case 0:
        return None{};
      case 1:
        return below(2) == 1;
      case 2:
        return integer();
      case 3:
        return real();
      case 4:
        return text();
      default:
        return bytes();
    }
  }

  std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::int64_t integer() {
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    switch (below(4)) {
      case 0:
        return static_cast<std::int64_t>(rng_());
      case 1:
        return static_cast<std::int64_t>(below(2001)) - 1000;
      case 2:
        return below(2) ? kMin : kMax;
      default:
        return static_cast<std::int64_t>(rng_() >> below(64)) * (below(2) ? 1 : -1);
    }
  }

  double real() {
    switch (below(6)) {
      case 0: {
        const double specials[] = {std::numeric_limits<double>::quiet_NaN(),  // float('nan')
                                   std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity(),
                                   0.0,
                                   -0.0,
                                   5e-324,
                                   std::numeric_limits<double>::max()};
        return specials[below(std::size(specials))];
      }
      case 1:
        return static_cast<double>(static_cast<std::int64_t>(below(2001)) - 1000) / 8;
      default:
        for (;;) {  // any finite double, from its bits
          const std::uint64_t bits = rng_();
          double d;
          std::memcpy(&d, &bits, sizeof d);
          if (std::isfinite(d)) return d;
        }
    }
  }

  std::size_t length() {
    // Around the slot boundaries 8·k - 1, 8·k, 8·k + 1, or anything up to 40.
    if (below(2) == 0) return below(41);
    const std::size_t k = 1 + below(4);
    return 8 * k - 1 + below(3);
  }

  std::string text() {
    static const char* const kWide[] = {"\xc3\xa9", "\xc3\x9f", "\xe2\x82\xac", "\xe4\xb8\xad",
                                        "\xf0\x9f\x98\x80"};
    const std::size_t n = length();
    // One str in four has non-ASCII characters (in quarters of its length): enough to hit
    // every UTF-8 width and CPython's cut, while most lists still compare byte for byte.
    const std::size_t wide_share = below(4) == 0 ? 1 + below(3) : 0;
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
      if (below(4) < wide_share) {
        out += kWide[below(std::size(kWide))];
      } else if (below(20) == 0) {
        out += '\0';
      } else {
        out += static_cast<char>(' ' + below(95));
      }
    }
    if (below(10) == 0) out.append(1 + below(3), '\0');  // trailing NULs
    return out;
  }

  Bytes bytes() {
    Bytes out;
    const std::size_t n = length();
    for (std::size_t i = 0; i < n; ++i) out.data += static_cast<char>(below(256));
    if (below(10) == 0) out.data.append(1 + below(3), '\0');
    return out;
  }

  std::mt19937_64 rng_;
};

// A read as one side reports it: an item's JSON, or "error:<kind>".
std::string read_text(const Json& entry) {
  if (entry.is_object() && entry.contains("error")) {
    return "error:" + entry["error"].get<std::string>();
  }
  return to_json(entry.get<Item>());
}

std::string read_text(const ShareableList& list, std::size_t i) {
  try {
    return to_json(list.get(static_cast<std::ptrdiff_t>(i)));
  } catch (const DecodeError&) {
    return "error:UnicodeDecodeError";  // CPython's name for the same failure
  } catch (const std::exception& e) {
    return std::string("error:C++ ") + e.what();
  }
}

// The typed reads (view, get_as, get_view, read_into) of item i against get(): the same value,
// or the same exception with the same message. Empty when they agree, else what differs.
std::size_t typed_checks = 0;
std::string typed_disagreement(const ShareableList& list, std::size_t i) {
  ++typed_checks;
  const auto index = static_cast<std::ptrdiff_t>(i);
  const auto outcome = [](auto&& read) -> std::string {
    try {
      return "value " + to_json(read());
    } catch (const DecodeError& e) {
      return std::string("DecodeError ") + e.what();
    } catch (const LayoutError& e) {
      return std::string("LayoutError ") + e.what();
    } catch (const std::exception& e) {
      return std::string("other ") + e.what();
    }
  };
  const std::string expected = outcome([&] { return list.get(index); });
  const std::string viewed = outcome([&] { return to_item(list.view(index)); });
  if (viewed != expected) return "view gave " + viewed + ", get " + expected;
  const auto typed = [&]<class T>(T) -> std::string {
    std::string got = outcome([&] { return Item(list.get_as<T>(index)); });
    T bulk{};
    const std::string bulk_got = outcome([&] {
      list.read_into(i, std::span<T>(&bulk, 1));
      return Item(bulk);
    });
    if (got != bulk_got) return "get_as gave " + got + ", read_into " + bulk_got;
    // Where get() holds a T, the same value; else the same error, or a type mismatch.
    if (expected.starts_with("value ") && std::holds_alternative<T>(list.get(index))) {
      return got == expected ? "" : "get_as gave " + got + ", get " + expected;
    }
    if (!expected.starts_with("value ")) {
      return got == expected ? "" : "get_as gave " + got + ", get " + expected;
    }
    return got.starts_with("other item ") ? "" : "get_as of another type gave " + got;
  };
  for (const std::string& problem : {typed(std::int64_t{}), typed(double{}), typed(bool{})}) {
    if (!problem.empty()) return problem;
  }
  const std::string chars = outcome([&] {
    const std::string_view v = list.get_view(index);
    const Item item = list.get(index);
    return std::holds_alternative<Bytes>(item) ? Item(Bytes{std::string(v)}) : Item(std::string(v));
  });
  if (!expected.starts_with("value ")) {
    if (chars != expected) return "get_view gave " + chars + ", get " + expected;
  } else if (const Item item = list.get(index);
             std::holds_alternative<std::string>(item) || std::holds_alternative<Bytes>(item)) {
    if (chars != expected) return "get_view gave " + chars + ", get " + expected;
  } else if (!chars.starts_with("other item ")) {
    return "get_view of another type gave " + chars;
  }
  return "";
}

// The outcome of one assignment, in CPython's exception names.
std::string set_outcome(ShareableList& list, std::ptrdiff_t index, const Item& value) {
  try {
    list.set(index, value);
    return "ok";
  } catch (const std::out_of_range&) {
    return "IndexError";
  } catch (const DecodeError& e) {
    return std::string("C++ ") + e.what();
  } catch (const std::invalid_argument&) {
    return "ValueError";
  } catch (const std::exception& e) {
    return std::string("C++ ") + e.what();
  }
}

class Differential : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    interpreter_ = new py::scoped_interpreter();
    // The stdlib starts its resource tracker with sys.executable, which in an embedding
    // program is the test binary itself: point it at the real interpreter.
    py::module_::import("multiprocessing.spawn").attr("set_executable")(LIBSHM_TEST_PYTHON);
    py::exec(kPythonHelpers);
  }
  static void TearDownTestSuite() {
    delete interpreter_;
    interpreter_ = nullptr;
  }

  static std::string call(const char* function, const std::string& argument) {
    return py::globals()[function](argument).cast<std::string>();
  }

  static inline py::scoped_interpreter* interpreter_ = nullptr;
};

// One random list on both sides.
struct Case {
  std::vector<Item> items;            // what both sides store
  bool policy = false;                // CPython cuts one of its strs: the blocks differ on purpose
  std::string py_name;                // the stdlib's block
  std::string cpp_name;               // libshm's block
  std::optional<ShareableList> mine;  // libshm's list
  std::optional<ShareableList> theirs;  // libshm attached to the stdlib's block
};

TEST_F(Differential, RandomListsAgreeWithTheStdlib) {
  const std::uint64_t seed = env_number("LIBSHM_DIFF_SEED", std::random_device{}());
  const std::uint64_t total = env_number("LIBSHM_DIFF_LISTS", 20000);
  constexpr std::size_t kBatch = 250;  // the stdlib keeps 2 fds a list open
  constexpr int kRounds = 3;
  std::cout << "[ diff     ] LIBSHM_DIFF_SEED=" << seed << " LIBSHM_DIFF_LISTS=" << total << "\n";
  SCOPED_TRACE("reproduce with LIBSHM_DIFF_SEED=" + std::to_string(seed) +
               " LIBSHM_DIFF_LISTS=" + std::to_string(total));
  ItemGenerator gen(seed);
  const auto started = std::chrono::steady_clock::now();
  std::size_t identical = 0, policy = 0, sets = 0, failures = 0;
  const auto fail = [&](std::size_t key, const Case& c, const std::string& what) {
    if (++failures <= 20) {
      ADD_FAILURE() << "list " << key << " " << to_json(c.items) << ": " << what;
    }
  };

  for (std::uint64_t first = 0; first < total && failures == 0; first += kBatch) {
    test::BlockCleanup cleanup;
    std::vector<Case> cases(std::min<std::uint64_t>(kBatch, total - first));
    std::string batch = "[";
    for (std::size_t k = 0; k < cases.size(); ++k) {
      Case& c = cases[k];
      c.items = gen.list();
      c.policy = std::any_of(c.items.begin(), c.items.end(), test::cpython_truncates);
      c.py_name = cleanup.fresh();
      c.cpp_name = cleanup.fresh();
      c.mine.emplace(ShareableList::create(c.items, {.name = c.cpp_name, .track = false}));
      // Names are plain ASCII (test::unique_name), so they need no JSON escaping.
      batch += std::string(k ? ", " : "") + "{\"key\": " + std::to_string(k) + ", \"py_name\": \"" +
               c.py_name + "\", \"cpp_name\": \"" + c.cpp_name +
               "\", \"items\": " + to_json(c.items) + "}";
    }
    const Json created = Json::parse(call("diff_create", batch + "]"));

    for (std::size_t k = 0; k < cases.size(); ++k) {
      Case& c = cases[k];
      c.theirs.emplace(ShareableList::attach(c.py_name));
      const std::string their_bytes = test::block_bytes(c.theirs->shm().buf());
      if (!c.policy) {
        if (test::block_bytes(c.mine->shm().buf()) != their_bytes) {
          fail(k, c,
               "blocks differ:\n  libshm " + test::hex(test::block_bytes(c.mine->shm().buf())) +
                   "\n  stdlib " + test::hex(their_bytes));
        }
        ++identical;
      } else {
        ++policy;
      }
      for (std::size_t i = 0; i < c.items.size(); ++i) {
        // libshm reads the stdlib's block as CPython does.
        const std::string cpython = read_text(created[k]["own"][i]);
        const std::string libshm = read_text(*c.theirs, i);
        if (const std::string typed = typed_disagreement(*c.theirs, i); !typed.empty()) {
          fail(k, c, "item " + std::to_string(i) + " of the stdlib's block: " + typed);
        }
        if (cpython != libshm) {
          fail(k, c,
               "item " + std::to_string(i) + " of the stdlib's block: CPython reads " + cpython +
                   ", libshm " + libshm);
        }
        // CPython reads libshm's block back whole (NULs stripped), policy cases included.
        const std::string whole = to_json(test::stripped(c.items[i]));
        const std::string from_mine = read_text(created[k]["cpp"][i]);
        if (from_mine != whole) {
          fail(k, c,
               "item " + std::to_string(i) + " of libshm's block: CPython reads " + from_mine +
                   ", expected " + whole);
        }
      }
    }

    // Rounds of assignments: libshm writes one block, CPython the other, then both compare.
    for (int round = 0; round < kRounds; ++round) {
      std::vector<std::pair<std::size_t, std::string>> mine_outcomes;
      std::string op_text = "[";
      for (std::size_t k = 0; k < cases.size(); ++k) {
        Case& c = cases[k];
        if (c.policy || c.items.empty()) continue;
        const auto n = static_cast<std::ptrdiff_t>(c.items.size());
        // [-N, N] (N itself is an IndexError on both sides); never below -N, where CPython
        // writes into the wrong place (docs/cpython-quirks.md).
        const std::ptrdiff_t index =
            static_cast<std::ptrdiff_t>(gen.below(static_cast<std::size_t>(2 * n + 1))) - n;
        const Item value = gen.item();
        const bool libshm_writes_its_own = gen.below(2) == 0;
        ShareableList& target = libshm_writes_its_own ? *c.mine : *c.theirs;
        mine_outcomes.emplace_back(k, set_outcome(target, index, value));
        op_text += std::string(op_text.size() > 1 ? ", " : "") + "{\"key\": " + std::to_string(k) +
                   ", \"index\": " + std::to_string(index) + ", \"target\": \"" +
                   (libshm_writes_its_own ? "py" : "cpp") + "\", \"value\": " + to_json(value) +
                   "}";
        ++sets;
      }
      const Json theirs = Json::parse(call("diff_set", op_text + "]"));
      for (std::size_t j = 0; j < mine_outcomes.size(); ++j) {
        const auto& [k, outcome] = mine_outcomes[j];
        if (outcome != theirs[j].get<std::string>()) {
          fail(k, cases[k],
               "round " + std::to_string(round) + ": libshm's set gave " + outcome +
                   ", CPython's " + theirs[j].get<std::string>());
        }
        if (test::block_bytes(cases[k].mine->shm().buf()) !=
            test::block_bytes(cases[k].theirs->shm().buf())) {
          fail(k, cases[k], "round " + std::to_string(round) + ": blocks differ after the sets");
        }
      }
    }

    // Last reads after the type changes, then both sides let go.
    Json keys = Json::array();
    for (std::size_t k = 0; k < cases.size(); ++k) keys.push_back(k);
    const Json finished = Json::parse(call("diff_finish", keys.dump()));
    for (std::size_t k = 0; k < cases.size(); ++k) {
      Case& c = cases[k];
      for (std::size_t i = 0; i < c.items.size(); ++i) {
        const std::string cpython = read_text(finished[k]["own"][i]);
        const std::string libshm = read_text(*c.theirs, i);
        const std::string cpython_mine = read_text(finished[k]["cpp"][i]);
        const std::string libshm_mine = read_text(*c.mine, i);
        for (const ShareableList* list : {&*c.theirs, &*c.mine}) {
          if (const std::string typed = typed_disagreement(*list, i); !typed.empty()) {
            fail(k, c, "item " + std::to_string(i) + " after the sets: " + typed);
          }
        }
        if (cpython != libshm || cpython_mine != libshm_mine) {
          fail(k, c,
               "item " + std::to_string(i) + " after the sets: CPython reads " + cpython + " / " +
                   cpython_mine + ", libshm " + libshm + " / " + libshm_mine);
        }
      }
      c.mine->shm().unlink();
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[ diff     ] " << identical + policy << " lists (" << identical
            << " byte-identical, " << policy << " checked against the UTF-8 policy), " << sets
            << " assignments, " << typed_checks << " typed reads checked against get() in "
            << seconds << " s: " << static_cast<double>(identical + policy) / seconds
            << " lists/s\n";
  EXPECT_EQ(failures, 0u);
  EXPECT_EQ(identical + policy, total);
  EXPECT_GT(policy, 0u) << "the generator should make some lists CPython cuts";
}

// python_repr() against CPython's repr() for the same random items.
TEST_F(Differential, ReprMatchesCPython) {
  const std::uint64_t seed = env_number("LIBSHM_DIFF_SEED", std::random_device{}());
  SCOPED_TRACE("LIBSHM_DIFF_SEED=" + std::to_string(seed));
  ItemGenerator gen(seed);
  std::vector<Item> items;
  for (int i = 0; i < 20000; ++i) items.push_back(gen.item());
  const Json theirs = Json::parse(call("reprs", to_json(items)));
  std::size_t failures = 0;
  for (std::size_t i = 0; i < items.size() && failures < 20; ++i) {
    // The embedded interpreter's own version: the printable characters differ by version.
    if (python_repr(items[i], PY_MINOR_VERSION) != theirs[i].get<std::string>()) {
      ++failures;
      ADD_FAILURE() << "libshm " << python_repr(items[i], PY_MINOR_VERSION) << ", CPython "
                    << theirs[i].get<std::string>();
    }
  }
}

}  // namespace
}  // namespace shm
