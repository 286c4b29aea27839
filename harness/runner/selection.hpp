// Which bound cells a run carries out: those --only selects, less the scenarios marked "skip";
// and which scenarios got no cell at all (a problem, or a note in a filtered run).
#pragma once

#include <string>
#include <vector>

#include "binding.hpp"
#include "report.hpp"
#include "scenario.hpp"

namespace harness {

/// Does --only select this cell? An exact cell id, a scenario id, or a prefix ending in '*';
/// no pattern selects every cell.
bool selected(const std::vector<std::string>& only, const Cell& cell);

/// Binds every scenario to the implementations and keeps the cells to run. Skipped cells,
/// scenarios without a cell (unless `filtered`: then a note on stdout) and an --only that
/// selects nothing go to `report`.
std::vector<Cell> select_cells(const std::vector<Scenario>& scenarios,
                               const std::vector<Implementation>& implementations,
                               const std::vector<std::string>& only, bool filtered,
                               RunReport& report);

}  // namespace harness
