#include "explore_shrinker.hpp"

#include <algorithm>
#include <libshm/hex.hpp>

namespace harness {

namespace {

using json = nlohmann::json;

std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (unsigned char c : s) {
    if ((c & 0xC0) == 0x80 && !out.empty()) {
      out.back() += static_cast<char>(c);
    } else {
      out.emplace_back(1, static_cast<char>(c));
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::size_t skip_from, std::size_t skip_n) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i < skip_from || i >= skip_from + skip_n) out += parts[i];
  }
  return out;
}

// Shorter and simpler sequences of units (code points of a str, bytes of a bytes value): empty,
// each half, each unit removed, then every unit made plain.
std::vector<std::string> shorter(const std::vector<std::string>& units, const std::string& plain) {
  std::vector<std::string> out;
  const std::size_t n = units.size();
  if (n == 0) return out;
  out.push_back("");
  if (n >= 2) {
    out.push_back(join(units, n / 2, n - n / 2));
    out.push_back(join(units, 0, n / 2));
  }
  if (n <= 48) {  // a run of 8 (what keeps a length's remainder), then one unit
    for (std::size_t i = 0; n > 8 && i + 8 <= n; ++i) out.push_back(join(units, i, 8));
    for (std::size_t i = n; i-- > 0;) out.push_back(join(units, i, 1));
  }
  std::string simple, each;
  bool changed = false;
  for (const auto& u : units) {
    const bool keep = u == std::string(1, '\0') || u == plain;
    simple += keep ? u : plain;
    changed = changed || !keep;
  }
  if (changed) out.push_back(simple);
  for (std::size_t i = 0; i < n && n <= 48; ++i) {  // one unit at a time made plain
    if (units[i].size() > 1 || (units[i] != plain && units[i] != std::string(1, '\0'))) {
      std::vector<std::string> copy = units;
      copy[i] = plain;
      out.push_back(join(copy, n, 0));
    }
  }
  return out;
}

std::vector<json> simpler(const json& v) {
  std::vector<json> out;
  if (!v.is_number_integer()) out.push_back(0);
  if (v.is_string()) {
    for (auto& s : shorter(code_points(v.get<std::string>()), "a")) out.push_back(s);
  } else if (v.is_object() && v.contains("bytes")) {
    std::vector<std::string> units;
    for (std::byte b : shm::from_hex(v["bytes"].get<std::string>())) {
      units.emplace_back(1, static_cast<char>(b));
    }
    for (auto& b : shorter(units, "a")) out.push_back(json{{"bytes", shm::to_hex(b)}});
  } else if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (i != 0) out.push_back(0);
    if (i / 2 != 0 && i / 2 != i) out.push_back(i / 2);
  } else if (v.is_number_float() || v.is_object()) {
    out.push_back(0.0);
    out.push_back(1.0);
  }
  return out;
}

void drop_object(Program& p, int object) {
  (object == 0 ? p.has_list : p.has_block) = false;
  std::erase_if(p.actions, [&](const Action& a) { return a.object == object; });
  if (object == 0) p.ending = Ending::kUnlink;
}

// The program without role `gone`, whose part role `heir` takes over.
Program without_role(const Program& p, int gone, int heir) {
  Program c = p;
  auto move = [&](int& r) {
    if (r == gone) r = heir;
    if (r > gone) --r;
  };
  move(c.list_creator);
  move(c.block_creator);
  for (auto& a : c.actions) {
    move(a.role);
    move(a.target);
  }
  c.roles.erase(c.roles.begin() + gone);
  return c;
}

std::vector<Program> candidates(const Program& p) {
  std::vector<Program> out;
  auto with = [&](auto&& change) {
    Program c = p;
    change(c);
    out.push_back(std::move(c));
  };
  if (p.ending != Ending::kUnlink) with([](Program& c) { c.ending = Ending::kUnlink; });
  if (p.has_block && p.has_list) {
    with([](Program& c) { drop_object(c, 1); });
    with([](Program& c) { drop_object(c, 0); });
  }
  const std::size_t n = p.actions.size();
  for (std::size_t chunk = n / 2; chunk >= 2; chunk /= 2) {
    for (std::size_t at = 0; at + chunk <= n; at += chunk) {
      with([&](Program& c) {
        c.actions.erase(c.actions.begin() + static_cast<std::ptrdiff_t>(at),
                        c.actions.begin() + static_cast<std::ptrdiff_t>(at + chunk));
      });
    }
  }
  for (std::size_t i = n; i-- > 0;) {
    with([&](Program& c) { c.actions.erase(c.actions.begin() + static_cast<std::ptrdiff_t>(i)); });
  }
  for (std::size_t k = p.items.size(); k-- > 0;) {
    with([&](Program& c) {  // one item fewer; slices that reached the end still do
      c.items.erase(k);
      const auto size = static_cast<std::int64_t>(c.items.size());
      for (auto& a : c.actions) {
        if (a.op != Action::Op::kSlice) continue;
        a.stop = std::min(a.stop, size);
        a.start = std::min(a.start, a.stop);
      }
    });
  }
  for (int gone = static_cast<int>(p.roles.size()); gone-- > 0;) {
    for (int heir = 0; heir < static_cast<int>(p.roles.size()); ++heir) {
      if (heir != gone) out.push_back(without_role(p, gone, heir));
    }
  }
  for (std::size_t k = 0; k < p.items.size(); ++k) {
    for (auto& v : simpler(p.items[k])) with([&](Program& c) { c.items[k] = v; });
  }
  for (std::size_t i = 0; i < n; ++i) {
    const Action& a = p.actions[i];
    if (!a.value.is_null()) {
      for (auto& v : simpler(a.value)) with([&](Program& c) { c.actions[i].value = v; });
    }
    if (a.index != 0) with([&](Program& c) { c.actions[i].index = 0; });
    if (a.index < -1 || a.index > 1) with([&](Program& c) { c.actions[i].index /= 2; });
    if (a.op == Action::Op::kSlice && (a.start != 0 || a.step != 1)) {
      with([&](Program& c) {
        c.actions[i].start = 0;
        c.actions[i].step = 1;
      });
    }
    if (a.op == Action::Op::kPickle && (a.pickler != "pickle" || a.protocol != 4)) {
      with([&](Program& c) {
        c.actions[i].pickler = "pickle";
        c.actions[i].protocol = 4;
      });
    }
    if (a.op == Action::Op::kWrite && a.hex.size() > 2) {
      with([&](Program& c) { c.actions[i].hex = a.hex.substr(0, 2); });
    }
    if (a.op == Action::Op::kRead && a.length > 1) {
      with([&](Program& c) { c.actions[i].length = 1; });
    }
    if ((a.op == Action::Op::kWrite || a.op == Action::Op::kRead) && a.offset != 0) {
      with([&](Program& c) { c.actions[i].offset = 0; });
    }
  }
  if (p.has_block) {
    if (!p.name_suffix.empty()) {
      with([](Program& c) { c.name_suffix.clear(); });
      with([](Program& c) { c.name_suffix.resize(c.name_suffix.size() / 2); });
    }
    if (p.block_size > 8) with([](Program& c) { c.block_size = 8; });
    if (p.block_size > 1) with([](Program& c) { c.block_size = 1; });
  }
  if (p.layout != "$layout") with([](Program& c) { c.layout = "$layout"; });
  return out;
}

}  // namespace

std::string Signature::text() const {
  return impl + " " + op + " -> " + outcome;
}

Program shrink(Program failing, const Signature& signature, const Attempt& attempt, int max_runs,
               std::chrono::steady_clock::time_point deadline, ShrinkStats* stats) {
  for (bool progress = true; progress;) {
    progress = false;
    for (Program& c : candidates(failing)) {
      if (stats->runs >= max_runs || std::chrono::steady_clock::now() > deadline) return failing;
      if (!render(c, "explore/candidate", "candidate")) continue;  // outside the region
      ++stats->runs;
      std::optional<Signature> got = attempt(c);
      if (got && *got == signature) {
        ++stats->accepted;
        failing = std::move(c);
        progress = true;
        break;
      }
    }
  }
  return failing;
}

}  // namespace harness
