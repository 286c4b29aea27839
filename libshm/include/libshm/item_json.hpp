// Item JSON (docs/format.md, "Item JSON"): the one mapping between shm::Item and JSON, on
// nlohmann-json's DOM and as text. Target shm::item_json: only code that includes this header
// needs nlohmann-json; shm::shm does not.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libshm/item.hpp"

namespace shm {

/// The deepest nesting parse_json() accepts by default: a document that carries Item JSON (a
/// request object, its array of items, an item's object) needs 3; more is refused before it is
/// built, so hostile input such as a megabyte of '[' costs nothing.
inline constexpr std::size_t kJsonMaxDepth = 8;

/// Parses JSON text into nlohmann's DOM as nlohmann::json::parse does, except where the DOM
/// would lose what the text said: an integer literal outside 64 bits (which nlohmann turns into
/// a double) is kept as a binary value holding the literal's text, which no JSON text produces
/// and which the Item conversion rejects as "integer N is outside int64"; an object naming a
/// key twice is an error. Throws std::invalid_argument for text that is not one JSON value
/// ("not JSON: …") and for nesting deeper than `max_depth` arrays and objects.
nlohmann::json parse_json(std::string_view text, std::size_t max_depth = kJsonMaxDepth);

/// Item JSON as text: int → integer; float → number with a fraction or exponent, or
/// {"float": "nan" | "inf" | "-inf"}; bool; null; str → string; bytes → {"bytes": "<hex>"}.
/// Floats are written with the shortest text that reads back to the same double (Python's
/// repr). Throws std::invalid_argument for a str that is not UTF-8 (it has no JSON form).
std::string to_json(const Item& item);
/// A JSON array of items in Item JSON, as to_json(const Item&) writes each.
std::string to_json(std::span<const Item> items);

/// Parses one value in Item JSON. Throws std::invalid_argument naming what is wrong (not JSON,
/// an integer outside int64, an unknown object, bad hex, a string that is not UTF-8). Bytes'
/// hex may be in either case, as bytes.fromhex() accepts; "nan" is CPython's float('nan').
Item item_from_json(std::string_view json);
/// Parses a JSON array of Item JSON values; throws std::invalid_argument as item_from_json.
std::vector<Item> items_from_json(std::string_view json);

}  // namespace shm

/// shm::Item on nlohmann's DOM: `nlohmann::json j = item;` and `j.get<shm::Item>()`, hence
/// also std::vector<shm::Item> ⇄ JSON array. The DOM holds the same values as Item JSON's text
/// (a finite float is a number_float, NaN and the infinities are {"float": …} objects).
namespace nlohmann {

template <>
struct adl_serializer<shm::Item> {
  /// Item → DOM. Throws std::invalid_argument for a str that is not UTF-8.
  static void to_json(nlohmann::json& j, const shm::Item& item);
  /// DOM → Item. Throws std::invalid_argument for anything Item JSON does not allow: an integer
  /// outside int64 (an unsigned one above INT64_MAX, or parse_json's marked literal), an array,
  /// an object other than {"bytes": "<hex>"} or {"float": "nan" | "inf" | "-inf"}, a string
  /// that is not UTF-8.
  static void from_json(const nlohmann::json& j, shm::Item& item);
};

}  // namespace nlohmann
