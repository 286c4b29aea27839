// The run's own blocks: every block name a cell makes starts with "hx" + the run's token + "_"
// (cell.cpp), so after the run anything in /dev/shm with that prefix is a leak, and nothing
// else is this run's business (other runs and programs share /dev/shm).
#pragma once

#include <string>
#include <vector>

namespace harness {

/// Six random hex digits that tell this run's blocks from every other run's.
std::string random_token();

/// Waits up to 2 s for the run's blocks to go (trackers finish after their processes), then
/// removes what is left and returns a problem line for each.
std::vector<std::string> sweep_leftovers(const std::string& token);

}  // namespace harness
