#include "explore_generator.hpp"

#include <cmath>
#include <cstring>
#include <libshm/hex.hpp>
#include <limits>
#include <random>
#include <string>

namespace harness {

namespace {

using json = nlohmann::json;

class Generator {
 public:
  Generator(std::uint64_t seed, const std::vector<Implementation>& impls)
      : rng_(seed), impls_(impls) {}

  Program program(std::uint64_t seed) {
    Program p;
    p.seed = seed;
    cast(p);
    const bool lists = all_can(p, "list"), blocks = all_can(p, "block");
    p.has_list = lists && (!blocks || chance(0.85));
    p.has_block = blocks && (!p.has_list || chance(0.4));
    if (p.has_list) {
      p.list_creator = pick_role(p);
      p.layout = layout(p);
      const int n = pick<int>({0, 1, 1, 2, 3, 3, 4, 5, 6, 8, 13});
      for (int i = 0; i < n; ++i) p.items.push_back(item());
    }
    if (p.has_block) {
      p.block_creator = pick_role(p);
      p.name_suffix = name_suffix();
      p.block_size = pick<std::int64_t>({1, 7, 8, 9, 16, 63, 64, 65, 4096, 4097});
    }
    if (p.has_list && chance(0.3)) p.ending = chance(0.5) ? Ending::kExit : Ending::kKill;
    const int actions = static_cast<int>(uniform(2, 16));
    for (int tries = 0; static_cast<int>(p.actions.size()) < actions && tries < 4 * actions;
         ++tries) {
      p.actions.push_back(action(p));
      if (!render(p, "explore/check", "check")) p.actions.pop_back();
    }
    if (!render(p, "explore/check", "check")) {  // no action fits: the creations alone do
      p.actions.clear();
      p.ending = Ending::kUnlink;
    }
    return p;
  }

 private:
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }

  template <class T>
  T pick(std::initializer_list<T> choices) {
    return *(choices.begin() + uniform(0, static_cast<std::int64_t>(choices.size()) - 1));
  }

  template <class T>
  const T& pick_of(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(uniform(0, static_cast<std::int64_t>(v.size()) - 1))];
  }

  static bool can(const Implementation* impl, const char* capability) {
    return impl->capabilities.count(capability) != 0;
  }

  bool all_can(const Program& p, const char* capability) const {
    for (const auto* r : p.roles) {
      if (!can(r, capability)) return false;
    }
    return true;
  }

  int pick_role(const Program& p) { return static_cast<int>(uniform(0, p.roles.size() - 1)); }

  // One implementation under test with CPythons (a hosted one with its host only), or one
  // CPython in every role: the combinations the binding rule runs for fixed scenarios.
  void cast(Program& p) {
    std::vector<const Implementation*> under_test, cpythons;
    for (const auto& impl : impls_) {
      if (!can(&impl, "list") && !can(&impl, "block")) continue;
      (impl.is_cpython() ? cpythons : under_test).push_back(&impl);
    }
    const int roles = pick<int>({1, 2, 2, 2, 3, 3});
    const auto choice =
        uniform(0, static_cast<std::int64_t>(under_test.size()) - (cpythons.empty() ? 1 : 0));
    if (choice == static_cast<std::int64_t>(under_test.size())) {  // CPython alone
      const Implementation* c = pick_of(cpythons);
      p.roles.assign(static_cast<std::size_t>(roles), c);
      return;
    }
    const Implementation* u = under_test[static_cast<std::size_t>(choice)];
    // Partners that share a list layout with it (a 3.8 and a 3.9+ CPython share none).
    const char* layout = can(u, "layout-3.8") && (!can(u, "layout-3.9") || chance(0.3))
                             ? "layout-3.8"
                             : "layout-3.9";
    std::vector<const Implementation*> partners;
    for (const auto* c : cpythons) {
      if ((u->host.empty() || c->version == u->host) && can(c, layout)) partners.push_back(c);
    }
    for (int r = 0; r < roles; ++r) {
      p.roles.push_back(partners.empty() || chance(0.5) ? u : pick_of(partners));
    }
    p.roles[static_cast<std::size_t>(uniform(0, roles - 1))] = u;
  }

  // The cell's own layout, or (when every role writes and reads both) one chosen here.
  std::string layout(const Program& p) {
    if (all_can(p, "layout-3.8") && all_can(p, "layout-3.9")) {
      return pick<const char*>({"$layout", "3.8", "3.9"});
    }
    return "$layout";
  }

  // ------------------------------------------------------------------ values

  std::int64_t int_value() {
    constexpr auto lo = std::numeric_limits<std::int64_t>::min();
    constexpr auto hi = std::numeric_limits<std::int64_t>::max();
    switch (uniform(0, 5)) {
      case 0:
        return pick<std::int64_t>({lo, hi, lo + 1, hi - 1});
      case 1:
        return pick<std::int64_t>({0, 1, -1, 2, 7, 8, -8, 255, 256});
      case 2:
        return pick<std::int64_t>({INT32_MAX, INT32_MIN, std::int64_t{1} << 32,
                                   (std::int64_t{1} << 53) + 1, -(std::int64_t{1} << 53) - 1});
      case 3:
        return uniform(-1000, 1000);
      default:
        return static_cast<std::int64_t>(rng_());
    }
  }

  json float_value() {
    switch (uniform(0, 4)) {
      case 0:
        return json{{"float", pick<const char*>({"nan", "inf", "-inf"})}};
      case 1:
        return pick<double>({0.0, -0.0, 1.0, -1.5, 0.1, 1e308, -1e-308,
                             std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
                             std::numeric_limits<double>::denorm_min(),
                             -std::numeric_limits<double>::denorm_min(), 2.2250738585072009e-308,
                             9223372036854775808.0, -9223372036854775808.0, 9007199254740993.0});
      case 2:
        return static_cast<double>(uniform(-100, 100));
      default: {
        for (;;) {  // any finite double, from its bits
          const std::uint64_t bits = rng_();
          double d;
          std::memcpy(&d, &bits, sizeof d);
          if (std::isfinite(d)) return d;
        }
      }
    }
  }

  // A length around the 8-byte boundaries and the slot sizes.
  std::int64_t length() {
    return pick<std::int64_t>(
        {0, 1, 2, 3, 4, 7, 8, 8, 9, 15, 16, 16, 17, 23, 24, 25, 31, 32, 33, 63, 64, 65});
  }

  std::string character() {
    switch (uniform(0, 19)) {
      case 0:
        return std::string(1, '\0');
      case 1:
        return pick<const char*>({"\xc3\xa9", "\xc2\x80", "\xdf\xbf", "\xc3\x9f"});  // 2 bytes
      case 2:
        return pick<const char*>({"\xe2\x82\xac", "\xe0\xa0\x80", "\xef\xbf\xbd", "\xe4\xb8\xad"});
      case 3:
        return pick<const char*>({"\xf0\x9f\x98\x80", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"});
      case 4:
        return pick<const char*>({"$", "\"", "\\", "{", "}", "\t", "\n", "\x01", "\x7f", " "});
      default:
        return std::string(1, static_cast<char>(pick<char>({'a', 'b', 'x', 'Z', '0', '9', '.'})));
    }
  }

  json str_value() {
    const std::int64_t n = length();
    std::vector<std::string> chars;
    for (std::int64_t i = 0; i < n; ++i) chars.push_back(character());
    if (n > 0 && chance(0.35)) {  // a NUL somewhere: near the start, the middle, anywhere
      const std::int64_t at = pick<std::int64_t>({0, 1, 2, 3, n / 2, uniform(0, n - 1)});
      chars[static_cast<std::size_t>(std::min(at, n - 1))] = std::string(1, '\0');
    }
    // Inside the region: no trailing NUL, UTF-8 within CPython's character-count slot.
    if (!chars.empty() && chars.back() == std::string(1, '\0')) chars.back() = "z";
    auto utf8 = [&] {
      std::string s;
      for (const auto& c : chars) s += c;
      return s;
    };
    const std::int64_t slot = 8 * (n / 8 + 1);
    for (std::size_t i = chars.size();
         static_cast<std::int64_t>(utf8().size()) > slot && i-- > 0;) {
      if (chars[i].size() > 1) chars[i] = "y";
    }
    return utf8();
  }

  json bytes_value() {
    const std::int64_t n = length();
    std::string b;
    for (std::int64_t i = 0; i < n; ++i) {
      b += static_cast<char>(
          pick<int>({0, 0, 0xff, 0x80, 'a', 'z', static_cast<int>(uniform(0, 255))}));
    }
    if (!b.empty() && b.back() == '\0') b.back() = '\x01';
    return json{{"bytes", shm::to_hex(b)}};
  }

  json item() {
    switch (uniform(0, 9)) {
      case 0:
      case 1:
        return int_value();
      case 2:
      case 3:
        return float_value();
      case 4:
        return chance(0.5);
      case 5:
        return nullptr;
      case 6:
      case 7:
        return str_value();
      default:
        return bytes_value();
    }
  }

  // A str or bytes too long for a slot of `slot` bytes (set must refuse it).
  json too_long(std::int64_t slot) {
    const std::int64_t n = slot + pick<std::int64_t>({1, 1, 2, 8});
    if (chance(0.5))
      return json{{"bytes", shm::to_hex(std::string(static_cast<std::size_t>(n), 'q'))}};
    std::string s;
    if (chance(0.5)) {
      for (std::int64_t i = 0; i < n; ++i) s += 'q';
    } else {  // fits by characters, not by UTF-8 bytes
      for (std::int64_t i = 0; static_cast<std::int64_t>(s.size()) <= slot; ++i) s += "\xc3\xa9";
    }
    return s;
  }

  std::string name_suffix() {
    static const std::string edge = "-._~ !\"#$%&'()*+,;<=>?@[\\]^`{|}=";
    const auto n = pick<std::int64_t>({0, 0, 1, 2, 5, 12, 40, 120, 200});
    std::string s;
    for (std::int64_t i = 0; i < n; ++i) {
      s += chance(0.5) ? edge[static_cast<std::size_t>(uniform(0, edge.size() - 1))]
                       : static_cast<char>(pick<char>({'a', 'Z', '0', '9'}));
    }
    return s;
  }

  // ------------------------------------------------------------------ actions

  std::int64_t index(std::int64_t n) {
    switch (uniform(0, 9)) {
      case 0:
        return n;  // one past the end
      case 1:
        return pick<std::int64_t>({n + 1, n + 7, std::int64_t{1} << 40});
      case 2:
      case 3:
        return n == 0 ? 0 : -uniform(1, n);  // negative, in range
      default:
        return n == 0 ? 0 : uniform(0, n - 1);
    }
  }

  Action action(const Program& p) {
    Action a;
    a.role = pick_role(p);
    a.object = p.has_list && (!p.has_block || chance(0.75)) ? 0 : 1;
    const auto n = static_cast<std::int64_t>(p.items.size());
    if (chance(0.08) && p.roles.size() >= 1) {
      a.op = Action::Op::kPickle;
      a.target = pick_role(p);
      a.pickler = pick<const char*>(
          {"pickle", "pickle", "python", "forking", "optimized", "optimized-forking"});
      a.protocol = static_cast<int>(uniform(0, 5));
      return a;
    }
    if (a.object == 1) {
      const std::int64_t size = p.block_size;
      a.offset = uniform(0, size - 1);
      if (chance(0.5)) {
        a.op = Action::Op::kWrite;
        std::string data;
        const std::int64_t len = uniform(1, std::min<std::int64_t>(16, size - a.offset));
        for (std::int64_t i = 0; i < len; ++i) data += static_cast<char>(uniform(0, 255));
        a.hex = shm::to_hex(data);
      } else {
        a.op = Action::Op::kRead;
        a.length = uniform(0, std::min<std::int64_t>(32, size - a.offset));
      }
      return a;
    }
    switch (uniform(0, 11)) {
      case 0:
      case 1:
      case 2:
        a.op = Action::Op::kGet;
        a.index = index(n);
        break;
      case 3:
      case 4:
      case 5:
        a.op = Action::Op::kSet;
        a.index = index(n);
        if (chance(0.2) && n > 0) {
          const std::int64_t i = a.index < 0 ? a.index + n : std::min(a.index, n - 1);
          a.value = too_long(slot_size(p.items[static_cast<std::size_t>(i)]));
        } else {
          a.value = item();
        }
        break;
      case 6:
        a.op = Action::Op::kItems;
        break;
      case 7:
        a.op = pick<Action::Op>({Action::Op::kLen, Action::Op::kFormat});
        break;
      case 8:
      case 9:
        a.op = chance(0.5) ? Action::Op::kCount : Action::Op::kIndex;
        a.value =
            n > 0 && chance(0.6) ? p.items[static_cast<std::size_t>(uniform(0, n - 1))] : item();
        if (chance(0.2)) a.value = pick<json>({json(1), json(true), json(1.0), json(0.0)});
        break;
      default:
        a.op = Action::Op::kSlice;
        a.start = uniform(0, n);
        a.stop = uniform(a.start, n);
        a.step = pick<std::int64_t>({1, 1, 2, 3});
        break;
    }
    return a;
  }

  std::mt19937_64 rng_;
  const std::vector<Implementation>& impls_;
};

}  // namespace

std::uint64_t sequence_seed(std::uint64_t run_seed, std::uint64_t index) {
  std::uint64_t z = run_seed + 0x9e3779b97f4a7c15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Program generate(std::uint64_t seed, const std::vector<Implementation>& implementations) {
  return Generator(seed, implementations).program(seed);
}

}  // namespace harness
