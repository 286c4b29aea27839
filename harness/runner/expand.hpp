// Turning a step's arguments into a request: variables ("$name", "${name}" inside strings,
// "$name.member") and generators ({"$gen": "range" | "mixed" | "repeat" | "repeat-bytes"}),
// both expanded by the runner so that agents only ever see plain values.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace harness {

/// The variables of one cell: block names and saved step values.
using Vars = std::map<std::string, nlohmann::json>;

/// Returns `value` with variables substituted and generators expanded. Throws
/// std::runtime_error for an unknown variable or a malformed generator.
nlohmann::json expand(const nlohmann::json& value, const Vars& vars);

/// Replaces every occurrence of each block name in `text` with "${var}" (for registry edits
/// that must not mention a cell's random names).
std::string unexpand_names(std::string text, const Vars& names);

}  // namespace harness
