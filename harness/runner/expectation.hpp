// What a step produced (an Outcome) and whether it is what a scenario or the quirk registry
// expects. Expectation grammar (harness/PROTOCOL.md): {"value": V} | {"ok": true} |
// {"error": KIND, "message": PREFIX?, "type": TYPE?} | {"any_of": [E...]} |
// {"contains": TEXT} | {"not_contains": TEXT} | {"subset": OBJECT} | {"length": N} |
// {"died": true}. Members combine: {"error": "Value", "message": "not enough"}.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "expand.hpp"

namespace harness {

/// The result of one step.
struct Outcome {
  /// What happened.
  enum class Kind {
    kValue,    ///< the operation succeeded with `value`
    kError,    ///< the operation failed with an error kind, type and message
    kDied,     ///< the agent died before answering (expected only of "kill")
    kTimeout,  ///< no answer in time
    kBroken,   ///< the agent answered nonsense, or the step could not be run
  };
  Kind kind = Kind::kValue;  // what happened
  nlohmann::json value;      // kValue: the value
  std::string error_kind;    // kError: PROTOCOL.md error kind
  std::string error_type;    // kError: the original exception type
  std::string message;       // kError: its message; otherwise details
};

/// Item-aware equality: ints and floats are different (1 != 1.0), floats compare by bits
/// (-0.0 != 0.0), everything else structurally.
bool same_json(const nlohmann::json& a, const nlohmann::json& b);

/// Whether `outcome` satisfies `expect` (already expanded); if not, *why says how not.
/// A null `expect` means "must succeed".
bool matches(const nlohmann::json& expect, const Outcome& outcome, std::string* why);

/// A short human description: "value [1, 2]", "error Index (IndexError): ...", "agent died".
std::string describe(const Outcome& outcome);
/// A short description of an expectation.
std::string describe_expect(const nlohmann::json& expect);

/// The expectation that `outcome` satisfies, for a suggested registry edit (block names
/// replaced by "${var}").
nlohmann::json expectation_of(const Outcome& outcome, const Vars& names);

/// Shortens `text` to at most `max` characters, marking the cut.
std::string abbreviate(const std::string& text, std::size_t max);

}  // namespace harness
