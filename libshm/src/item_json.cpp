// Item JSON (docs/format.md, "Item JSON"): the one text form of ShareableList values that
// the CLI, the harness agents and the golden vectors share.
//
// Parsing goes through nlohmann's SAX interface rather than its DOM because the DOM cannot
// tell an integer literal too big for int64 (which must be rejected: Python would read it as
// an int, not a float) from a float literal such as 1e20: only the raw token can.
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>

#include "float_repr.hpp"
#include "libshm/hex.hpp"
#include "libshm/item.hpp"

namespace shm {
namespace {

using Json = nlohmann::json;

[[noreturn]] void fail(const std::string& what) {
  throw std::invalid_argument("Item JSON: " + what);
}

std::string json_string(const std::string& text) {
  try {
    return Json(text).dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::type_error&) {
    fail("a str that is not UTF-8 has no JSON form");
  }
}

Bytes bytes_from_hex(const std::string& hex) {
  try {
    const std::vector<std::byte> raw = shm::from_hex(hex);
    return Bytes{std::string(reinterpret_cast<const char*>(raw.data()), raw.size())};
  } catch (const std::invalid_argument& e) {
    fail("{\"bytes\": \"" + hex + "\"} is not hex: " + e.what());
  }
}

std::string bytes_to_hex(const Bytes& bytes) {
  return shm::to_hex(std::as_bytes(std::span(bytes.data.data(), bytes.data.size())));
}

double special_float(const std::string& name) {
  if (name == "nan") return std::numeric_limits<double>::quiet_NaN();  // CPython's float('nan')
  if (name == "inf") return std::numeric_limits<double>::infinity();
  if (name == "-inf") return -std::numeric_limits<double>::infinity();
  fail("{\"float\": \"" + name + "\"} is not \"nan\", \"inf\" or \"-inf\"");
}

// Builds Items from SAX events. Accepts one Item JSON value, or (list mode) one flat array of
// them; an object must be exactly {"bytes": "<hex>"} or {"float": "nan" | "inf" | "-inf"}.
class ItemReader final : public nlohmann::json_sax<Json> {
 public:
  explicit ItemReader(bool list) : list_(list) {}

  std::vector<Item> take() { return std::move(items_); }

  bool null() override { return put(None{}); }
  bool boolean(bool value) override { return put(value); }
  bool number_integer(std::int64_t value) override { return put(value); }
  bool number_unsigned(std::uint64_t value) override {
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail("integer " + std::to_string(value) + " is outside int64");
    }
    return put(static_cast<std::int64_t>(value));
  }
  bool number_float(double value, const std::string& token) override {
    // An integer literal only comes here when it overflowed the 64-bit integer types.
    if (token.find_first_of(".eE") == std::string::npos) {
      fail("integer " + token + " is outside int64");
    }
    return put(value);
  }
  bool string(std::string& value) override {
    if (in_object_) {
      if (member_done_) fail("an object with more than one member");
      member_done_ = true;
      object_item_ = key_ == "bytes" ? Item(bytes_from_hex(value)) : Item(special_float(value));
      return true;
    }
    return put(std::move(value));
  }
  bool binary(binary_t&) override { fail("binary values are not Item JSON"); }
  bool start_object(std::size_t) override {
    enter_value("an object");
    in_object_ = true;
    member_done_ = false;
    key_.clear();
    return true;
  }
  bool key(std::string& name) override {
    if (!key_.empty() || member_done_) fail("an object with more than one member");
    if (name != "bytes" && name != "float") {
      fail("unknown object {\"" + name + "\": …} (only \"bytes\" and \"float\")");
    }
    key_ = name;
    return true;
  }
  bool end_object() override {
    if (!member_done_) fail("an object needs one member, \"bytes\" or \"float\", with a string");
    in_object_ = false;
    return put(std::move(object_item_));
  }
  bool start_array(std::size_t) override {
    if (!list_ || in_array_ || done_) fail("an array where an item was expected");
    in_array_ = true;
    return true;
  }
  bool end_array() override {
    in_array_ = false;
    done_ = true;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    fail(std::string("not JSON: ") + e.what());
  }

 private:
  // Checks that a value may start here: not inside an object member, and in list mode only
  // inside the array.
  void enter_value(const char* what) {
    if (in_object_) fail(std::string(what) + " inside an object (members must be strings)");
    if (list_ && !in_array_) fail("expected a JSON array of items");
  }
  // Constructs the Item in place: passing a std::variant by value here trips GCC 12's
  // -Wmaybe-uninitialized false positive.
  template <typename T>
  bool put(T&& value) {
    enter_value("a non-string value");
    items_.emplace_back(std::forward<T>(value));
    return true;
  }

  bool list_;                 // parsing an array of items, not one item
  bool in_array_ = false;     // inside the top-level array
  bool done_ = false;         // the top-level array has ended
  bool in_object_ = false;    // inside {"bytes"|"float": …}
  bool member_done_ = false;  // the object's one member has been read
  std::string key_;           // the object's member name
  Item object_item_;          // the value the object stands for
  std::vector<Item> items_;   // what was read
};

std::vector<Item> parse(std::string_view json, bool list) {
  ItemReader reader(list);
  Json::sax_parse(json, &reader);
  return reader.take();
}

}  // namespace

std::string to_json(const Item& item) {
  switch (item.index()) {
    case 0:
      return "null";
    case 1:
      return std::get<bool>(item) ? "true" : "false";
    case 2:
      return std::to_string(std::get<std::int64_t>(item));
    case 3: {
      const double d = std::get<double>(item);
      const std::string repr = detail::python_float_repr(d);
      // Python's repr of a finite float is already a JSON number with '.' or 'e'.
      return std::isfinite(d) ? repr : "{\"float\": \"" + repr + "\"}";
    }
    case 4:
      return json_string(std::get<std::string>(item));
    default:
      return "{\"bytes\": \"" + bytes_to_hex(std::get<Bytes>(item)) + "\"}";
  }
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
  return parse(json, false).at(0);
}

std::vector<Item> items_from_json(std::string_view json) {
  return parse(json, true);
}

}  // namespace shm
