#include "expectation.hpp"

#include <cstring>

namespace harness {

namespace {

bool is_int(const nlohmann::json& j) {
  return j.is_number_integer();
}

bool same_int(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number_unsigned() && b.is_number_unsigned()) {
    return a.get<std::uint64_t>() == b.get<std::uint64_t>();
  }
  if (a.is_number_unsigned() || b.is_number_unsigned()) {
    const auto& u = a.is_number_unsigned() ? a : b;
    const auto& s = a.is_number_unsigned() ? b : a;
    auto sv = s.get<std::int64_t>();
    return sv >= 0 && static_cast<std::uint64_t>(sv) == u.get<std::uint64_t>();
  }
  return a.get<std::int64_t>() == b.get<std::int64_t>();
}

bool matches_one(const nlohmann::json& e, const Outcome& o, std::string* why) {
  if (e.contains("any_of")) {
    std::string reasons;
    for (const auto& alt : e["any_of"]) {
      std::string w;
      if (matches(alt, o, &w)) return true;
      reasons += (reasons.empty() ? "" : "; ") + w;
    }
    *why = "none of the alternatives: " + reasons;
    return false;
  }
  if (e.value("died", false)) {
    if (o.kind == Outcome::Kind::kDied) return true;
    *why = "expected the agent to die, got " + describe(o);
    return false;
  }
  if (e.contains("error")) {
    if (o.kind != Outcome::Kind::kError) {
      *why = "expected error " + e["error"].get<std::string>() + ", got " + describe(o);
      return false;
    }
    if (o.error_kind != e["error"].get<std::string>()) {
      *why = "expected error kind " + e["error"].get<std::string>() + ", got " + describe(o);
      return false;
    }
    if (e.contains("type") && o.error_type != e["type"].get<std::string>()) {
      *why = "expected exception type " + e["type"].get<std::string>() + ", got " + describe(o);
      return false;
    }
    if (e.contains("message")) {
      std::string prefix = e["message"].get<std::string>();
      if (o.message.compare(0, prefix.size(), prefix) != 0) {
        *why = "expected a message starting '" + prefix + "', got " + describe(o);
        return false;
      }
    }
    return true;
  }
  // Everything else needs success.
  if (o.kind != Outcome::Kind::kValue) {
    *why = "expected success, got " + describe(o);
    return false;
  }
  if (e.contains("value") && !same_json(e["value"], o.value)) {
    *why = "expected value " + abbreviate(e["value"].dump(), 300) + ", got " + describe(o);
    return false;
  }
  if (e.contains("contains") || e.contains("not_contains")) {
    if (!o.value.is_string()) {
      *why = "expected text, got " + describe(o);
      return false;
    }
    const std::string text = o.value.get<std::string>();
    if (e.contains("contains") &&
        text.find(e["contains"].get<std::string>()) == std::string::npos) {
      *why = "expected text containing '" + e["contains"].get<std::string>() + "', got '" +
             abbreviate(text, 600) + "'";
      return false;
    }
    if (e.contains("not_contains") &&
        text.find(e["not_contains"].get<std::string>()) != std::string::npos) {
      *why = "expected text without '" + e["not_contains"].get<std::string>() + "', got '" +
             abbreviate(text, 600) + "'";
      return false;
    }
  }
  if (e.contains("subset")) {
    if (!o.value.is_object()) {
      *why = "expected an object, got " + describe(o);
      return false;
    }
    for (const auto& [k, v] : e["subset"].items()) {
      if (!o.value.contains(k) || !same_json(v, o.value[k])) {
        *why = "expected member " + k + " = " + v.dump() + ", got " + describe(o);
        return false;
      }
    }
  }
  if (e.contains("length")) {
    std::size_t n = o.value.is_string() ? o.value.get<std::string>().size() : o.value.size();
    if (n != e["length"].get<std::size_t>()) {
      *why = "expected length " + e["length"].dump() + ", got " + std::to_string(n);
      return false;
    }
  }
  return true;
}

}  // namespace

bool same_json(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number() && b.is_number()) {
    if (is_int(a) && is_int(b)) return same_int(a, b);
    if (a.is_number_float() && b.is_number_float()) {
      double x = a.get<double>(), y = b.get<double>();
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    return false;
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!same_json(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (const auto& [k, v] : a.items()) {
      if (!b.contains(k) || !same_json(v, b[k])) return false;
    }
    return true;
  }
  return a == b;
}

bool matches(const nlohmann::json& expect, const Outcome& outcome, std::string* why) {
  if (expect.is_null()) {
    if (outcome.kind == Outcome::Kind::kValue) return true;
    *why = "expected success, got " + describe(outcome);
    return false;
  }
  return matches_one(expect, outcome, why);
}

std::string abbreviate(const std::string& text, std::size_t max) {
  if (text.size() <= max) return text;
  return text.substr(0, max) + "…(" + std::to_string(text.size()) + " chars)";
}

std::string describe(const Outcome& o) {
  switch (o.kind) {
    case Outcome::Kind::kValue:
      return "value " +
             abbreviate(o.value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                        300);
    case Outcome::Kind::kError:
      return "error " + o.error_kind + " (" + o.error_type + "): " + abbreviate(o.message, 300);
    case Outcome::Kind::kDied:
      return "agent died: " + o.message;
    case Outcome::Kind::kTimeout:
      return "timeout: " + o.message;
    case Outcome::Kind::kBroken:
      return "broken: " + o.message;
  }
  return "?";
}

std::string describe_expect(const nlohmann::json& e) {
  if (e.is_null()) return "success";
  return abbreviate(e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 300);
}

nlohmann::json expectation_of(const Outcome& o, const Vars& names) {
  switch (o.kind) {
    case Outcome::Kind::kValue:
      if (o.value.is_string()) {
        return {{"value", unexpand_names(o.value.get<std::string>(), names)}};
      }
      return {{"value", o.value}};
    case Outcome::Kind::kError: {
      std::string msg = unexpand_names(o.message, names);
      if (msg.size() > 80) msg = msg.substr(0, 80);
      return {{"error", o.error_kind}, {"message", msg}};
    }
    case Outcome::Kind::kDied:
      return {{"died", true}};
    default:
      return {{"broken", o.message}};
  }
}

}  // namespace harness
