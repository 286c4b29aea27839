#include "expand.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <libshm/hex.hpp>
#include <stdexcept>

namespace harness {

namespace {

bool is_ident(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// "name" or "name.member.member" -> the value.
nlohmann::json lookup(const std::string& path, const Vars& vars) {
  std::size_t dot = path.find('.');
  std::string name = path.substr(0, dot);
  auto it = vars.find(name);
  if (it == vars.end()) throw std::runtime_error("unknown variable $" + name);
  nlohmann::json v = it->second;
  while (dot != std::string::npos) {
    std::size_t next = path.find('.', dot + 1);
    std::string member = path.substr(dot + 1, next == std::string::npos ? next : next - dot - 1);
    if (v.is_object() && v.contains(member)) {
      v = v[member];
    } else if (v.is_array() && !member.empty() &&
               std::all_of(member.begin(), member.end(), ::isdigit) &&
               std::stoul(member) < v.size()) {
      v = v[std::stoul(member)];
    } else {
      throw std::runtime_error("$" + path + ": no member '" + member + "'");
    }
    dot = next;
  }
  return v;
}

std::string as_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

nlohmann::json expand_string(const std::string& s, const Vars& vars) {
  // Exactly "$path": the variable's value, whatever its type.
  if (s.size() > 1 && s[0] == '$' && s[1] != '$' && s[1] != '{' &&
      std::all_of(s.begin() + 1, s.end(), [](char c) { return is_ident(c) || c == '.'; })) {
    return lookup(s.substr(1), vars);
  }
  if (s.find('$') == std::string::npos) return s;
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      std::size_t end = s.find('}', i);
      if (end == std::string::npos) throw std::runtime_error("unclosed ${ in: " + s);
      out += as_text(lookup(s.substr(i + 2, end - i - 2), vars));
      i = end;
    } else {
      out += s[i];
    }
  }
  return out;
}

// One deterministic value of every item type in turn: int, float, bool, None, str, bytes.
nlohmann::json mixed_item(std::int64_t i) {
  switch (i % 6) {
    case 0:
      return (i % 12 == 0 ? -1 : 1) * i * 7919;
    case 1:
      return static_cast<double>(i) + 0.25;
    case 2:
      return (i / 6) % 2 == 0;
    case 3:
      return nullptr;
    case 4:
      return "s" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 13), 'x');
    default:
      return nlohmann::json{{"bytes", shm::to_hex("b" + std::to_string(i))}};
  }
}

nlohmann::json generate(const nlohmann::json& g, const Vars& vars) {
  std::string kind = g.at("$gen").get<std::string>();
  auto num = [&](const char* key, std::int64_t dflt) {
    return g.contains(key) ? expand(g[key], vars).get<std::int64_t>() : dflt;
  };
  if (kind == "range") {  // [start, stop) by step, each plus `add`
    std::int64_t start = num("start", 0), stop = num("stop", 0), step = num("step", 1);
    std::int64_t add = num("add", 0);
    if (step <= 0) throw std::runtime_error("$gen range: step must be positive");
    nlohmann::json out = nlohmann::json::array();
    for (std::int64_t i = start; i < stop; i += step) out.push_back(i + add);
    return out;
  }
  if (kind == "mixed") {  // `count` items cycling through every type
    nlohmann::json out = nlohmann::json::array();
    const std::int64_t count = num("count", 0);
    for (std::int64_t i = 0; i < count; ++i) out.push_back(mixed_item(i));
    return out;
  }
  if (kind == "repeat") {  // `text` repeated `count` times
    std::string text = expand(g.at("text"), vars).get<std::string>(), out;
    std::int64_t count = num("count", 0);
    out.reserve(text.size() * static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) out += text;
    return out;
  }
  if (kind == "repeat-bytes") {  // {"bytes": hex repeated count times}
    std::string hex = g.at("hex").get<std::string>(), out;
    const std::int64_t count = num("count", 0);
    out.reserve(hex.size() * static_cast<std::size_t>(std::max<std::int64_t>(count, 0)));
    for (std::int64_t i = 0; i < count; ++i) out += hex;
    return nlohmann::json{{"bytes", out}};
  }
  throw std::runtime_error("unknown generator " + kind);
}

}  // namespace

nlohmann::json expand(const nlohmann::json& value, const Vars& vars) {
  if (value.is_string()) return expand_string(value.get<std::string>(), vars);
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(expand(v, vars));
    return out;
  }
  if (value.is_object()) {
    if (value.contains("$gen")) return generate(value, vars);
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : value.items()) out[k] = expand(v, vars);
    return out;
  }
  return value;
}

std::string unexpand_names(std::string text, const Vars& names) {
  for (const auto& [var, value] : names) {
    if (!value.is_string()) continue;
    const std::string name = value.get<std::string>();
    if (name.empty()) continue;
    for (std::size_t at = text.find(name); at != std::string::npos;
         at = text.find(name, at + var.size() + 3)) {
      text.replace(at, name.size(), "${" + var + "}");
    }
  }
  return text;
}

}  // namespace harness
