// Writing a shrunk finding of shm-harness --explore as a scenario file:
// <DIR>/scenarios/explore/<name>.json in the format of scenarios/ (PROTOCOL.md §2), which
// `shm-harness --scenarios DIR/scenarios --registry DIR/registry.json --only explore/<name>` runs
// like any fixed scenario (and which can be moved into scenarios/explore/ as is).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace harness {

/// The id of the scenario of a finding from the sequence seeded `seed`: "explore/seq-<hex>".
std::string finding_id(std::uint64_t seed);

/// Writes <dir>/registry.json for replaying the findings in `dir`: the registry `verified_runs`
/// (so every CPython stands where it stood in the exploration) without quirks, none of which
/// can name a generated step (their outcomes name the fixed scenarios' steps, which a run of
/// `dir` would report as missing). Returns the path; throws std::runtime_error if it cannot.
std::string write_replay_registry(const std::string& dir,
                                  const std::vector<std::string>& verified_runs);

/// Writes `scenario` (whose id is "explore/<name>") to <dir>/scenarios/explore/<name>.json,
/// creating the directories, and returns the path. Throws std::runtime_error if it cannot.
std::string write_finding(const std::string& dir, const nlohmann::json& scenario);

}  // namespace harness
