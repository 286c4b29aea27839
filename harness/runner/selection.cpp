#include "selection.hpp"

#include <iostream>
#include <set>

namespace harness {

bool selected(const std::vector<std::string>& only, const Cell& cell) {
  if (only.empty()) return true;
  for (const auto& p : only) {
    if (p == cell.id || p == cell.scenario->id) return true;
    if (!p.empty() && p.back() == '*' && cell.id.rfind(p.substr(0, p.size() - 1), 0) == 0) {
      return true;
    }
  }
  return false;
}

std::vector<Cell> select_cells(const std::vector<Scenario>& scenarios,
                               const std::vector<Implementation>& implementations,
                               const std::vector<std::string>& only, bool filtered,
                               RunReport& report) {
  std::vector<Cell> bound = bind_cells(scenarios, implementations);
  std::vector<Cell> cells;
  std::set<std::string> with_cells;
  for (auto& c : bound) {
    with_cells.insert(c.scenario->id);
    if (!selected(only, c)) continue;
    if (!c.scenario->skip.empty()) {
      report.skipped.push_back(c.id + ": " + c.scenario->skip);
      continue;
    }
    cells.push_back(std::move(c));
  }
  for (const auto& s : scenarios) {
    if (with_cells.count(s.id) != 0) continue;
    std::string why = "scenario " + s.id +
                      " has no cell: no implementation found has the capabilities its roles "
                      "require";
    if (filtered) {
      std::cout << "note: " << why << " (in this filtered run)\n";
    } else {
      report.problems.push_back(why);
    }
  }
  if (!only.empty() && cells.empty()) {
    report.problems.push_back("--only selects no cell");
  }
  return cells;
}

}  // namespace harness
