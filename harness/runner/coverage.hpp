// Whether the run exercised the whole registry: every quirk of every verified subject, every
// step key a quirk names (registry.hpp's coverage_problems judges; this gathers what it needs).
#pragma once

#include <string>
#include <vector>

#include "cell.hpp"
#include "registry.hpp"
#include "scenario.hpp"

namespace harness {

/// The registry entries the results did not exercise, as problems (none in a filtered run,
/// which says so on stdout instead).
std::vector<std::string> registry_coverage(const Registry& registry,
                                           const std::vector<Scenario>& scenarios,
                                           const std::vector<Implementation>& implementations,
                                           const std::vector<CellResult>& results, bool filtered);

}  // namespace harness
