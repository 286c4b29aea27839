// Item JSON (docs/format.md, "Item JSON"): the one mapping between shm::Item and JSON. The
// DOM conversion (adl_serializer<shm::Item>) is the mapping; the text API only parses with
// parse_json() and writes the DOM, with Python's repr for finite floats.
//
// parse_json() is a SAX DOM builder rather than json::parse because the DOM cannot tell an
// integer literal too big for 64 bits (which must be rejected: Python would read it as an int,
// not a float) from a float literal such as 1e20: only the raw token can.
#include "libshm/item_json.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>

#include "float_repr.hpp"
#include "libshm/error.hpp"
#include "libshm/hex.hpp"
#include "utf8.hpp"

namespace shm {
namespace {

using Json = nlohmann::json;

// Subtype of the binary value that stands for an integer literal outside 64 bits.
constexpr std::uint8_t kIntegerLiteral = 'i';

[[noreturn]] void fail(const std::string& what) {
  throw InvalidArgument(Errc::invalid_argument, "Item JSON: " + what);
}

bool is_utf8(const std::string& text) {
  return detail::utf8_valid_prefix(text) == text.size();
}

Bytes bytes_from_hex(const std::string& hex) {
  try {
    const std::vector<std::byte> raw = shm::from_hex(hex);
    return Bytes{std::string(reinterpret_cast<const char*>(raw.data()), raw.size())};
  } catch (const std::invalid_argument& e) {
    fail("{\"bytes\": \"" + hex + "\"} is not hex: " + e.what());
  }
}

double special_float(const std::string& name) {
  if (name == "nan") return std::numeric_limits<double>::quiet_NaN();  // CPython's float('nan')
  if (name == "inf") return std::numeric_limits<double>::infinity();
  if (name == "-inf") return -std::numeric_limits<double>::infinity();
  fail("{\"float\": \"" + name + "\"} is not \"nan\", \"inf\" or \"-inf\"");
}

// json::parse with three differences (parse_json): overflowed integer literals are marked, a
// key given twice is refused (the DOM would keep only the last), and nesting is bounded.
class ExactParser final : public nlohmann::detail::json_sax_dom_parser<Json> {
 public:
  ExactParser(Json& result, std::size_t max_depth)
      : json_sax_dom_parser(result, true), max_depth_(max_depth) {}

  bool number_float(double value, const std::string& token) {
    // An integer literal only comes here when it overflowed the 64-bit integer types.
    if (token.find_first_of(".eE") == std::string::npos) {
      binary_t marked(std::vector<std::uint8_t>(token.begin(), token.end()), kIntegerLiteral);
      return binary(marked);
    }
    return json_sax_dom_parser::number_float(value, token);
  }
  bool start_object(std::size_t size) {
    enter();
    keys_.emplace_back();
    return json_sax_dom_parser::start_object(size);
  }
  bool key(std::string& name) {
    if (!keys_.back().insert(name).second) {
      throw InvalidArgument(Errc::invalid_argument,
                            "an object with the key \"" + name + "\" twice");
    }
    return json_sax_dom_parser::key(name);
  }
  bool end_object() {
    --depth_;
    keys_.pop_back();
    return json_sax_dom_parser::end_object();
  }
  bool start_array(std::size_t size) {
    enter();
    return json_sax_dom_parser::start_array(size);
  }
  bool end_array() {
    --depth_;
    return json_sax_dom_parser::end_array();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    throw InvalidArgument(Errc::invalid_argument, std::string("not JSON: ") + e.what());
  }

 private:
  void enter() {
    if (++depth_ > max_depth_) {
      throw InvalidArgument(Errc::invalid_argument,
                            "JSON nested deeper than " + std::to_string(max_depth_) + " levels");
    }
  }

  std::size_t max_depth_;                    // arrays and objects allowed inside each other
  std::size_t depth_ = 0;                    // arrays and objects open now
  std::vector<std::set<std::string>> keys_;  // the keys of each open object
};

// The Item JSON text of a DOM that adl_serializer<Item>::to_json made.
std::string write(const Json& j) {
  // Python's repr of a finite float is already a JSON number with '.' or 'e'.
  if (j.is_number_float()) return detail::python_float_repr(j.get<double>());
  if (j.is_object()) return "{\"" + j.begin().key() + "\": " + j.begin().value().dump() + "}";
  return j.dump();
}

// parse_json for the text API, naming Item JSON in its errors.
Json parse_text(std::string_view text) {
  try {
    return parse_json(text);
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
}

}  // namespace

Json parse_json(std::string_view text, std::size_t max_depth) {
  Json result;
  ExactParser parser(result, max_depth);
  Json::sax_parse(text, &parser);
  return result;
}

std::string to_json(const Item& item) {
  return write(Json(item));
}

std::string to_json(std::span<const Item> items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ", ";
    out += to_json(items[i]);
  }
  return out + "]";
}

Item item_from_json(std::string_view json) {
  return parse_text(json).get<Item>();
}

std::vector<Item> items_from_json(std::string_view json) {
  const Json j = parse_text(json);
  if (!j.is_array()) fail("expected a JSON array of items");
  return j.get<std::vector<Item>>();
}

}  // namespace shm

namespace nlohmann {

void adl_serializer<shm::Item>::to_json(json& j, const shm::Item& item) {
  switch (item.index()) {
    case 0:
      j = nullptr;
      return;
    case 1:
      j = std::get<bool>(item);
      return;
    case 2:
      j = std::get<std::int64_t>(item);
      return;
    case 3: {
      const double d = std::get<double>(item);
      if (std::isfinite(d)) {
        j = d;
      } else {
        j = {{"float", shm::detail::python_float_repr(d)}};
      }
      return;
    }
    case 4: {
      const auto& text = std::get<std::string>(item);
      if (!shm::is_utf8(text)) shm::fail("a str that is not UTF-8 has no JSON form");
      j = text;
      return;
    }
    default: {
      const auto& data = std::get<shm::Bytes>(item).data;
      j = {{"bytes", shm::to_hex(std::as_bytes(std::span(data.data(), data.size())))}};
    }
  }
}

void adl_serializer<shm::Item>::from_json(const json& j, shm::Item& item) {
  using shm::fail;
  switch (j.type()) {
    case json::value_t::null:
      item.emplace<shm::None>();
      return;
    case json::value_t::boolean:
      item.emplace<bool>(j.get<bool>());
      return;
    case json::value_t::number_integer:
      item.emplace<std::int64_t>(j.get<std::int64_t>());
      return;
    case json::value_t::number_unsigned: {
      const auto value = j.get<std::uint64_t>();
      if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        fail("integer " + std::to_string(value) + " is outside int64");
      }
      item.emplace<std::int64_t>(static_cast<std::int64_t>(value));
      return;
    }
    case json::value_t::number_float:
      item.emplace<double>(j.get<double>());
      return;
    case json::value_t::string: {
      const auto& text = j.get_ref<const std::string&>();
      if (!shm::is_utf8(text)) fail("a string that is not UTF-8");
      item.emplace<std::string>(text);
      return;
    }
    case json::value_t::binary: {
      const auto& bin = j.get_binary();
      if (!bin.has_subtype() || bin.subtype() != shm::kIntegerLiteral) {
        fail("binary values are not Item JSON");
      }
      fail("integer " + std::string(bin.begin(), bin.end()) + " is outside int64");
    }
    case json::value_t::array:
      fail("an array where an item was expected");
    case json::value_t::object:
      break;
    default:
      fail("not a JSON value");  // value_t::discarded: what a failed SAX parse leaves
  }
  if (j.empty()) fail("an object needs one member, \"bytes\" or \"float\", with a string");
  if (j.size() > 1) fail("an object with more than one member");
  const std::string& name = j.begin().key();
  const json& value = j.begin().value();
  if (name != "bytes" && name != "float") {
    fail("unknown object {\"" + name + "\": …} (only \"bytes\" and \"float\")");
  }
  if (!value.is_string()) {
    const char* what = value.is_object()  ? "an object"
                       : value.is_array() ? "an array"
                                          : "a non-string value";
    fail(std::string(what) + " inside an object (members must be strings)");
  }
  const auto& text = value.get_ref<const std::string&>();
  if (name == "bytes") {
    item.emplace<shm::Bytes>(shm::bytes_from_hex(text));
  } else {
    item.emplace<double>(shm::special_float(text));
  }
}

}  // namespace nlohmann
