// Writing a shrunk finding of shm-harness --explore as a scenario file: <DIR>/explore/<name>.json
// in the format of scenarios/ (PROTOCOL.md §2), which `shm-harness --scenarios DIR --only
// explore/<name>` runs like any fixed scenario (and which can be moved into scenarios/ as is).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace harness {

/// The id of the scenario of a finding from the sequence seeded `seed`: "explore/seq-<hex>".
std::string finding_id(std::uint64_t seed);

/// Writes `scenario` (whose id is "explore/<name>") to <dir>/explore/<name>.json, creating the
/// directories, and returns the path. Throws std::runtime_error if it cannot.
std::string write_finding(const std::string& dir, const nlohmann::json& scenario);

}  // namespace harness
