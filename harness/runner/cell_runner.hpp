// Carrying out the selected cells: `jobs` threads take cells in turn, each on agents borrowed
// from one pool (seeded with discovery's warm agents), with a progress line on a terminal and
// a line per failed cell (per cell with --verbose).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent.hpp"
#include "cell.hpp"

namespace harness {

/// Puts the cells with fresh agents (process exits, tracker waits), the slowest, first so that
/// they do not finish last; the order of the rest is kept.
void start_slow_first(std::vector<Cell>& cells);

/// Runs every cell and returns their results in the cells' order. What the pool's agents
/// complained of at shutdown is appended to `problems`.
std::vector<CellResult> run_cells(const std::vector<Cell>& cells,
                                  const std::vector<Implementation>& implementations,
                                  std::vector<std::unique_ptr<Agent>> warm_agents,
                                  const Registry& registry, RunSettings& settings, int jobs,
                                  bool verbose, std::vector<std::string>& problems);

}  // namespace harness
