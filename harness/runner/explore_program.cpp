#include "explore_program.hpp"

#include <cmath>
#include <libshm/hex.hpp>
#include <limits>
#include <map>
#include <set>

#include "binding.hpp"

namespace harness {

namespace {

using json = nlohmann::json;

bool is_str(const json& v) {
  return v.is_string();
}

bool is_bytes(const json& v) {
  return v.is_object() && v.size() == 1 && v.contains("bytes") && v["bytes"].is_string();
}

bool is_special_float(const json& v) {
  return v.is_object() && v.size() == 1 && v.contains("float") && v["float"].is_string();
}

std::size_t code_points(const std::string& utf8) {
  std::size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::string unhex(const std::string& hex) {
  const std::vector<std::byte> bytes = shm::from_hex(hex);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string bytes_of(const json& v) {
  return unhex(v["bytes"].get<std::string>());
}

// The text "$" means a variable to the runner: every literal one is written "$$".
json escape_dollars(const json& v) {
  if (v.is_string()) {
    std::string out;
    for (char c : v.get<std::string>()) {
      out += c;
      if (c == '$') out += '$';
    }
    return out;
  }
  if (v.is_array() || v.is_object()) {
    json out = v;
    for (auto& member : out) member = escape_dollars(member);
    return out;
  }
  return v;
}

// The number an Item JSON value is to Python's ==, if it is one (bool, int, float).
struct Number {
  bool is_int = false;
  std::int64_t i = 0;
  double d = 0;
};

std::optional<Number> number_of(const json& v) {
  if (v.is_boolean()) return Number{true, v.get<bool>() ? 1 : 0, 0};
  if (v.is_number_integer()) return Number{true, v.get<std::int64_t>(), 0};
  if (v.is_number_float()) return Number{false, 0, v.get<double>()};
  if (is_special_float(v)) {
    const std::string f = v["float"].get<std::string>();
    const double inf = std::numeric_limits<double>::infinity();
    return Number{false, 0,
                  f == "nan"   ? std::numeric_limits<double>::quiet_NaN()
                  : f == "inf" ? inf
                               : -inf};
  }
  return std::nullopt;
}

bool int_equals_double(std::int64_t i, double d) {
  if (std::isnan(d) || std::trunc(d) != d) return false;
  if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) return false;
  return static_cast<std::int64_t>(d) == i;
}

std::string format_of(const json& item, std::int64_t slot) {
  if (is_str(item) || is_bytes(item)) return std::to_string(slot) + "s";
  if (item.is_boolean()) return "xxxxxxx?";
  if (item.is_null()) return "xxxxxx?x";
  if (item.is_number_integer()) return "q";
  return "d";
}

// The model's state while a program runs: the list's items and slots, the block's bytes, and
// each role's current handle of each object.
class Model {
 public:
  Model(const Program& p, json& steps) : p_(p), steps_(steps), needs_(p.roles.size()) {}

  bool run() {
    if (p_.has_list && !create_list()) return false;
    if (p_.has_block && !create_block()) return false;
    int pickles = 0;
    for (const Action& a : p_.actions) {
      if (a.role < 0 || a.role >= static_cast<int>(p_.roles.size())) return false;
      if ((a.object == 0 && !p_.has_list) || (a.object == 1 && !p_.has_block)) return false;
      if (!act(a, pickles)) return false;
    }
    return finish();
  }

  // What each role needs of its implementation.
  const std::vector<std::set<std::string>>& needs() const { return needs_; }

 private:
  std::string object_var(int object) const { return object == 0 ? "l" : "b"; }

  std::string block_name() const {
    return "${b}" + escape_dollars(p_.name_suffix).get<std::string>();
  }

  json block_value() const { return {{"name", block_name()}, {"size", p_.block_size}}; }

  json step(int role, const std::string& op) {
    json s = {{"as", role_name(role)}, {"op", op}};
    return s;
  }

  void need(int role, const std::string& capability) { needs_[role].insert(capability); }

  void list_needs(int role) {
    need(role, "list");
    if (p_.layout != "$layout") need(role, "layout-" + p_.layout);
  }

  bool create_list() {
    const int r = p_.list_creator;
    if (r < 0 || r >= static_cast<int>(p_.roles.size())) return false;
    if (p_.layout != "$layout" && p_.layout != "3.8" && p_.layout != "3.9") return false;
    for (const auto& item : p_.items) {
      if (!item_in_region(item)) return false;
      items_.push_back(item);
      slots_.push_back(slot_size(item));
    }
    list_needs(r);
    json s = step(r, "list.create");
    s["handle"] = "l" + role_name(r);
    s["name"] = "$l";
    s["layout"] = p_.layout;
    s["items"] = escape_dollars(p_.items);
    steps_.push_back(s);
    handles_[{r, 0}] = s["handle"];
    return true;
  }

  bool create_block() {
    const int r = p_.block_creator;
    if (r < 0 || r >= static_cast<int>(p_.roles.size()) || p_.block_size < 1) return false;
    for (unsigned char c : p_.name_suffix) {
      // '/' and NUL are no names; ':', newline and non-ASCII are registered quirks.
      if (c < 0x20 || c >= 0x7f || c == '/' || c == ':') return false;
    }
    if (p_.name_suffix.size() > 200) return false;  // the cell's own part is at most ~30 bytes
    need(r, "block");
    json s = step(r, "block.create");
    s["handle"] = "b" + role_name(r);
    s["name"] = block_name();
    s["size"] = p_.block_size;
    s["expect"] = {{"value", block_value()}};
    steps_.push_back(s);
    handles_[{r, 1}] = s["handle"];
    block_.assign(static_cast<std::size_t>(p_.block_size), '\0');
    return true;
  }

  // The role's handle of the object, attaching it first if the role has none.
  std::string handle(int role, int object) {
    auto it = handles_.find({role, object});
    if (it != handles_.end()) return it->second;
    std::string h = object_var(object) + role_name(role);
    json s = step(role, object == 0 ? "list.attach" : "block.attach");
    s["handle"] = h;
    s["name"] = object == 0 ? "$l" : block_name();
    if (object == 1) s["expect"] = {{"value", block_value()}};
    steps_.push_back(s);
    handles_[{role, object}] = h;
    return h;
  }

  // A list index as CPython and libshm both read it, or nothing where a registered quirk
  // decides (below -N, or negative on an empty list).
  std::optional<std::int64_t> normalised(std::int64_t index) const {
    const auto n = static_cast<std::int64_t>(items_.size());
    if (index >= 0) return index;
    if (n == 0 || index < -n) return std::nullopt;
    return index + n;
  }

  bool act(const Action& a, int& pickles) {
    if (a.object == 0) list_needs(a.role);
    if (a.object == 1) need(a.role, "block");
    const auto n = static_cast<std::int64_t>(items_.size());
    switch (a.op) {
      case Action::Op::kGet: {
        auto i = normalised(a.index);
        if (!i) return false;
        json s = step(a.role, "list.get");
        s["handle"] = handle(a.role, 0);
        s["index"] = a.index;
        s["expect"] =
            *i < n ? json{{"value", escape_dollars(items_[*i])}} : json{{"error", "Index"}};
        steps_.push_back(s);
        return true;
      }
      case Action::Op::kSet: {
        auto i = normalised(a.index);
        // Assignment compares the encoded length (no character-count slot): any str will do.
        if (!i || !item_in_region(a.value, false)) return false;
        json s = step(a.role, "list.set");
        s["handle"] = handle(a.role, 0);
        s["index"] = a.index;
        s["value"] = escape_dollars(a.value);
        if (*i >= n) {
          s["expect"] = {{"error", "Index"}};
        } else {
          const std::int64_t need_bytes =
              is_str(a.value)     ? static_cast<std::int64_t>(a.value.get<std::string>().size())
              : is_bytes(a.value) ? static_cast<std::int64_t>(bytes_of(a.value).size())
                                  : 0;
          if (need_bytes > slots_[*i]) {
            s["expect"] = {{"error", "Value"}};
          } else {
            items_[*i] = a.value;
          }
        }
        steps_.push_back(s);
        return true;
      }
      case Action::Op::kLen:
      case Action::Op::kFormat:
      case Action::Op::kItems: {
        const char* op = a.op == Action::Op::kLen      ? "list.len"
                         : a.op == Action::Op::kFormat ? "list.format"
                                                       : "list.items";
        json s = step(a.role, op);
        s["handle"] = handle(a.role, 0);
        json value;
        if (a.op == Action::Op::kLen) {
          value = n;
        } else if (a.op == Action::Op::kFormat) {
          std::string f;
          for (std::size_t k = 0; k < items_.size(); ++k) f += format_of(items_[k], slots_[k]);
          value = escape_dollars(f);
        } else {
          value = escape_dollars(json(items_));
        }
        s["expect"] = {{"value", value}};
        steps_.push_back(s);
        return true;
      }
      case Action::Op::kCount:
      case Action::Op::kIndex: {
        if (a.value.is_number_unsigned() && a.value.get<std::uint64_t>() > INT64_MAX) return false;
        json s = step(a.role, a.op == Action::Op::kCount ? "list.count" : "list.index");
        s["handle"] = handle(a.role, 0);
        s["value"] = escape_dollars(a.value);
        std::int64_t count = 0, first = -1;
        for (std::size_t k = 0; k < items_.size(); ++k) {
          if (python_equal(a.value, items_[k])) {
            ++count;
            if (first < 0) first = static_cast<std::int64_t>(k);
          }
        }
        if (a.op == Action::Op::kCount) {
          s["expect"] = {{"value", count}};
        } else {
          s["expect"] = first < 0 ? json{{"error", "Value"}} : json{{"value", first}};
        }
        steps_.push_back(s);
        return true;
      }
      case Action::Op::kSlice: {
        if (a.start < 0 || a.stop < a.start || a.stop > n || a.step < 1) return false;
        json s = step(a.role, "list.slice");
        s["handle"] = handle(a.role, 0);
        s["start"] = a.start;
        s["stop"] = a.stop;
        s["step"] = a.step;
        json value = json::array();
        for (std::int64_t k = a.start; k < a.stop; k += a.step) value.push_back(items_[k]);
        s["expect"] = {{"value", escape_dollars(value)}};
        steps_.push_back(s);
        return true;
      }
      case Action::Op::kPickle: {
        if (a.target < 0 || a.target >= static_cast<int>(p_.roles.size())) return false;
        if (a.protocol < 0 || a.protocol > 5) return false;
        need(a.role, "pickle");
        need(a.target, "pickle");
        if (a.object == 0) list_needs(a.target);
        if (a.object == 1) need(a.target, "block");
        if (a.pickler != "pickle") need(a.role, "pickle.picklers");
        const std::string saved = "p" + std::to_string(++pickles);
        json d = step(a.role, "pickle.dumps");
        d["handle"] = handle(a.role, a.object);
        d["protocol"] = a.protocol;
        if (a.pickler != "pickle") d["pickler"] = a.pickler;
        d["save"] = saved;
        steps_.push_back(d);
        const std::string h = object_var(a.object) + role_name(a.target) + saved;
        json l = step(a.target, "pickle.loads");
        l["handle"] = h;
        l["hex"] = "$" + saved;
        json subset =
            a.object == 0
                ? json{{"kind", "shareable_list"}, {"name", "$l"}}
                : json{{"kind", "shared_memory"}, {"name", block_name()}, {"size", p_.block_size}};
        l["expect"] = {{"subset", subset}};
        steps_.push_back(l);
        handles_[{a.target, a.object}] = h;
        return true;
      }
      case Action::Op::kWrite: {
        if (a.hex.size() % 2 != 0 || a.hex.empty()) return false;
        const auto len = static_cast<std::int64_t>(a.hex.size() / 2);
        if (a.offset < 0 || a.offset + len > p_.block_size) return false;
        json s = step(a.role, "block.write");
        s["handle"] = handle(a.role, 1);
        s["offset"] = a.offset;
        s["hex"] = a.hex;
        steps_.push_back(s);
        block_.replace(static_cast<std::size_t>(a.offset), static_cast<std::size_t>(len),
                       unhex(a.hex));
        return true;
      }
      case Action::Op::kRead: {
        if (a.offset < 0 || a.length < 0 || a.offset + a.length > p_.block_size) return false;
        json s = step(a.role, "block.read");
        s["handle"] = handle(a.role, 1);
        s["offset"] = a.offset;
        s["length"] = a.length;
        s["expect"] = {{"value", shm::to_hex(block_.substr(static_cast<std::size_t>(a.offset),
                                                           static_cast<std::size_t>(a.length)))}};
        steps_.push_back(s);
        return true;
      }
    }
    return false;
  }

  bool finish() {
    const bool dies = p_.has_list && p_.ending != Ending::kUnlink;
    const int dying = p_.list_creator;
    if (p_.has_block && !(dies && p_.block_creator == dying)) {
      json s = step(p_.block_creator, "block.unlink");
      s["handle"] = handle(p_.block_creator, 1);
      steps_.push_back(s);
    }
    if (!p_.has_list) return p_.ending == Ending::kUnlink;
    if (!dies) {
      json s = step(dying, "list.unlink");
      s["handle"] = handle(dying, 0);
      steps_.push_back(s);
      return true;
    }
    const bool killed = p_.ending == Ending::kKill;
    json s = step(dying, killed ? "kill" : "exit");
    if (killed) s["expect"] = {{"died", true}};
    steps_.push_back(s);
    steps_.push_back({{"as", "runner"},
                      {"op", "agent.wait"},
                      {"role", role_name(dying)},
                      {"expect", {{"subset", killed ? json{{"signal", 9}} : json{{"code", 0}}}}}});
    steps_.push_back({{"label", "list-gone"},
                      {"as", "runner"},
                      {"op", "shm.exists"},
                      {"name", "$l"},
                      {"expect", {{"value", false}}}});
    if (p_.has_block && p_.block_creator == dying) {
      steps_.push_back({{"label", "block-gone"},
                        {"as", "runner"},
                        {"op", "shm.exists"},
                        {"name", block_name()},
                        {"expect", {{"value", false}}}});
    }
    return true;
  }

  const Program& p_;
  json& steps_;
  std::vector<std::set<std::string>> needs_;
  std::vector<json> items_;
  std::vector<std::int64_t> slots_;
  std::string block_;
  std::map<std::pair<int, int>, std::string> handles_;  // (role, object) -> handle
};

}  // namespace

std::string role_name(int role) {
  return std::string(1, static_cast<char>('a' + role));
}

std::int64_t slot_size(const json& item) {
  if (is_str(item)) {
    return 8 * (static_cast<std::int64_t>(code_points(item.get<std::string>())) / 8 + 1);
  }
  if (is_bytes(item)) return 8 * (static_cast<std::int64_t>(bytes_of(item).size()) / 8 + 1);
  return 8;
}

bool item_in_region(const json& item, bool at_creation) {
  if (is_str(item)) {
    const std::string& s = item.get_ref<const std::string&>();
    return (s.empty() || s.back() != '\0') &&
           (!at_creation || static_cast<std::int64_t>(s.size()) <= slot_size(item));
  }
  if (is_bytes(item)) {
    const std::string b = bytes_of(item);
    return b.empty() || b.back() != '\0';
  }
  if (item.is_number_unsigned()) return item.get<std::uint64_t>() <= INT64_MAX;
  if (is_special_float(item)) {
    const std::string f = item["float"].get<std::string>();
    return f == "nan" || f == "inf" || f == "-inf";
  }
  return item.is_null() || item.is_boolean() || item.is_number();
}

bool python_equal(const json& a, const json& b) {
  auto na = number_of(a), nb = number_of(b);
  if (na || nb) {
    if (!na || !nb) return false;
    if (na->is_int && nb->is_int) return na->i == nb->i;
    if (na->is_int) return int_equals_double(na->i, nb->d);
    if (nb->is_int) return int_equals_double(nb->i, na->d);
    return na->d == nb->d;
  }
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (is_str(a) || is_str(b)) return is_str(a) && is_str(b) && a == b;
  if (is_bytes(a) && is_bytes(b)) return bytes_of(a) == bytes_of(b);
  return false;
}

std::optional<nlohmann::json> render(const Program& p, const std::string& id,
                                     const std::string& description) {
  if (p.roles.empty() || p.roles.size() > 26 || (!p.has_list && !p.has_block)) return std::nullopt;
  if (!binds(p.roles) && p.roles.size() > 1) return std::nullopt;
  if (p.has_list && p.layout == "$layout") {  // the cell's common layout must exist
    auto all_have = [&](const char* capability) {
      for (const auto* r : p.roles) {
        if (r->capabilities.count(capability) == 0) return false;
      }
      return true;
    };
    if (!all_have("layout-3.9") && !all_have("layout-3.8")) return std::nullopt;
  }
  json steps = json::array();
  Model model(p, steps);
  if (!model.run()) return std::nullopt;
  json roles = json::array();
  std::vector<std::string> blocks;
  if (p.has_list) blocks.push_back("l");
  if (p.has_block) blocks.push_back("b");
  for (std::size_t r = 0; r < p.roles.size(); ++r) {
    for (const auto& c : model.needs()[r]) {
      if (p.roles[r]->capabilities.count(c) == 0) return std::nullopt;
    }
    json role = {{"name", role_name(static_cast<int>(r))}, {"requires", model.needs()[r]}};
    if (p.has_list && p.ending != Ending::kUnlink && static_cast<int>(r) == p.list_creator) {
      role["fresh"] = true;
    }
    roles.push_back(role);
  }
  return json{{"id", id},
              {"description", description},
              {"roles", roles},
              {"blocks", blocks},
              {"steps", steps}};
}

std::size_t step_count(const nlohmann::json& scenario) {
  return scenario.at("steps").size();
}

}  // namespace harness
