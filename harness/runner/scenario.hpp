// Scenario files (scenarios/<area>/<behaviour>.json): loading and checking them. The format is
// described in harness/PROTOCOL.md ("Scenario files").
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace harness {

/// A part a scenario needs played ("writer", "reader", ...).
struct Role {
  std::string name;             // as steps refer to it
  std::set<std::string> needs;  // capabilities an implementation needs for this role
  bool fresh = false;           // a new agent just for this cell (it may exit or be killed)
  bool other_user = false;      // run as an unprivileged other user ("user": "nobody")
};

/// One step: an operation by a role (or by the runner itself), and what to expect of it.
struct Step {
  std::string label;           // unique in the scenario; "step<N>" if not given
  std::string as;              // role name, or "runner"
  std::string op;              // operation
  nlohmann::json args;         // every other member, sent to the agent as is
  nlohmann::json expect;       // expectation; null means "must succeed"
  std::string save;            // variable receiving the value, or empty
  std::string quirk_role;      // whose version decides which quirks apply (default: as)
  std::string only_if;         // label of an earlier step that must have succeeded
  int timeout_ms = 0;          // 0: the runner's default
  std::vector<Step> parallel;  // when not empty: these steps run at the same time
};

/// A scenario file.
struct Scenario {
  std::string id;                   // relative path without ".json"
  std::string file;                 // path of the file
  std::string description;          // one behaviour, in a sentence or two
  std::string upstream;             // link to the CPython issue, if one applies
  std::vector<Role> roles;          // in binding order
  std::string bind;                 // "cpp-axis" (default) or "all"
  std::vector<std::string> blocks;  // block-name variables: a fresh unique name per cell
  std::vector<Step> steps;          // in order
  bool slow = false;                // uses fresh agents: scheduled first
  std::string skip;                 // when set: the reason its cells are reported skipped, not run
};

/// A file that could not be loaded, and why.
struct LoadError {
  std::string file;     // path
  std::string message;  // what is wrong
};

/// Loads every *.json under `root` (recursively). Files that do not parse or do not follow
/// the format become LoadErrors (the run fails on them).
std::vector<Scenario> load_scenarios(const std::string& root, std::vector<LoadError>* errors);

/// Checks a scenario file's JSON and builds the scenario whose id must be `id`, exactly as
/// load_scenarios does for each file (the explorer feeds its generated scenarios through here).
/// Throws std::runtime_error describing what is wrong.
Scenario parse_scenario(const nlohmann::json& json, const std::string& id);

/// Every step of a scenario, with the steps inside "parallel" groups flattened, in order.
std::vector<const Step*> all_steps(const Scenario& scenario);

/// The registry key of a step: "<scenario id>#<label>".
std::string step_key(const Scenario& scenario, const Step& step);

}  // namespace harness
